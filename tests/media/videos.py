"""Small test videos made with FFmpeg's lavfi sources (built with ffmpeg-python).

Each is a few seconds at 320x180 or 640x360, H.264 (x264 ``veryfast``, High profile,
a keyframe every second) + AAC, made once per test session.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from editai.media.binaries import Binaries
from editai.media.ffmpeg import run_ffmpeg

FPS = 25
RATE = 48_000


@dataclass(frozen=True, slots=True)
class Spec:
    """What a generated video contains (the ground truth tests compare against)."""

    name: str
    width: int
    height: int
    duration: float
    scene_changes: tuple[float, ...] = ()
    silences: tuple[tuple[float, float], ...] = ()
    has_audio: bool = True


def _lavfi(graph: str) -> Any:
    return ffmpeg.input(graph, f="lavfi")


def _video(source: str, width: int, height: int, seconds: float) -> Any:
    return _lavfi(f"{source}=size={width}x{height}:rate={FPS}:duration={seconds}")


def _color(color: str, width: int, height: int, seconds: float) -> Any:
    return _lavfi(f"color=c={color}:size={width}x{height}:rate={FPS}:duration={seconds}")


def _sine(seconds: float, frequency: int = 440) -> Any:
    return _lavfi(f"sine=frequency={frequency}:sample_rate={RATE}:duration={seconds}")


def _noise(seconds: float, amplitude: float, color: str = "white") -> Any:
    return _lavfi(
        f"anoisesrc=color={color}:amplitude={amplitude}:sample_rate={RATE}:duration={seconds}:seed=7"
    )


async def _encode(
    binaries: Binaries, video: Any, audio: Any | None, out: Path, channels: int = 1
) -> None:
    options: dict[str, Any] = {
        "vcodec": "libx264",
        "preset": "veryfast",
        "pix_fmt": "yuv420p",
        "g": FPS,
        "keyint_min": FPS,
        "sc_threshold": 0,
    }
    streams = [video]
    if audio is not None:
        streams.append(audio)
        options.update(acodec="aac", audio_bitrate="128k", ac=channels)
    await run_ffmpeg(binaries, ffmpeg.output(*streams, str(out), **options).get_args())


# Scenes: red 0-3 s, testsrc2 3-6 s, SMPTE bars 6-9 s. Audio: a 440 Hz tone at -12 dB
# relative (quiet speech) 0-2 s, silence 2-4.5 s, full level 4.5-9 s.
SCENES = Spec("scenes", 640, 360, 9.0, scene_changes=(3.0, 6.0), silences=((2.0, 4.5),))
# No audio; testsrc2 0-2 s, blue 2-4 s.
NO_AUDIO = Spec("no_audio", 320, 180, 4.0, scene_changes=(2.0,), has_audio=False)
# Quiet mono tone (about -42 LUFS) and loud stereo white noise (about -3 LUFS), over
# testsrc2.
QUIET_TONE = Spec("quiet_tone", 320, 180, 6.0)
LOUD_NOISE = Spec("loud_noise", 320, 180, 6.0)
# A static mid-grey picture with a tone: any change in the picture is ours.
STILL = Spec("still", 320, 180, 4.0)

ALL = (SCENES, NO_AUDIO, QUIET_TONE, LOUD_NOISE, STILL)


async def make_video(binaries: Binaries, spec: Spec, folder: Path) -> Path:
    out = folder / f"{spec.name}.mp4"
    w, h, d = spec.width, spec.height, spec.duration
    if spec is SCENES:
        video = ffmpeg.concat(
            _color("red", w, h, 3), _video("testsrc2", w, h, 3), _video("smptebars", w, h, 3)
        )
        audio = _sine(d).filter("volume", volume="if(lt(t,2),0.25,if(lt(t,4.5),0,1))", eval="frame")
        await _encode(binaries, video, audio, out)
    elif spec is NO_AUDIO:
        video = ffmpeg.concat(_video("testsrc2", w, h, 2), _color("blue", w, h, 2))
        await _encode(binaries, video, None, out)
    elif spec is QUIET_TONE:
        await _encode(binaries, _video("testsrc2", w, h, d), _sine(d).filter("volume", 0.1), out)
    elif spec is LOUD_NOISE:
        await _encode(binaries, _video("testsrc2", w, h, d), _noise(d, 0.9), out, channels=2)
    elif spec is STILL:
        await _encode(binaries, _color("0x808080", w, h, d), _sine(d, 330), out)
    else:
        raise ValueError(spec.name)
    return out
