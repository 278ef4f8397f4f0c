"""Speaker-following reframing: analysis time / clip duration (target <= 0.5).

Makes a test video with FFmpeg (scikit-image's astronaut photograph moving across a plain
16:9 frame, a face a third of the frame high, 30 fps, H.264), then times, for a clip of
``--seconds``:

* analysis: ``reframe.detect.detect_faces`` (FFmpeg decoding the window, scaled to 640 px,
  3 fps to the detector child; scene cuts on every frame) plus ``reframe.path.plan_path``;
* render: the whole ``render_clip(..., reframe="FACE")`` (analysis + the 9:16 encode),
  for reference: the encode is the same work a centred crop does.

No database, no server. Prints every run and a final ``SUMMARY reframe_speed: ...`` line.

    .venv/bin/python bench/reframe_speed.py                  # 1920x1080, 30 s, 3 runs
    .venv/bin/python bench/reframe_speed.py --width 1280 --height 720
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import tempfile
import time
from importlib import metadata
from pathlib import Path

from editai.media.binaries import find_binaries
from editai.media.ffmpeg import run_ffmpeg
from editai.media.render import output_size
from editai.reframe.detect import detect_faces
from editai.reframe.path import plan_path
from editai.reframe.render import render_clip

FPS = 30


def astronaut() -> Path:
    dist = metadata.distribution("scikit-image")
    return Path(str(dist.locate_file("skimage/data/astronaut.png")))


async def make_video(folder: Path, width: int, height: int, seconds: float) -> Path:
    """The face crosses the frame and back every 10 s, holding 2 s at each end."""
    out = folder / f"face-{width}x{height}.mp4"
    face = round(height / 3 / 113 * 512 / 2) * 2  # the photo's face is 113 of its 512 px
    travel = width - face
    x = (
        f"{travel}*(0.5-0.5*cos(2*PI*min(max(mod(t,10)-2,0),3)/6)"
        f"+if(gte(mod(t,10),7),0.5-0.5*cos(2*PI*(min(mod(t,10)-7,3)/6+0.5)),0))"
    )
    graph = (
        f"[1:v]scale={face}:{face}[photo];"
        f"[0:v][photo]overlay=x='{x}':y={(height - face) // 2}:shortest=1:eval=frame[v]"
    )
    args = [
        "-f", "lavfi", "-i", f"color=c=0x405060:size={width}x{height}:rate={FPS}:d={seconds}",
        "-loop", "1", "-framerate", str(FPS), "-i", str(astronaut()),
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
        "-filter_complex", graph, "-map", "[v]", "-map", "2:a", "-t", str(seconds),
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", str(2 * FPS),
        "-c:a", "aac", str(out),
    ]  # fmt: skip
    await run_ffmpeg(find_binaries(), args)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    binaries = find_binaries()
    width, height, seconds = args.width, args.height, args.seconds
    crop_w, crop_h = output_size(width, height, "R9_16")
    with tempfile.TemporaryDirectory(prefix="reframe-bench-") as tmp:
        folder = Path(tmp)
        source = await make_video(folder, width, height, seconds)
        print(f"source {width}x{height} {FPS} fps, clip {seconds:g} s -> 9:16 {crop_w}x{crop_h}")
        analysis, render, cpu = [], [], []
        for run in range(args.runs):
            started, cpu_before = time.perf_counter(), _cpu_seconds()
            track = await detect_faces(binaries, source, 0.0, seconds, width, height, folder)
            path = plan_path(track, seconds, width, height, crop_w, crop_h)
            analysis.append(time.perf_counter() - started)
            cpu.append(_cpu_seconds() - cpu_before)
            started = time.perf_counter()
            await render_clip(
                binaries, source, folder / "clip.mp4", 0.0, seconds, "R9_16", "FACE", "CROP",
                "FIT_BLUR", width, height, float(FPS), None, folder,
            )  # fmt: skip
            render.append(time.perf_counter() - started)
            sampled = sum(1 for s in track.samples if s.faces)
            print(
                f"run {run + 1}: analysis {analysis[-1]:.2f} s "
                f"({analysis[-1] / seconds:.3f} x clip; CPU {cpu[-1]:.2f} s), "
                f"full FACE render {render[-1]:.2f} s "
                f"({render[-1] / seconds:.3f} x clip); detector {track.detector}, "
                f"{sampled}/{len(track.samples)} samples with a face, "
                f"{sum(len(s.points) for s in path.shots)} path points"
            )
        ratio = statistics.median(analysis) / seconds
        full = statistics.median(render) / seconds
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        print(
            f"SUMMARY reframe_speed: {width}x{height}, {seconds:g} s clip: analysis "
            f"{ratio:.3f} x clip duration (target <= 0.5; CPU "
            f"{statistics.median(cpu) / seconds:.3f} s per clip second), full FACE render "
            f"{full:.3f} x (median of {args.runs}; load average {load})"
        )


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (FFmpeg, the detector)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    asyncio.run(main())
