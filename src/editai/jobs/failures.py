"""How a job's failure is logged, and what of it the job shows to its user."""

from __future__ import annotations

from editai.child_processes import ChildFailed
from editai.db.connection_health import is_connection_lost
from editai.integrations.errors import ProviderError
from editai.logging import get_logger
from editai.media.ffmpeg import FFmpegError
from editai.media.storage import StorageUnavailable

log = get_logger("editai.jobs.worker")  # the worker's logger: these lines are its own


def log_failure(message: str, exc: Exception) -> None:
    """A lost database (still lost after the retries) is a WARNING; anything else a bug."""
    if is_connection_lost(exc):
        log.warning(
            message, reason="database connection lost", error=f"{type(exc).__name__}: {exc}"
        )
    else:
        log.error(message, exc_info=exc)


def readable(exc: Exception) -> str:
    """The job's error message: what an error written to be shown says, else only its
    type (a bug's message may hold paths, SQL or keys)."""
    if isinstance(exc, FFmpegError):
        return f"FFmpeg failed: {exc}"
    if isinstance(exc, ProviderError):  # written to be shown: no keys, no bodies
        return exc.message
    if isinstance(exc, StorageUnavailable):  # written to be shown: no keys, no secrets
        return str(exc)
    if isinstance(exc, ChildFailed):  # written to be shown: stderr went to the log
        return str(exc)
    return f"Internal error while running the job ({type(exc).__name__})"
