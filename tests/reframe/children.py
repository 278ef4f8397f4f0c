"""This test process's own children, found through /proc (the embedded worker runs here)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.processes import process_cmdline


def children_running(module: str) -> list[int]:
    """Our own child processes whose command line runs ``module``."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and module in " ".join(process_cmdline(pid)):
            found.append(pid)
    return found
