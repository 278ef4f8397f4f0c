"""A large upload streams to disk: the process's peak memory does not grow with its size."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.media_access.conftest import EnvFactory, multipart_parts, upload_headers

UPLOAD_BYTES = 200 * 1024 * 1024
CHUNK = 1024 * 1024


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _open_spool_files(folder: Path) -> list[str]:
    """Targets of this process's open files that live in ``folder`` (anonymous: "(deleted)")."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("backend", ["sqlite"])  # the database plays no part in the streaming
async def test_200_mb_upload_keeps_memory_flat(make_env: EnvFactory) -> None:
    async with make_env(max_upload_bytes=2 * UPLOAD_BYTES) as env:
        user = await env.api.new_user()
        project_id = await user.create_project("Huge")
        parts = multipart_parts(project_id, UPLOAD_BYTES, chunk=CHUNK)
        spool_dir = env.storage.upload_temp_dir()
        seen_spooling: list[str] = []

        async def body() -> AsyncIterator[bytes]:
            for index, part in enumerate(parts):
                if index == len(parts) // 2:
                    seen_spooling.extend(_open_spool_files(spool_dir))
                yield part

        if not _reset_peak():
            pytest.skip("cannot reset the peak RSS (/proc/self/clear_refs)")
        before = _status_kib("VmRSS")
        started = time.monotonic()
        # Chunked (no Content-Length): the body is produced as it is sent, never held whole.
        response = await env.client.post(
            "/graphql", content=body(), headers=upload_headers(user.token)
        )
        elapsed = time.monotonic() - started
        growth_mib = (_status_kib("VmHWM") - before) / 1024

        assert growth_mib < 40, f"peak RSS grew by {growth_mib:.0f} MiB for a 200 MiB upload"
        assert elapsed < 20, f"took {elapsed:.1f} s"
        # Zeros are no video: rejected after streaming, and nothing stays anywhere.
        assert response.status_code == 200
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "not a decodable video" in error["message"]
        assert seen_spooling, "the file part did not spool into <temp>/uploads"
        assert all(target.endswith("(deleted)") for target in seen_spooling)  # anonymous
        assert env.media_files() == []
        assert env.upload_temp_files() == []
        assert _open_spool_files(spool_dir) == []  # closed with the request
        assert (await env.project_row(project_id)).source_path is None
