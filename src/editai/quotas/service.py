"""The per-profile storage quota (``EDITAI_PROFILE_STORAGE_QUOTA_BYTES``, off by default).

An upload may use what is left (its size cap becomes the smaller of the upload cap and
the remaining bytes, enforced while the bytes are copied); a job that writes media is
refused once the profile is at or over its quota. Refusals are BAD_USER_INPUT carrying
the numbers: ``usedBytes``, ``quotaBytes``, ``neededBytes``.

Checked in the request's transaction: early against what is committed (so a file that
cannot fit is never stored), and once more after the upload has written its row, under
a per-profile lock held until the commit (``check_written_upload``): two uploads of one
profile racing each other cannot pass the quota together.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from editai.db.locks import lock_profile
from editai.db.tenancy import scope_of
from editai.errors import BadUserInput
from editai.jobs.models import JobKind
from editai.quotas.repository import StorageUsageRepository

# The job kinds whose outcome is new media files (analysis, segments, transcripts,
# publishing: none). A re-cut replaces its clip's file, which an extension makes larger.
MEDIA_JOB_KINDS = frozenset(
    {
        JobKind.GENERATE_RAW_CLIPS,
        JobKind.EXPORT_CLIPS,
        JobKind.SYNTHESIZE_VOICEOVER,
        JobKind.RECUT_CLIP,
    }
)

# The advisory lock namespace of quota checks ("quot"), apart from the job claims' one.
_QUOTA_LOCK_NAMESPACE = 0x71756F74


def quota_exceeded(used: int, quota: int, needed: int, what: str) -> BadUserInput:
    return BadUserInput(
        f"{what} would exceed the profile's storage quota: {used} of {quota} bytes are "
        f"used and {needed} more are needed",
        usedBytes=used,
        quotaBytes=quota,
        neededBytes=needed,
    )


class StorageQuota:
    """The quota of the session's own profile (a tenant session)."""

    def __init__(self, session: AsyncSession, quota_bytes: int | None) -> None:
        self.session = session
        self.quota = quota_bytes

    def _profile_id(self) -> uuid.UUID:
        profile_id = scope_of(self.session).profile_id
        assert profile_id is not None, "the storage quota is per profile"
        return profile_id

    async def used(self) -> int:
        profile_id = self._profile_id()
        return (await StorageUsageRepository(self.session).used_bytes([profile_id]))[profile_id]

    async def upload_room(self) -> tuple[int, int]:
        """(bytes used, bytes an upload may bring): the room left plus the largest source
        video, which an upload replacing it frees; the resolver checks the exact figure."""
        assert self.quota is not None
        used = await self.used()
        largest = await StorageUsageRepository(self.session).largest_source_bytes(
            self._profile_id()
        )
        return used, max(0, self.quota - used + largest)

    async def upload_cap(self, max_upload_bytes: int, freed: int = 0) -> tuple[int, int]:
        """(the cap for an upload, bytes used now); ``freed``: what the upload replaces."""
        if self.quota is None:
            return max_upload_bytes, 0
        used = await self.used()
        return max(0, min(max_upload_bytes, self.quota - used + freed)), used

    async def check_upload(self, size: int, freed: int = 0) -> None:
        """Once the bytes are copied: still within the quota with what others committed."""
        if self.quota is None:
            return
        used = await self.used() - freed
        if used + size > self.quota:
            raise quota_exceeded(used, self.quota, size, "The upload")

    async def check_written_upload(self, size: int) -> None:
        """After the upload's row holds its ``size`` (flushed): the profile's usage, this
        upload included, read under the profile's quota lock, so that a concurrent upload
        of the profile waits for this transaction and then counts what it committed."""
        if self.quota is None:
            return
        await lock_profile(self.session, _QUOTA_LOCK_NAMESPACE, self._profile_id())
        used = await self.used()
        if used > self.quota:
            raise quota_exceeded(used - size, self.quota, size, "The upload")

    async def check_job(self, kind: str) -> None:
        """A job that writes media needs room: refused at or over the quota."""
        if self.quota is None or kind not in MEDIA_JOB_KINDS:
            return
        used = await self.used()
        if used >= self.quota:
            raise quota_exceeded(used, self.quota, 1, "This job's media")
