"""A served process freezes what it built at start-up (editai/process_tuning.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_startup_objects_are_frozen_and_later_garbage_still_collected() -> None:
    # In a child process: what is frozen is never collected, so not in the suite's own.
    script = textwrap.dedent(
        """
        import gc, weakref
        from editai.process_tuning import freeze_startup_objects

        class Node:
            pass

        kept = [Node() for _ in range(1000)]
        freeze_startup_objects()
        assert gc.get_freeze_count() >= 1000, gc.get_freeze_count()
        # A cycle made afterwards is still collected.
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None
        print("ok", gc.get_freeze_count())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok ")
