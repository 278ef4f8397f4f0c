"""keyframe_at_or_before: where a stream copy from ``-ss t`` really starts, also in a
container whose timestamps do not start at 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from editai.media.binaries import Binaries
from editai.media.ffmpeg import keyframe_at_or_before, probe_json, run_ffmpeg
from tests.media import videos

GOP = 1.0  # the test videos have a keyframe every second


async def _packet_hashes(binaries: Binaries, path: Path) -> list[str]:
    """MD5 of every video packet, in decode order (``-c copy``: nothing decoded)."""
    out = path.with_suffix(".md5")
    args = ["-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framemd5", str(out)]
    await run_ffmpeg(binaries, args)
    lines = [line for line in out.read_text().splitlines() if line and not line.startswith("#")]
    return [line.rsplit(",", 1)[1].strip() for line in lines]


@pytest.mark.parametrize("container", ["mp4", "mkv-offset"])
async def test_matches_where_a_stream_copy_starts(
    binaries: Binaries, media: dict[str, Path], tmp_path: Path, container: str
) -> None:
    source = media[videos.QUIET_TONE.name]  # testsrc2: every packet differs
    if container == "mkv-offset":  # timestamps starting at about 1.4 s
        shifted = tmp_path / "shifted.mkv"
        await run_ffmpeg(
            binaries, ["-i", str(source), "-c", "copy", "-output_ts_offset", "1.4", str(shifted)]
        )
        source = shifted
    info = await probe_json(binaries, source)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    # FFmpeg's -ss counts from the container's start; the video may begin a little later.
    delay = float(video["start_time"]) - float(info["format"]["start_time"])
    assert (delay > 0) == (container == "mkv-offset")  # AAC priming in the shifted copy
    hashes = await _packet_hashes(binaries, source)
    assert len(set(hashes)) == len(hashes)
    for at in (0.0, 0.5, 2.999, 3.0, 3.02, 4.7, 5.9):
        found = await keyframe_at_or_before(binaries, source, at)
        assert at - GOP - 0.05 < found <= at, (at, found)
        cut = tmp_path / f"cut-{at}.mp4"
        await run_ffmpeg(
            binaries,
            ["-ss", f"{at:.6f}", "-i", str(source), "-t", "0.5", "-map", "0:v:0", "-c", "copy",
             "-avoid_negative_ts", "make_zero", str(cut)],
        )  # fmt: skip
        index = hashes.index((await _packet_hashes(binaries, cut))[0])
        assert index % round(GOP * videos.FPS) == 0  # a keyframe
        # (Clamped to ``at``: before the video's first frame there is nothing to show.)
        expected = min(index / videos.FPS + delay, at)
        assert abs(found - expected) < 0.002, (at, found, index)
