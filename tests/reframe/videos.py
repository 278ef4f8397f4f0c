"""Test videos with a real face: scikit-image's astronaut photograph (Eileen Collins, public
domain, NASA), read from the installed wheel's data folder, moved across a 16:9 frame.

The photo is cut around the face and scaled so the face is a third of the frame's height;
the face centre sits at half height and at ``face_x(t)`` across (source pixels).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from editai.media.binaries import Binaries
from editai.media.ffmpeg import run_ffmpeg

WIDTH, HEIGHT, FPS, SECONDS = 640, 360, 30, 6.0
# The face in astronaut.png (512x512): a box of about 90x113 px centred at (223, 120).
CUT_X, CUT_Y, CUT_W, CUT_H = 130, 20, 190, 210
FACE_IN_CUT = (223 - CUT_X, 120 - CUT_Y)
SCALE = (HEIGHT / 3) / 113
PHOTO_W, PHOTO_H = round(CUT_W * SCALE / 2) * 2, round(CUT_H * SCALE / 2) * 2
FACE_DX, FACE_DY = FACE_IN_CUT[0] * PHOTO_W / CUT_W, FACE_IN_CUT[1] * PHOTO_H / CUT_H
# The moving face: left to centre in 2 s, held 2 s, centre to right in 2 s.
LEFT, MIDDLE, RIGHT = 0.2 * WIDTH, 0.5 * WIDTH, 0.8 * WIDTH


def astronaut_png() -> Path:
    path = Path(
        str(metadata.distribution("scikit-image").locate_file("skimage/data/astronaut.png"))
    )
    assert path.is_file(), path
    return path


def moving_face_x(t: float) -> float:
    """The moving face's centre (x, source pixels) at ``t`` seconds."""
    speed = (MIDDLE - LEFT) / 2
    if t < 2:
        return LEFT + speed * t
    if t < 4:
        return MIDDLE
    return MIDDLE + speed * (t - 4)


def _moving_expression() -> str:
    speed = (MIDDLE - LEFT) / 2
    at = f"{LEFT - FACE_DX:.3f}"
    mid = f"{MIDDLE - FACE_DX:.3f}"
    return f"if(lt(t,2),{at}+{speed:.3f}*t,if(lt(t,4),{mid},{mid}+{speed:.3f}*(t-4)))"


@dataclass(frozen=True)
class FaceVideo:
    name: str
    face_xs: tuple[str, ...]  # overlay x expressions of each copy of the photo (empty: none)


MOVING = FaceVideo("moving", (_moving_expression(),))
STILL = FaceVideo("still", (f"{0.35 * WIDTH - FACE_DX:.3f}",))
TWO = FaceVideo("two", (f"{0.25 * WIDTH - FACE_DX:.3f}", f"{0.75 * WIDTH - FACE_DX:.3f}"))
NONE = FaceVideo("none", ())
# A cut at 3 s: the face jumps from the left quarter to the right quarter.
CUT_AT = 3.0
SHOTS = FaceVideo(
    "shots",
    (f"if(lt(t,{CUT_AT}),{0.25 * WIDTH - FACE_DX:.3f},{0.75 * WIDTH - FACE_DX:.3f})",),
)
ALL = (MOVING, STILL, TWO, NONE, SHOTS)


async def make_face_video(
    binaries: Binaries, folder: Path, video: FaceVideo, seconds: float = SECONDS
) -> Path:
    out = folder / f"{video.name}-{seconds:g}.mp4"
    size = f"{WIDTH}x{HEIGHT}"
    background = (
        f"color=c=0x405060:size={size}:rate={FPS}:duration={seconds}"
        if video.face_xs
        else f"testsrc2=size={size}:rate={FPS}:duration={seconds}"
    )
    inputs = ["-f", "lavfi", "-i", background]
    inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    graph = "[0:v]null[bg0]"
    if video.face_xs:
        inputs += ["-loop", "1", "-framerate", str(FPS), "-i", str(astronaut_png())]
        copies = len(video.face_xs)
        graph = (
            f"[2:v]crop={CUT_W}:{CUT_H}:{CUT_X}:{CUT_Y},scale={PHOTO_W}:{PHOTO_H},"
            f"format=yuva420p,split={copies}" + "".join(f"[p{i}]" for i in range(copies)) + ";"
        )
        graph += "[0:v]null[bg0]"
        y = f"{HEIGHT / 2 - FACE_DY:.3f}"
        for i, x in enumerate(video.face_xs):
            graph += f";[bg{i}][p{i}]overlay=x='{x}':y={y}:shortest=1:eval=frame[bg{i + 1}]"
    last = f"bg{len(video.face_xs)}"
    args = [
        *inputs,
        "-filter_complex", graph,
        "-map", f"[{last}]", "-map", "1:a",
        "-t", str(seconds),
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", str(FPS),
        "-c:a", "aac", "-b:a", "96k",
        str(out),
    ]  # fmt: skip
    await run_ffmpeg(binaries, args)
    return out
