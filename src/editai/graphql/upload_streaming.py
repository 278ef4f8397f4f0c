"""A file part that goes to the media store while the request body is still arriving.

With a store that takes streams (S3: ``media/storage/s3_upload.py``), each file part is
written twice as it is parsed: into a named local spool file under ``<temp>/uploads``
(the probe runs on it: ffprobe needs a seekable local file) and into the store's
streaming upload, part by part. The bytes are already in the bucket when the body ends,
so storing an accepted upload is one server-side copy, not a second upload.

Whoever ends the request ends the stream: ``close()`` (``request.close()``, always
called by the view) discards what was not stored, and a parse that fails (the size cap
passed, the client gone, a malformed body, cancellation) discards at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from starlette.datastructures import Headers, UploadFile

from editai.media.storage import StreamingUpload


class StreamedUploadFile(UploadFile):
    def __init__(
        self,
        file: IO[bytes],
        *,
        filename: str | None,
        headers: Headers,
        spool_path: Path,
        streamed: StreamingUpload,
    ) -> None:
        super().__init__(file, size=0, filename=filename, headers=headers)  # type: ignore[arg-type]
        self.spool_path = spool_path
        self.streamed = streamed

    async def write(self, data: bytes) -> None:
        await super().write(data)  # the local spool, off the event loop
        await self.streamed.write(data)  # waits while a part is in flight: backpressure

    async def close(self) -> None:
        try:
            await self.streamed.discard()  # a no-op once stored
        finally:
            await super().close()  # a named temp file: removed on close
