"""Debian's chromium, headless, driven by selenium through Debian's chromedriver.

Nothing is downloaded: the binaries are the system's (``./scripts/test`` installs them
with apt when it can), and chromedriver is passed explicitly so selenium-manager never
looks for one. The browser can reach 127.0.0.1 only: every host name resolves to nothing
(``--host-resolver-rules``) and every other address goes to a proxy that is not there
(loopback always bypasses proxies). What it asked for is read from its performance log.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TIMEOUT = 60  # seconds; generous: two cores, other work running
# The Headers tab is the open one (editai-graphiql.js); Variables' editor is hidden.
HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden)"
RESULT = (By.CSS_SELECTOR, ".graphiql-response")


def require_chromium() -> None:
    """A missing browser skips locally and fails in CI (never a download)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if not missing:
        return
    message = f"{', '.join(missing)} missing: apt-get install chromium chromium-driver"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nobody listens once it is closed


class Browser:
    """One page; keeps every performance-log event (reading the log empties it)."""

    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver
        self._events: list[dict[str, Any]] = []

    def network_events(self) -> list[dict[str, Any]]:
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"].startswith("Network."):
                self._events.append(message)
        return self._events

    def requested_urls(self) -> list[str]:
        """Every URL the page asked for: HTTP requests and WebSockets."""
        urls = []
        for event in self.network_events():
            if event["method"] == "Network.requestWillBeSent":
                urls.append(event["params"]["request"]["url"])
            elif event["method"] == "Network.webSocketCreated":
                urls.append(event["params"]["url"])
        return urls

    def websocket_frames(self, method: str) -> list[dict[str, Any]]:
        """The graphql-transport-ws messages sent or received (``method``: "Sent"/"Received")."""
        return [
            json.loads(event["params"]["response"]["payloadData"])
            for event in self.network_events()
            if event["method"] == f"Network.webSocketFrame{method}"
        ]

    def console_problems(self) -> list[dict[str, Any]]:
        """Errors, and any Content-Security-Policy report, from the page's console."""
        return [
            entry
            for entry in self.driver.get_log("browser")
            if entry["level"] == "SEVERE" or "Content Security Policy" in entry["message"]
        ]

    def wait(self, condition: Any, message: str) -> Any:
        try:
            return WebDriverWait(self.driver, TIMEOUT).until(condition, message)
        except TimeoutException:
            raise AssertionError(f"{message}; the page: {self.state()}") from None

    def state(self) -> dict[str, Any]:
        """What the page shows, for a failure's message."""
        return {
            "query": self._editor_value(".graphiql-query-editor"),
            "headers": self._editor_value(HEADERS_EDITOR),
            "result": self.result_text() if self.driver.find_elements(*RESULT) else None,
            "sent": self.websocket_frames("Sent"),
            "console": self.driver.get_log("browser"),
        }

    # --- GraphiQL --------------------------------------------------------------------

    def open_graphiql(self, url: str) -> None:
        self.driver.get(url)
        self.wait(
            lambda d: d.find_elements(
                By.CSS_SELECTOR, ".graphiql-container .graphiql-query-editor"
            ),
            "GraphiQL did not render",
        )

    def _editor_value(self, selector: str) -> str | None:
        value: str | None = self.driver.execute_script(
            "const e = document.querySelector(arguments[0]); return e && e.CodeMirror.getValue()",
            f"{selector} .CodeMirror",
        )
        return value

    def _set_editor(self, selector: str, text: str) -> None:
        # CodeMirror's own API: what typing ends in, without the editor's auto-closing.
        self.driver.execute_script(
            "document.querySelector(arguments[0]).CodeMirror.setValue(arguments[1])",
            f"{selector} .CodeMirror",
            text,
        )

    def set_query(self, text: str) -> None:
        self._set_editor(".graphiql-query-editor", text)
        # GraphiQL parses the editor 100 ms after a change (debounced), and the fetcher
        # picks HTTP or WebSocket from that parse: run only once it is of this text.
        self.wait(
            lambda d: d.execute_script(
                "const a = document.querySelector(arguments[0]).CodeMirror.documentAST;"
                "return Boolean(a && a.loc && a.loc.source.body === arguments[1])",
                ".graphiql-query-editor .CodeMirror",
                text,
            ),
            "GraphiQL did not parse the query",
        )

    def set_headers(self, headers: dict[str, str]) -> None:
        self._set_editor(HEADERS_EDITOR, json.dumps(headers))

    def run(self) -> None:
        self.driver.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()

    def result_text(self) -> str:
        text: str = self.driver.find_element(*RESULT).text
        return text


@contextmanager
def chromium() -> Iterator[Browser]:
    require_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--proxy-server=http://127.0.0.1:{_closed_port()}",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield Browser(driver)
    finally:
        driver.quit()
