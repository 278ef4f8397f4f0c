"""Upload -> extractSegments -> generateRawClips -> exportClips -> download, through the
GraphQL API with the embedded worker, on PostgreSQL and SQLite. Files are measured with
ffprobe/FFmpeg after being fetched through their signed ``downloadUrl``."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import ffmpeg

from editai.media.binaries import Binaries
from editai.media.export import export_size
from editai.media.ffmpeg import run_ffmpeg
from editai.media.render import crop_box, output_size
from tests.media import measure
from tests.pipeline.conftest import EXPORT, EXTRACT, GENERATE, Env, JobRun
from tests.pipeline.videos import FPS, PIPELINE, SOUNDS

FRAME = 1 / FPS
SEGMENTS = "query($p: ID!) { project(id: $p) { segments { kind startSeconds endSeconds score } } }"


def assert_progress_rose(run: JobRun, *, min_steps: int) -> None:
    """Progress seen while polling never went down, ended at 1.0, and moved in between."""
    assert run.job["progress"] == 1.0
    assert run.progress == sorted(run.progress), run.progress
    inside = sorted({p for p, s in zip(run.progress, run.statuses, strict=True) if 0 < p < 1})
    assert len(inside) >= min_steps, f"progress seen: {run.progress}"


def near(value: float, target: float, tolerance: float) -> bool:
    return abs(value - target) <= tolerance


async def video_facts(
    binaries: Binaries, path: Path
) -> tuple[float, dict[str, Any], dict[str, Any]]:
    fmt, streams = await measure.streams(binaries, path)
    video = next(s for s in streams if s["codec_type"] == "video")
    audio = next(s for s in streams if s["codec_type"] == "audio")
    return float(fmt["duration"]), video, audio


async def luma(
    binaries: Binaries,
    path: Path,
    at: float,
    folder: Path,
    crop: tuple[int, int, int, int] | None = None,
) -> bytes:
    """The frame on screen at ``at`` seconds (optionally cropped) as 8-bit luma."""
    out = folder / f"luma-{path.stem}-{at:.3f}-{crop}.gray"
    shown = math.floor(at * FPS + 1e-6) / FPS  # the frame whose display interval holds ``at``
    stream = ffmpeg.input(str(path), ss=f"{shown:.6f}")["v:0"]
    if crop is not None:
        w, h, x, y = crop
        stream = stream.filter("crop", w=w, h=h, x=x, y=y)
    await run_ffmpeg(
        binaries, stream.output(str(out), vframes=1, format="rawvideo", pix_fmt="gray").get_args()
    )
    return out.read_bytes()


def mean_abs_diff(a: bytes, b: bytes) -> float:
    assert len(a) == len(b) > 0
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


async def video_packets(binaries: Binaries, path: Path, folder: Path) -> list[tuple[float, str]]:
    """(pts in seconds, MD5 of the packet data) of every video packet, in decode order,
    read with ``-c copy`` (nothing decoded)."""
    out = folder / f"packets-{path.stem}.txt"
    args = ["-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framemd5", str(out)]
    await run_ffmpeg(binaries, args)
    base = 0.0
    packets: list[tuple[float, str]] = []
    for line in out.read_text().splitlines():
        if line.startswith("#tb 0:"):
            num, den = line.split(":", 1)[1].strip().split("/")
            base = int(num) / int(den)
        elif line and not line.startswith("#"):
            fields = [f.strip() for f in line.split(",")]
            packets.append((int(fields[2]) * base, fields[5]))
    assert base > 0
    assert packets
    return packets


async def test_upload_extract_generate_export(
    env: Env, videos: dict[str, bytes], binaries: Binaries, tmp_path: Path
) -> None:
    user = await env.api.new_user()
    project_id = await env.project_with_video(user, videos[PIPELINE.name])
    source = await env.download(
        (
            await user.gql(
                "query($p: ID!) { project(id: $p) { sourceVideo { downloadUrl } } }",
                {"p": project_id},
            )
        ).ok()["project"]["sourceVideo"]["downloadUrl"],
        tmp_path,
        "source.mp4",
    )

    # --- extractSegments: scenes at the cuts, speech and silence where the tone is --------
    extracted = await env.run_job(user, EXTRACT, {"p": project_id})
    assert extracted.job["kind"] == "EXTRACT_SEGMENTS"
    assert extracted.job["progress"] == 1.0
    segments = (await user.gql(SEGMENTS, {"p": project_id})).ok()["project"]["segments"]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for segment in segments:
        by_kind.setdefault(segment["kind"], []).append(segment)
        assert 0.0 <= segment["score"] <= 1.0, segment
        assert 0.0 <= segment["startSeconds"] < segment["endSeconds"] <= PIPELINE.duration
    assert extracted.job["result"]["by_kind"] == {k: len(v) for k, v in by_kind.items()}
    scenes = [(s["startSeconds"], s["endSeconds"]) for s in by_kind["SCENE"]]
    cuts = (0.0, *PIPELINE.scene_changes, PIPELINE.duration)
    assert len(scenes) == len(cuts) - 1, scenes
    for (start, end), (cut_a, cut_b) in zip(scenes, itertools.pairwise(cuts), strict=True):
        assert near(start, cut_a, FRAME), scenes
        assert near(end, cut_b, FRAME), scenes
    silences = [(s["startSeconds"], s["endSeconds"]) for s in by_kind["SILENCE"]]
    speech = [(s["startSeconds"], s["endSeconds"]) for s in by_kind["SPEECH"]]
    assert len(silences) == len(PIPELINE.silences), silences
    for (start, end), (a, b) in zip(silences, PIPELINE.silences, strict=True):
        assert near(start, a, 0.1), silences
        assert near(end, b, 0.1), silences
    assert len(speech) == len(SOUNDS), speech
    for (start, end), (a, b) in zip(speech, SOUNDS, strict=True):
        assert near(start, a, 0.1), speech
        assert near(end, b, 0.1), speech
    # The tone outscores the silence.
    assert min(s["score"] for s in by_kind["SPEECH"]) > max(s["score"] for s in by_kind["SILENCE"])

    # --- generateRawClips: 3 accurate 9:16 clips of 4 s --------------------------------
    generated = await env.run_job(
        user,
        GENERATE,
        {
            "p": project_id,
            "input": {"variantCount": 3, "clipSeconds": 4, "aspect": "R9_16", "accurate": True},
        },
    )
    assert_progress_rose(generated, min_steps=2)
    clips = await env.clips(user, project_id)
    assert sorted(generated.job["result"]["clip_ids"]) == sorted(c["id"] for c in clips)
    assert len(clips) == 3
    assert sorted(c["variantIndex"] for c in clips) == [0, 1, 2]
    windows = sorted((c["startSeconds"], c["endSeconds"]) for c in clips)
    for (_, end), (next_start, _) in itertools.pairwise(windows):
        assert end <= next_start + 1e-6, f"overlapping windows: {windows}"
    assert windows[0][0] >= 0
    assert windows[-1][1] <= PIPELINE.duration + 1e-6
    width, height = output_size(PIPELINE.width, PIPELINE.height, "R9_16")
    assert (width, height) == (202, 360)  # the documented 9:16 crop of 640x360
    crop = crop_box(PIPELINE.width, PIPELINE.height, "R9_16")
    files: dict[str, Path] = {}
    for clip in clips:
        assert (clip["aspect"], clip["status"]) == ("R9_16", "READY")
        assert near(clip["durationSeconds"], 4.0, FRAME), clip
        path = await env.download(clip["downloadUrl"], tmp_path, f"clip-{clip['id']}.mp4")
        files[clip["id"]] = path
        duration, video, audio = await video_facts(binaries, path)
        assert (video["codec_name"], video["width"], video["height"]) == ("h264", width, height)
        assert audio["codec_name"] == "aac"
        assert near(duration, 4.0, FRAME), duration
        assert near(float(video["duration"]), 4.0, FRAME), video["duration"]
        assert abs(int(video["nb_frames"]) - 4 * FPS) <= 1, video["nb_frames"]
        # The clip shows its window of the source: the same (cropped) picture 1 s in.
        shown = await luma(binaries, path, 1.0, tmp_path)
        expected = await luma(binaries, source, clip["startSeconds"] + 1.0, tmp_path, crop)
        assert mean_abs_diff(shown, expected) < 2.0, clip

    # --- exportClips: 240p, subtitle, a muted second where the clip is loud -------------
    clip = min(clips, key=lambda c: c["startSeconds"])
    start = clip["startSeconds"]
    loud_a, loud_b = next((a, b) for a, b in SOUNDS if min(b, start + 4) - max(a, start) >= 1.5)
    mute = (round(max(loud_a, start) - start + 0.2, 3), round(max(loud_a, start) - start + 1.2, 3))
    assert mute[1] <= min(loud_b, start + 4) - start
    raw_url = clip["downloadUrl"]
    exported = await env.run_job(
        user,
        EXPORT,
        {
            "ids": [clip["id"]],
            "input": {
                "height": 240,
                "subtitleText": "Hello: 'EditAI' 100% {x}",
                "muteRanges": [{"startSeconds": mute[0], "endSeconds": mute[1]}],
            },
        },
    )
    assert exported.job["progress"] == 1.0
    assert exported.progress == sorted(exported.progress)
    assert exported.job["result"] == {"exported_clip_ids": [clip["id"]]}
    after = {c["id"]: c for c in await env.clips(user, project_id)}
    assert after[clip["id"]]["status"] == "EXPORTED"
    assert {c["status"] for i, c in after.items() if i != clip["id"]} == {"READY"}
    assert after[clip["id"]]["downloadUrl"] != raw_url
    path = await env.download(after[clip["id"]]["downloadUrl"], tmp_path, "export.mp4")
    duration, video, audio = await video_facts(binaries, path)
    assert (video["codec_name"], video["profile"], video["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert (video["width"], video["height"]) == export_size(width, height, 240) == (134, 240)
    assert (audio["codec_name"], int(audio["sample_rate"])) == ("aac", 48_000)
    assert near(duration, 4.0, 0.05), duration
    boxes = measure.top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # faststart
    inner = (mute[0] + 0.05, mute[1] - mute[0] - 0.1)
    assert await measure.max_volume(binaries, files[clip["id"]], *inner) > -20.0
    assert await measure.max_volume(binaries, path, *inner) < -60.0
    # The raw clip is still there (exports go beside it).
    assert files[clip["id"]].read_bytes() == (await env.client.get(raw_url)).content


async def test_fast_mode_stream_copies_the_source(
    env: Env, videos: dict[str, bytes], binaries: Binaries, tmp_path: Path
) -> None:
    user = await env.api.new_user()
    project_id = await env.project_with_video(user, videos[PIPELINE.name])
    source = tmp_path / "source.mp4"
    source.write_bytes(videos[PIPELINE.name])
    # No extractSegments first: the job analyses the source itself.
    generated = await env.run_job(
        user,
        GENERATE,
        {
            "p": project_id,
            "input": {"variantCount": 2, "clipSeconds": 3, "aspect": "SOURCE", "accurate": False},
        },
    )
    assert_progress_rose(generated, min_steps=1)
    clips = await env.clips(user, project_id)
    assert sorted(generated.job["result"]["clip_ids"]) == sorted(c["id"] for c in clips)
    assert len(clips) == 2

    _, src_video, src_audio = await video_facts(binaries, source)
    src_packets = await video_packets(binaries, source, tmp_path)
    src_hashes = [h for _, h in src_packets]
    for clip in clips:
        assert (clip["aspect"], clip["status"]) == ("SOURCE", "READY")
        path = await env.download(clip["downloadUrl"], tmp_path, f"fast-{clip['id']}.mp4")
        _, video, audio = await video_facts(binaries, path)
        for key in ("codec_name", "profile", "level", "width", "height", "pix_fmt"):
            assert video[key] == src_video[key], key
        for key in ("codec_name", "profile", "sample_rate", "channels"):
            assert audio[key] == src_audio[key], key
        # Stream copy: the clip's video packets are a run of the source's, byte for byte.
        hashes = [h for _, h in await video_packets(binaries, path, tmp_path)]
        # (Static scenes repeat packets: a run may match at several places.)
        runs = [
            i
            for i in range(len(src_hashes) - len(hashes) + 1)
            if src_hashes[i : i + len(hashes)] == hashes
        ]
        assert runs, "the clip's packets are not the source's: re-encoded"
        # It starts at a keyframe at or before the window, and says where.
        starts = [src_packets[i][0] for i in runs]
        assert any(near(clip["startSeconds"], t, 0.002) for t in starts), (clip, starts)
        assert all(t == round(t) for t in starts)  # keyframes: one a second
        assert 3.0 - FRAME <= clip["durationSeconds"] <= 3.0 + 1.0 + FRAME, clip
        assert near(clip["durationSeconds"], len(hashes) * FRAME, FRAME), (clip, len(hashes))
        assert clip["endSeconds"] <= PIPELINE.duration + 1e-6
