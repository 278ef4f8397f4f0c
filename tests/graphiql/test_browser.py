"""GraphiQL in a real browser that can reach nothing but the server (issue 9).

A real ``editai serve`` (embedded SQLite, embedded worker); headless chromium
(tests/graphiql/browser.py). The page must render, run a query with the Headers pane's
token and profile, and stream a subscription over graphql-transport-ws, having asked for
nothing outside the server's origin and with a clean console (a Content-Security-Policy
violation would show there).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from editai.media.binaries import Binaries
from tests.graphiql.browser import Browser, chromium
from tests.media.videos import NO_AUDIO, make_video
from tests.test_serve import _clean_env, _serve, dev_token


class Server:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token

    def gql(self, query: str, profile_id: str | None = None, **variables: object) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if profile_id is not None:
            headers["X-Profile-Id"] = profile_id
        answer = httpx.post(
            f"{self.base}/graphql",
            json={"query": query, "variables": variables},
            headers=headers,
            timeout=30,
        ).json()
        assert "errors" not in answer, answer
        data: dict[str, Any] = answer["data"]
        return data

    def second_profile(self, name: str) -> str:
        """A profile that is not the user's default: an answer in it proves the header."""
        created = self.gql(
            "mutation($n: String!) { createProfile(input: {name: $n}) { id isDefault } }", n=name
        )["createProfile"]
        assert created["isDefault"] is False
        profile_id: str = created["id"]
        return profile_id


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    for base, log, _ in _serve(tmp_path, _clean_env(EDITAI_DATA_DIR=str(tmp_path / "var"))):
        yield Server(base, dev_token(log))


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


def assert_only_the_server_was_asked(browser: Browser, base: str) -> None:
    urls = browser.requested_urls()
    assert any(url.endswith("/graphiql.min.js") for url in urls), urls
    ws_base = base.replace("http://", "ws://", 1)
    # data: URLs are the fonts graphiql.min.css carries inline: no request leaves the page.
    elsewhere = [
        url
        for url in urls
        if not url.startswith((f"{base}/", f"{ws_base}/")) and not url.startswith("data:")
    ]
    assert elsewhere == []
    failed = [
        event["params"]
        for event in browser.network_events()
        if event["method"] == "Network.loadingFailed"
    ]
    assert failed == []  # a request refused by the CSP or the network would be here
    assert browser.console_problems() == []


def test_graphiql_runs_a_query_with_the_headers_pane_offline(
    server: Server, browser: Browser, tmp_path: Path
) -> None:
    profile_id = server.second_profile("Cooking channel")
    browser.open_graphiql(f"{server.base}/graphql")

    browser.set_headers({"Authorization": f"Bearer {server.token}", "X-Profile-Id": profile_id})
    browser.set_query("{ currentProfile { name } }")
    browser.run()
    browser.wait(lambda _: "Cooking channel" in browser.result_text(), "no answer in the pane")
    assert json.loads(browser.result_text()) == {
        "data": {"currentProfile": {"name": "Cooking channel"}}
    }

    shot = tmp_path / "graphiql.png"
    assert browser.driver.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one
    assert_only_the_server_was_asked(browser, server.base)


def test_graphiql_streams_a_subscription_authenticated_by_the_headers_pane(
    server: Server, browser: Browser, binaries: Binaries, tmp_path: Path
) -> None:
    profile_id = server.second_profile("Travel channel")
    project_id = server.gql('mutation { createProject(input: {name: "Trip"}) { id } }', profile_id)[
        "createProject"
    ]["id"]
    video = make_video_sync(binaries, tmp_path)
    uploaded = httpx.post(
        f"{server.base}/graphql",
        headers={
            "Authorization": f"Bearer {server.token}",
            "X-Profile-Id": profile_id,
            "Apollo-Require-Preflight": "true",
        },
        data={
            "operations": json.dumps(
                {
                    "query": "mutation($p: ID!, $f: Upload!) "
                    "{ uploadSourceVideo(projectId: $p, file: $f) { id } }",
                    "variables": {"p": project_id, "f": None},
                }
            ),
            "map": json.dumps({"0": ["variables.f"]}),
        },
        files={"0": ("clip.mp4", video.read_bytes(), "video/mp4")},
        timeout=60,
    ).json()
    assert "errors" not in uploaded, uploaded

    browser.open_graphiql(f"{server.base}/graphql")
    headers = {"Authorization": f"Bearer {server.token}", "X-Profile-Id": profile_id}
    browser.set_headers(headers)
    # Every job of the Headers pane's profile: only a subscription in that profile hears it.
    browser.set_query("subscription { jobUpdated { id status } }")
    browser.run()
    # graphql-ws subscribes only once the server acknowledged connection_init.
    browser.wait(
        lambda _: any(f["type"] == "subscribe" for f in browser.websocket_frames("Sent")),
        "the page never subscribed",
    )
    init = next(f for f in browser.websocket_frames("Sent") if f["type"] == "connection_init")
    assert init["payload"] == headers

    job_id = server.gql(
        "mutation($p: ID!) { extractSegments(projectId: $p) { id } }", profile_id, p=project_id
    )["extractSegments"]["id"]
    browser.wait(lambda _: job_id in browser.result_text(), "no job event in the pane")
    event = json.loads(browser.result_text())["data"]["jobUpdated"]
    assert event["id"] == job_id
    assert event["status"] in {"QUEUED", "RUNNING", "SUCCEEDED"}
    received = [f for f in browser.websocket_frames("Received") if f["type"] == "next"]
    assert received
    assert {f["payload"]["data"]["jobUpdated"]["id"] for f in received} == {job_id}
    assert browser.driver.save_screenshot(str(tmp_path / "graphiql-subscription.png"))
    assert_only_the_server_was_asked(browser, server.base)


def make_video_sync(binaries: Binaries, folder: Path) -> Path:
    return asyncio.run(make_video(binaries, NO_AUDIO, folder))
