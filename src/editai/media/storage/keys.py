"""Object keys. Built here from ids only: nothing a client sends ever becomes a key.

Layout: ``<profile_id>/<project_id>/{source-*.ext, clips/, exports/, audio/}`` — the
same relative paths on local disk and in a bucket, so a prefix is everything of one
profile or one project, and a key names its owner.
"""

from __future__ import annotations

import posixpath
import uuid

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".ts"}
)


class StoragePathError(ValueError):
    """A key that is not one the server builds (empty, absolute, with ``..``)."""


def checked_key(key: str) -> str:
    """``key`` if it is a plain relative path below the root; refuses anything else."""
    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise StoragePathError("not a media key")
    if posixpath.normpath(key) != key or key.split("/", 1)[0] in {".", ".."}:
        raise StoragePathError("not a media key")
    return key


def profile_prefix(profile_id: uuid.UUID) -> str:
    return f"{profile_id}/"


def project_prefix(profile_id: uuid.UUID, project_id: uuid.UUID) -> str:
    return f"{profile_id}/{project_id}/"


def source_key(profile_id: uuid.UUID, project_id: uuid.UUID, suffix: str) -> str:
    safe = suffix.lower() if suffix.lower() in VIDEO_SUFFIXES else ".bin"
    return f"{project_prefix(profile_id, project_id)}source-{uuid.uuid4().hex}{safe}"


def clip_key(
    profile_id: uuid.UUID,
    project_id: uuid.UUID,
    clip_id: uuid.UUID,
    recut_job_id: uuid.UUID | None = None,
) -> str:
    """A re-cut gets its own object (named by its job): the old one stays valid until the
    row points at the new one."""
    name = f"{clip_id}.mp4" if recut_job_id is None else f"{clip_id}-{recut_job_id}.mp4"
    return f"{project_prefix(profile_id, project_id)}clips/{name}"


def export_key(
    profile_id: uuid.UUID, project_id: uuid.UUID, clip_id: uuid.UUID, job_id: uuid.UUID
) -> str:
    return f"{project_prefix(profile_id, project_id)}exports/{clip_id}-{job_id}.mp4"


def voiceover_key(profile_id: uuid.UUID, project_id: uuid.UUID, voiceover_id: uuid.UUID) -> str:
    return f"{project_prefix(profile_id, project_id)}audio/{voiceover_id}.m4a"


def owner_ids(key: str) -> tuple[uuid.UUID, uuid.UUID | None] | None:
    """(profile id, project id) a key belongs to; None for a key the server never built."""
    parts = key.split("/")
    try:
        profile = uuid.UUID(parts[0])
        project = uuid.UUID(parts[1]) if len(parts) > 2 else None
    except ValueError:
        return None
    return profile, project
