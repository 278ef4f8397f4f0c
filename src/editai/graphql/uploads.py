"""HTTP side of file uploads on /graphql (GraphQL multipart request spec).

- CSRF prevention (as Apollo Server does it): a POST a browser could send cross-site
  without a CORS preflight (a "simple" content type) must carry a header that forces
  one, else it is refused before anything is read.
- A cap on the request body: refused on ``Content-Length`` up front, and the bytes
  actually received are counted (chunked bodies), stopping as soon as the cap is passed.
- File parts spool to anonymous temp files under ``<temp>/uploads`` (memory stays flat;
  never /tmp, which may be RAM), closed when the request ends. With a store that takes
  streams (S3), they spool to named files there and stream on into the store as they
  arrive (``upload_streaming.py``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from tempfile import NamedTemporaryFile, SpooledTemporaryFile

from cross_web import FormData as AdapterFormData
from cross_web import StarletteRequestAdapter
from python_multipart.multipart import parse_options_header
from starlette.datastructures import FormData, Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Message, Receive

from editai.errors import AppError
from editai.graphql.upload_streaming import StreamedUploadFile
from editai.media.storage import StreamingUpload
from editai.metrics import count_errors

StartUpload = Callable[[], StreamingUpload | None]

# Browsers send these cross-site with no preflight (CORS "simple" requests).
SIMPLE_CONTENT_TYPES = frozenset(
    {"multipart/form-data", "application/x-www-form-urlencoded", "text/plain"}
)
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")
CSRF_MESSAGE = (
    "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). "
    "Please either specify a 'content-type' header (with a type that is not one of "
    "application/x-www-form-urlencoded, multipart/form-data, text/plain) or provide a "
    "non-empty value for one of the following headers: "
    "Apollo-Require-Preflight, X-Apollo-Operation-Name"
)
# Room for the non-file parts (operations, map) and the multipart framing, so a file of
# exactly max_upload_bytes still fits; the file itself is checked against the cap too.
FORM_OVERHEAD_BYTES = 64 * 1024
MAX_FILES_PER_REQUEST = 1  # the schema has a single Upload argument
MAX_FIELDS_PER_REQUEST = 8
MAX_FIELD_BYTES = FORM_OVERHEAD_BYTES


class RequestBodyTooLarge(Exception):
    """The request body passed the cap while it was being received."""


class BodyCap:
    """The request body's cap; an upload lowers it to its profile's storage quota room
    once the profile is known (before the body is read), with the refusal to answer."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.refusal: AppError | None = None  # None: the plain "larger than the maximum"


class UploadRefused(Exception):
    """A multipart request refused on its headers (no valid identity/profile)."""

    STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "BAD_USER_INPUT": 413}

    def __init__(self, error: AppError) -> None:
        super().__init__(error.message)
        self.error = error
        self.status_code = self.STATUS.get(error.code, 400)


def graphql_error_response(
    message: str, status_code: int, code: str = "BAD_USER_INPUT", **extensions: object
) -> JSONResponse:
    """A refusal shaped like a GraphQL response, so clients show it like any other error."""
    count_errors([code])
    return JSONResponse(
        {
            "data": None,
            "errors": [{"message": message, "extensions": {**extensions, "code": code}}],
        },
        status_code=status_code,
    )


def too_large_response(max_upload_bytes: int) -> JSONResponse:
    return graphql_error_response(
        f"The upload is larger than the maximum of {max_upload_bytes} bytes", 413
    )


def is_csrf_risk(request: Request) -> bool:
    """True for a POST a browser may send cross-site unpreflighted, without a preflight header."""
    if request.method != "POST":
        return False
    if any(request.headers.get(name, "").strip() for name in PREFLIGHT_HEADERS):
        return False
    content_type = request.headers.get("content-type")
    if content_type is None:
        return True  # no type at all: a browser can send that too (Apollo blocks it as well)
    # An unparseable type is never "simple": the browser would preflight it.
    essence, _ = parse_options_header(content_type)
    return essence.decode("latin-1").strip().lower() in SIMPLE_CONTENT_TYPES


def is_multipart(request: Request) -> bool:
    essence, _ = parse_options_header(request.headers.get("content-type", ""))
    return request.method == "POST" and essence.lower() == b"multipart/form-data"


