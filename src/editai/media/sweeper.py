"""The orphan sweeper: removes stored objects no row names, once older than a grace period.

Orphans come from crashes between storing and committing, from removals that failed
because the store was down (``MediaStorage.after_commit``), from uploads whose request
died. Safe while jobs run: a job stores its outputs before it commits them, and only
objects older than the grace period (longer than any job) are candidates; an object a
re-run overwrites becomes young again. Each candidate is checked against the rows at
sweep time, so a row committed meanwhile keeps its object.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from editai.logging import get_logger
from editai.media.references import MediaReferenceRepository
from editai.media.storage.s3 import S3Store
from editai.runtime import Runtime

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SweepReport:
    scanned: int
    removed: list[str]
    aborted_uploads: int


async def sweep_orphans(
    runtime: Runtime, *, grace_seconds: float | None = None, now: float | None = None
) -> SweepReport:
    grace = runtime.settings.media_orphan_grace_seconds if grace_seconds is None else grace_seconds
    cutoff = (time.time() if now is None else now) - grace
    storage = runtime.storage
    objects = await storage.list()
    old = [o.key for o in objects if o.modified.timestamp() < cutoff]
    async with runtime.sessions.system_transaction() as session:
        named = await MediaReferenceRepository(session).named(old)
    removed = [key for key in old if key not in named]
    for key in removed:
        await storage.remove_file(key)
    aborted = 0
    if isinstance(storage.store, S3Store):
        aborted = await storage.store.abort_uploads(storage.store.prefix, older_than=cutoff)
    if removed or aborted:
        log.info("orphaned media removed", objects=len(removed), aborted_uploads=aborted)
    return SweepReport(len(objects), removed, aborted)
