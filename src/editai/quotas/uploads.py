"""The storage quota on an upload's HTTP body, before a byte of it is read.

A multipart request names its profile in its headers; once that profile is known, the
body's cap (``EDITAI_MAX_UPLOAD_BYTES`` plus the form's framing) is lowered to the room
the profile has left, so a body past the quota is refused on its ``Content-Length`` or
as soon as the bytes received pass it, and never spooled whole. The upload's resolver
then checks the exact figure (projects/source_video.py), counting what it replaces.
"""

from __future__ import annotations

from starlette.requests import Request

from editai.errors import BadUserInput
from editai.graphql.operation import current_operation
from editai.graphql.uploads import BodyCap
from editai.quotas.service import StorageQuota, quota_exceeded
from editai.settings import Settings


def _declared_length(request: Request) -> int | None:
    try:
        return int(request.headers.get("content-length", ""))
    except ValueError:
        return None


async def cap_body_to_quota(request: Request, settings: Settings, overhead: int) -> None:
    """Lower the request's body cap to the profile's room; raise if the declared body
    is already past it (BAD_USER_INPUT with the numbers)."""
    quota = settings.profile_storage_quota_bytes
    if quota is None:
        return
    cap: BodyCap = request.state.body_cap
    async with current_operation().read() as session:
        used, room = await StorageQuota(session, quota).upload_room()
    if room + overhead >= cap.limit:
        return
    cap.limit = room + overhead
    declared = _declared_length(request)
    refusal: BadUserInput = quota_exceeded(
        used,
        quota,
        declared if declared is not None else room + 1,  # at least that much: it passed
        "The upload",
    )
    cap.refusal = refusal
    if declared is not None and declared > cap.limit:
        raise refusal
