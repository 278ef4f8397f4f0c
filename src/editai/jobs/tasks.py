"""Every module that registers background tasks, imported by the worker."""

import editai.analysis.tasks
import editai.clips.recut
import editai.clips.tasks
import editai.publishing.tasks
import editai.segments.tasks
import editai.transcripts.tasks
import editai.tts.tasks  # noqa: F401
