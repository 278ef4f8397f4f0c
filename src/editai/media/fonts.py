"""The TrueType font burned-in text uses: the packaged Roboto, else a system font."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf",
    "/usr/share/fonts/noto/NotoSans-Bold.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    "/Library/Fonts/Arial.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
)
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts")


class FontNotFoundError(RuntimeError):
    """Burning in text needs a TrueType font and none was found."""


def _packaged_font() -> Path | None:
    """Roboto from the font-roboto package: the same glyphs on every machine, no system fonts."""
    spec = find_spec("font_roboto")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "files" / "Roboto-Bold.ttf"
    return path if path.is_file() else None


def find_font_file() -> Path | None:
    """A TrueType font: well-known paths first, then any .ttf under the font dirs."""
    packaged = _packaged_font()
    if packaged is not None:
        return packaged
    for candidate in FONT_CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            return path
    for folder in FONT_DIRS:
        root = Path(folder)
        if root.is_dir():
            for path in sorted(root.rglob("*.ttf")):
                if path.is_file():
                    return path
    return None