def declared_too_large(request: Request, max_body_bytes: int) -> bool:
    try:
        return int(request.headers.get("content-length", "")) > max_body_bytes
    except ValueError:
        return False  # absent or malformed: the counting receive below still applies


def capped_receive(receive: Receive, cap: BodyCap) -> Receive:
    """``receive`` that raises RequestBodyTooLarge once more than ``cap.limit`` arrived."""
    received = 0

    async def receive_capped() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > cap.limit:
                raise RequestBodyTooLarge
        return message

    return receive_capped


class SpoolingMultiPartParser(MultiPartParser):
    """Starlette's parser, with file parts spooled to temp files in ``spool_dir`` and,
    when ``start_upload`` gives a streaming upload, sent into the store as they arrive."""

    def __init__(
        self,
        headers: Headers,
        stream: AsyncGenerator[bytes, None],
        *,
        spool_dir: Path,
        max_files: int,
        max_fields: int,
        max_part_size: int,
        start_upload: StartUpload | None = None,
    ) -> None:
        super().__init__(
            headers,
            stream,
            max_files=max_files,
            max_fields=max_fields,
            max_part_size=max_part_size,
        )
        self.spool_dir = spool_dir
        self.start_upload = start_upload
        self._streams: list[StreamingUpload] = []

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        upload = self._current_part.file
        streamed = self.start_upload() if upload is not None and self.start_upload else None
        if upload is not None and streamed is not None:
            # A named file (ffprobe reads it by path), removed when it is closed.
            named = NamedTemporaryFile(  # noqa: SIM115 - closed with the form
                dir=self.spool_dir, prefix=".upload-", suffix=".part"
            )
            self._files_to_close_on_error[-1].close()
            self._files_to_close_on_error[-1] = named  # type: ignore[call-overload]
            self._streams.append(streamed)
            self._current_part.file = StreamedUploadFile(
                named,
                filename=upload.filename,
                headers=upload.headers,
                spool_path=Path(named.name),
                streamed=streamed,
            )
        elif upload is not None:
            # Swap the spool file Starlette just made (rolls over into the default temp
            # dir) for one that rolls over into ours; it has received no data yet. It is
            # closed with the form (request.close()).
            spooled: SpooledTemporaryFile[bytes] = SpooledTemporaryFile(  # noqa: SIM115
                max_size=self.spool_max_size, dir=str(self.spool_dir)
            )
            self._files_to_close_on_error[-1].close()
            self._files_to_close_on_error[-1] = spooled
            upload.file = spooled  # type: ignore[assignment]

    async def parse(self) -> FormData:
        try:
            return await super().parse()
        except BaseException:
            # Cap passed, client gone, malformed, cancelled: nothing stays in the store.
            for streamed in self._streams:
                await streamed.discard()
            raise


async def parse_multipart_form(
    request: Request, spool_dir: Path, start_upload: StartUpload | None = None
) -> FormData:
    """Parse a multipart body; the form is kept on the request, so ``request.close()`` closes it."""
    parser = SpoolingMultiPartParser(
        Headers(scope=request.scope),
        request.stream(),
        max_files=MAX_FILES_PER_REQUEST,
        max_fields=MAX_FIELDS_PER_REQUEST,
        max_part_size=MAX_FIELD_BYTES,
        spool_dir=spool_dir,
        start_upload=start_upload,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ValueError(exc.message) from exc  # strawberry answers 400
    request._form = form  # Starlette's own slot: Request.close() closes the spool files
    return form


class UploadRequestAdapter(StarletteRequestAdapter):
    """strawberry's Starlette adapter, parsing multipart bodies with the spooling parser."""

    def __init__(
        self, request: Request, spool_dir: Path, start_upload: StartUpload | None = None
    ) -> None:
        super().__init__(request)
        self.spool_dir = spool_dir
        self.start_upload = start_upload

    @property
    def starlette_request(self) -> Request:
        return self._request

    async def get_form_data(self) -> AdapterFormData:
        form = await parse_multipart_form(self._request, self.spool_dir, self.start_upload)
        return AdapterFormData(files=form, form=form)
