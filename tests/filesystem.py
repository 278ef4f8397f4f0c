"""Walking what the server left on disk."""

from __future__ import annotations

import os
from pathlib import Path


def files_under(root: Path) -> list[Path]:
    """Every non-directory entry below ``root`` (none when it does not exist), sorted."""
    found: list[Path] = []
    for folder, _, names in os.walk(root):
        found += [Path(folder) / n for n in names]
    return sorted(found)
