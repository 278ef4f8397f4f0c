"""Every line logged inside a job carries its profile_id and job_id, typed by nobody.

Two jobs of two profiles run at once in one worker; the handler logs through
``editai.logging.get_logger`` without passing any id, FFmpeg fails in one of them (the
media runner's own warning), and the worker logs around both. Lines are captured as
the production JSON output (``configure_logging(as_json=True)``, see tests/test_logging).
"""

from __future__ import annotations

import uuid

import pytest

from editai.jobs.models import JobStatus
from editai.runtime import Runtime
from tests.jobs.conftest import enqueue, make_tenant, running_worker, wait_status
from tests.jobs.handlers import EncodeHandler
from tests.test_logging import JsonLines, json_logs  # noqa: F401 - the capture fixture

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


async def test_lines_inside_a_job_carry_profile_and_job_ids(
    runtime: Runtime,
    json_logs: JsonLines,  # noqa: F811
) -> None:
    alice, bob = await make_tenant(runtime.sessions), await make_tenant(runtime.sessions)
    json_logs.clear()
    async with running_worker(runtime, EncodeHandler(), concurrency=2):
        ok = await enqueue(runtime, alice, {"seconds": 0.6})
        broken = await enqueue(runtime, bob, {"seconds": 0.6, "fail_attempts": 1}, max_attempts=1)
        assert (await wait_status(runtime, ok)).status is JobStatus.SUCCEEDED
        assert (await wait_status(runtime, broken)).status is JobStatus.FAILED
    lines = json_logs.server_lines()
    profile_of = {str(ok): str(alice.profile_id), str(broken): str(bob.profile_id)}

    def events(job_id: uuid.UUID) -> list[str]:
        return [line["event"] for line in lines if line.get("job_id") == str(job_id)]

    # The handler's own lines, the media runner's and the worker's, for each job.
    assert {"job started", "encoding", "encoded", "job succeeded"} <= set(events(ok))
    assert {"job started", "encoding", "ffmpeg failed", "job error", "job failed"} <= set(
        events(broken)
    )
    # Every line but the worker's own start-up belongs to a job, and carries both ids.
    for line in lines:
        if line["event"] != "worker started":
            assert line["profile_id"] == profile_of[line["job_id"]], line
    handler_lines = [line for line in lines if line["logger"] == "tests.jobs.handler"]
    assert len(handler_lines) == 3  # encoding x2, encoded x1
    for line in handler_lines:
        assert line["profile_id"] == profile_of[line["job_id"]]
        assert line["level"] == "info"
    failure = next(line for line in lines if line["event"] == "job error")
    assert failure["profile_id"] == str(bob.profile_id)
    assert "FFmpegError" in failure["exception"]
    # Nothing of a job stays bound outside it.
    outside = [line for line in lines if line["event"] in ("worker started",)]
    assert outside
    assert all("job_id" not in line and "profile_id" not in line for line in outside)
