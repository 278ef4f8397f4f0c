"""The README's walk-through, proven: ``scripts/demo.sh`` (curl) against a real
``editai serve`` on the embedded SQLite default, from upload to the exported download."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from editai.auth.tokens import mint_token
from editai.media.binaries import find_binaries
from editai.settings import Settings
from tests.test_serve import _clean_env, _serve

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scripts" / "demo.sh"


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    yield from _serve(tmp_path, _clean_env(EDITAI_DATA_DIR=str(tmp_path / "var")))


def _ffprobe(path: Path) -> dict[str, dict[str, object]]:
    out = subprocess.run(
        [find_binaries().ffprobe, "-v", "error", "-print_format", "json",
         "-show_format", "-show_streams", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    info = json.loads(out)
    return {s["codec_type"]: s for s in info["streams"]} | {"format": info["format"]}


def test_demo_script_walks_from_upload_to_exported_download(
    demo_server: tuple[str, Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    base, log, _ = demo_server
    # A token for a new user, signed with the secret the server generated in its data dir.
    secret = (tmp_path / "var" / "jwt-secret").read_text().strip()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        jwt_secret=SecretStr(secret),
        jwt_audience="authenticated",
        jwt_issuer=None,
    )
    token = mint_token(settings, str(uuid.uuid4()), "demo@example.test")
    output = tmp_path / "demo-output"
    env = _clean_env(TOKEN=token, DEMO_OUTPUT=str(output))

    done = subprocess.run(
        ["bash", str(DEMO), base],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip

    report = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}\nserver:\n{log.read_text()[-3000:]}"
    assert done.returncode == 0, report
    # The script prints the exported file's path last.
    exported = Path(done.stdout.strip().splitlines()[-1])
    assert exported.parent == output, report
    assert exported.name.startswith("export-"), report
    assert exported.is_file(), report
    assert re.search(r"range request: HTTP 206, 100 bytes", done.stderr), report
    assert done.stderr.count("SUCCEEDED") == 3, report  # segments, clips, export

    facts = _ffprobe(exported)
    video, audio = facts["video"], facts["audio"]
    assert (video["codec_name"], video["height"]) == ("h264", 720), facts
    assert video["width"] == 404, facts  # the 9:16 clip of the 1280x720 source, at 720p
    assert audio["codec_name"] == "aac", facts
    assert abs(float(str(facts["format"]["duration"])) - 8.0) < 0.05, facts
    # The raw clip it exported was downloaded too: 9:16, cut from the 720p source.
    [clip] = output.glob("clip-*.mp4")
    assert clip.name.removeprefix("clip-") == exported.name.removeprefix("export-")
    clip_video = _ffprobe(clip)["video"]
    assert (clip_video["width"], clip_video["height"]) == (404, 720)
