"""Every module that registers background tasks, imported by the worker."""

import editai.clips.tasks
import editai.segments.tasks  # noqa: F401
