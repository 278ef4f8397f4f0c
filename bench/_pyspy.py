"""Reading py-spy's collapsed stacks (``--format raw``): self and inclusive time."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

# One frame as py-spy writes it: "function (path/to/file.py:123)"; the line is optional.
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<path>[^()]*?)(?::\d+)?\)$")


@dataclass
class FrameStats:
    samples: int = 0
    self_by_frame: Counter[str] = field(default_factory=Counter)
    self_by_package: Counter[str] = field(default_factory=Counter)
    stacks: list[tuple[list[str], int]] = field(default_factory=list)

    def inclusive_of(self, functions: list[str]) -> Counter[str]:
        """Samples with a frame of each named function anywhere on the stack (once each)."""
        wanted = set(functions)
        found: Counter[str] = Counter()
        for frames, count in self.stacks:
            names = {_function(frame) for frame in frames}
            for name in names & wanted:
                found[name] += count
        return found


def parse_collapsed(text: str) -> FrameStats:
    stats = FrameStats()
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        # The first entry is the thread ("process 123:\"python\"" / "thread (0x...)").
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        stats.samples += count
        stats.stacks.append((frames, count))
        leaf = frames[-1]
        stats.self_by_frame[_short(leaf)] += count
        stats.self_by_package[package_of(leaf)] += count
    return stats


def _function(frame: str) -> str:
    match = _FRAME.match(frame)
    name = match.group("function") if match else frame
    return name.rsplit(".", 1)[-1]


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    return f"{match.group('function')} ({_module_path(match.group('path'))})"


def _module_path(path: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return tail.split("/", 1)[1] if marker == "/lib/python3" and "/" in tail else tail
    return path


def package_of(frame: str) -> str:
    match = _FRAME.match(frame)
    path = match.group("path") if match else ""
    if "site-packages/" in path:
        top = path.split("site-packages/", 1)[1].split("/", 1)[0]
        return top.removesuffix(".py")
    if "/src/editai/" in path:
        return "editai"
    if "/lib/python3" in path or path.startswith("<frozen"):
        return "stdlib"
    return path or "native"
