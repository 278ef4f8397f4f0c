"""Moving finished outputs into place, off the event loop."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path


def _move(source: Path, target: Path) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    # Copy next to the target (temp and media may be different filesystems), then an
    # atomic rename: readers never see half a file.
    shutil.move(source, partial)
    os.replace(partial, target)
    return target.stat().st_size


async def move_into_place(source: Path, target: Path) -> int:
    """Move ``source`` to ``target`` atomically; returns the size in bytes."""
    return await asyncio.to_thread(_move, source, target)


async def remove_files(paths: list[Path]) -> None:
    def remove() -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    await asyncio.to_thread(remove)
