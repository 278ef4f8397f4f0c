"""Filter graphs too long for one command-line argument go through a file."""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

# Linux caps one command-line argument at 128 KiB; longer graphs go through a file.
FILTER_SCRIPT_OVER = 32_000


def with_filter_script(args: list[str], folder: Path, limit: int = FILTER_SCRIPT_OVER) -> list[str]:
    """``args`` with a ``-filter_complex`` longer than ``limit`` moved into a file in
    ``folder`` (``-filter_complex_script``); unchanged otherwise."""
    if "-filter_complex" not in args:
        return args
    at = args.index("-filter_complex")
    if len(args[at + 1]) <= limit:
        return args
    script = folder / f"filtergraph-{uuid.uuid4().hex}.txt"
    script.write_text(args[at + 1], encoding="utf-8")
    return [*args[:at], "-filter_complex_script", str(script), *args[at + 2 :]]


def discard_files(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
