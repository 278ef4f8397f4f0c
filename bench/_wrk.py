"""The load of ``throughput.load`` sent by wrk (Debian's ``wrk``), a C load generator.

On this 2-core machine the Python client of ``throughput.py`` takes a good share of a
core for itself; measuring how a server scales across both cores (``workers.py``) needs a
client that leaves them to the server. Same requests, same keep-alive connections, same
check of every answer (status 200 and no ``"errors"`` in the body, in wrk's Lua), and the
server's CPU counted the same way. wrk reports latency percentiles, not each request's.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

_SCRIPT = """
wrk.method = {method}
wrk.body = {body}
{headers}
bad = 0
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("bad") end
  local e = summary.errors
  local f = io.open({out}, "w")
  f:write(string.format(
    '{{"requests": %d, "duration_us": %d, "failed": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p99_us": %d}}',
    summary.requests, summary.duration, failed,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
  f:close()
end
"""


def wrk_path() -> str | None:
    return shutil.which("wrk")


def _lua(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for this text


async def wrk_load(target: Any, seconds: float, concurrency: int) -> dict[str, float]:
    """Run wrk against ``target`` (a ``throughput.Target``): its figures, as wrk counted."""
    wrk = wrk_path()
    if wrk is None:
        raise SystemExit("wrk not found: apt-get install wrk, or use --client python")
    with tempfile.TemporaryDirectory(prefix="editai-wrk-") as tmp:
        out, script = Path(tmp) / "result.json", Path(tmp) / "load.lua"
        headers = dict(target.headers)
        if target.body:
            headers["Content-Type"] = "application/json"
        header_lines = [f"wrk.headers[{_lua(k)}] = {_lua(v)}" for k, v in headers.items()]
        script.write_text(
            _SCRIPT.format(
                method=_lua(target.method),
                body=_lua(target.body.decode()) if target.body else "nil",
                headers="\n".join(header_lines),
                out=_lua(str(out)),
            )
        )
        url = f"http://127.0.0.1:{target.server.port}{target.path}"
        process = await asyncio.create_subprocess_exec(
            wrk,
            "-t1",
            f"-c{concurrency}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        if process.returncode != 0 or not out.exists():
            raise SystemExit(f"wrk failed ({process.returncode}): {output.decode()[-2000:]}")
        result: dict[str, float] = json.loads(out.read_text())
    return result
