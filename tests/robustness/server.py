"""The real server in a subprocess (``editai serve``, configured by ``EDITAI_*`` variables),
its JSON log, and what its PostgreSQL database shows of its connections.

Not a test module: the robustness tests and ``bench/load_mixed.py`` both start servers
through :func:`running_server`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import subprocess
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from editai.integrations.errors import ProviderError
from editai.settings import Settings
from tests.conftest import TEST_JWT_SECRET, TEST_SECRET_KEY, make_settings, migrated_engine
from tests.pg_backends import admin_fetch
from tests.test_serve import _clean_env, _free_port, _serve

POOL_SIZE = 10
# Processes keep one LISTEN connection of their own beside the pool (jobs/events.py).
LISTEN_CONNECTIONS = 1


@dataclass
class RunningServer:
    backend: str
    base_url: str
    log_path: Path
    database_url: str
    # Same JWT secret as the server's: tokens minted with it are accepted.
    settings: Settings
    proc: subprocess.Popen[str]

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    def log_errors(self) -> list[str]:
        return error_lines(self.log_path.read_text(errors="replace"))


@asynccontextmanager
async def running_server(
    backend: str,
    tmp: Path,
    database_url: str | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> AsyncIterator[RunningServer]:
    """``editai serve`` on 127.0.0.1 (free port) with the embedded worker and JSON logs.

    SQLite: a fresh file under ``tmp`` (migrated by the server at start-up, as a new user
    runs it). PostgreSQL: ``database_url``, an empty database, migrated here first.
    Every provider points at a closed port on 127.0.0.1, so that nothing a test makes the
    server do reaches outside the machine; ``extra_env`` adds or overrides variables
    (a fake provider's URL, say).
    """
    data_dir = tmp / "var"
    closed = f"127.0.0.1:{_free_port()}"
    values = {
        "EDITAI_ENV": "test",
        "EDITAI_DATA_DIR": str(data_dir),
        "EDITAI_JWT_SECRET": TEST_JWT_SECRET,
        "EDITAI_SECRET_KEY": TEST_SECRET_KEY,
        "EDITAI_LOG_JSON": "true",
        "EDITAI_LOG_LEVEL": "INFO",
        "EDITAI_EMBEDDED_WORKER": "true",
        "EDITAI_DB_POOL_SIZE": str(POOL_SIZE),
        "EDITAI_ELEVENLABS_BASE_URL": f"http://{closed}",
        "EDITAI_GEMINI_BASE_URL": f"http://{closed}",
        "EDITAI_EDGE_TTS_CONNECT_TO": closed,
        "EDITAI_POSTIZ_API_URL": f"http://{closed}",
    }
    values.update(extra_env or {})
    if backend == "postgres":
        assert database_url, "PostgreSQL needs a database URL"
        async with migrated_engine(tmp, database_url):
            pass
        values["EDITAI_DATABASE_URL"] = database_url
        values["EDITAI_AUTO_MIGRATE"] = "false"
    else:
        database_url = f"sqlite+aiosqlite:///{data_dir / 'editai.db'}"
    settings = make_settings(tmp, database_url)
    with _started(tmp, _clean_env(**values)) as (base, log, proc):
        yield RunningServer(backend, base, log, database_url, settings, proc)


@contextmanager
def _started(tmp: Path, env: dict[str, str]) -> Any:
    # tests/test_serve.py's launcher: waits for /ready, terminates the server afterwards.
    yield from _serve(tmp, env)


# --------------------------------------------------------------------------- the log

_UNSTRUCTURED_ERROR = re.compile(r"Traceback|Error|Exception|CRITICAL|ERROR")
_LAST_EXCEPTION = re.compile(r"^([\w.]+): ", re.M)


def error_lines(log_text: str) -> list[str]:
    """ERROR/CRITICAL lines of a JSON log, and unstructured lines that look like errors.

    One kind is not counted: a job whose provider call failed (the worker logs every job
    exception as "job error"). The providers point at a closed port, and the fuzz may
    start a voice-over on a real project with a made-up key: that is the provider's
    answer, not the server failing.
    """
    found: list[str] = []
    for line in log_text.splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            if _UNSTRUCTURED_ERROR.search(line):
                found.append(line)
            continue
        if not isinstance(entry, dict) or _is_error_entry(entry):
            found.append(line)
    return found


def _is_error_entry(entry: dict[str, Any]) -> bool:
    level = str(entry.get("level", "")).lower()
    return level in {"error", "critical", "exception"} and not _is_provider_job_error(entry)


def _is_provider_job_error(entry: dict[str, Any]) -> bool:
    if entry.get("event") != "job error" or not entry.get("job_id"):
        return False
    raised = _LAST_EXCEPTION.findall(str(entry.get("exception", "")))
    if not raised:
        return False
    module, _, name = raised[-1].rpartition(".")
    try:
        kind = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return False
    return isinstance(kind, type) and issubclass(kind, ProviderError)


# --------------------------------------------------------------------------- PostgreSQL


async def pg_connections(database_url: str) -> list[dict[str, Any]]:
    """The backends connected to the test database (seen from the admin database)."""
    rows = await admin_fetch(
        "SELECT pid, state, backend_type, left(query, 200) AS query, "
        "extract(epoch FROM now() - state_change) AS state_seconds "
        "FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        make_url(database_url).database,
    )
    return [dict(r) for r in rows]


async def settled_pg_connections(
    database_url: str, *, limit: int = POOL_SIZE + LISTEN_CONNECTIONS, within: float = 3.0
) -> list[dict[str, Any]]:
    """The database's connections once the app is quiet: at most ``limit``, none idle in
    transaction. A transaction between two statements is briefly "idle in transaction";
    a leaked one stays so. Looks again until that holds or ``within`` seconds passed,
    and returns the last look (the caller asserts on it)."""
    deadline = time.monotonic() + within
    while True:
        rows = await pg_connections(database_url)
        if (len(rows) <= limit and not idle_in_transaction(rows)) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.1)


def idle_in_transaction(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if str(r["state"]).startswith("idle in transaction")]
