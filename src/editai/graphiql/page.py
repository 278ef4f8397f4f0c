"""The GraphiQL page and every file it loads, served by this server and nothing else.

Replaces strawberry's page, which loads its scripts from a CDN (and stays on "Loading..."
offline). The pinned third-party files (graphiql/assets.py) are read and checked against
their sha256 once, when the app is built, and then served from memory: what was checked
is what is sent. Each is served under its digest (``/graphql/assets/<digest>/<name>``), so
it can be cached for good. The page has no inline script or style, and its
Content-Security-Policy allows only this origin (plus the same host's WebSocket for
subscriptions, and ``data:`` fonts and images, which graphiql.min.css embeds).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from editai.graphiql.assets import ASSET_FILES, assets_dir, read_pinned, sha256_of
from editai.http_errors import error_body
from editai.logging import get_logger

log = get_logger(__name__)

ASSETS_PREFIX = "/graphql/assets"
# Ours, shipped in the package (graphiql/static/): the page's script and style.
OWN_FILES = ("editai-graphiql.css", "editai-graphiql.js")
STYLES = ("graphiql.min.css", "plugin-explorer.css", "editai-graphiql.css")
SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "plugin-explorer.umd.js",
    "editai-graphiql.js",
)
# Fixed, not guessed: mimetypes' answer for .js depends on the machine's mime.types.
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
INSTALL_HINT = "run `python -m editai.graphiql.install` (scripts/bootstrap.sh runs it)"
# A Host header is put in the policy only when it is a plain host[:port].
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


@dataclass(frozen=True, slots=True)
class ServedFile:
    name: str
    body: bytes
    digest: str

    @property
    def path(self) -> str:
        return f"{ASSETS_PREFIX}/{self.digest[:16]}/{self.name}"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[Path(self.name).suffix]


def content_security_policy(request: Request) -> str:
    """Only this origin. 'self' covers ws:/wss: of the same host in CSP Level 3 only, so the
    page's own host is also named for its WebSocket (from the Host header, when well formed)."""
    connect = "'self'"
    host = request.headers.get("host", "")
    if _HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"connect-src {connect}",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


class GraphiQLPage:
    """The page and its files; ``problems`` says what is missing when it cannot be served."""

    def __init__(self, files: dict[str, ServedFile], problems: list[str]) -> None:
        self.files = files
        self.problems = problems
        self._by_path = {served.path: served for served in files.values()}

    @classmethod
    def load(cls, folder: Path | None = None) -> GraphiQLPage:
        bodies, found = read_pinned(folder or assets_dir())
        files = {
            asset.name: ServedFile(asset.name, bodies[asset.name], asset.sha256)
            for asset in ASSET_FILES
            if asset.name in bodies
        }
        if found:
            log.error(
                "GraphiQL's files are missing or changed: the page answers 503 until they "
                f"are installed; {INSTALL_HINT}",
                problems=found,
            )
        static = resources.files(__package__) / "static"
        for name in OWN_FILES:
            body = (static / name).read_bytes()
            files[name] = ServedFile(name, body, sha256_of(body))
        return cls(files, found)

    def routes(self) -> list[Route]:
        return [
            Route(f"{ASSETS_PREFIX}/{{digest}}/{{name}}", self.serve_file, methods=["GET", "HEAD"])
        ]

    async def serve_file(self, request: Request) -> Response:
        served = self._by_path.get(request.url.path)
        if served is None:
            return JSONResponse(error_body("Not Found", "NOT_FOUND"), status_code=404)
        return Response(
            served.body,
            media_type=served.media_type,
            headers={
                # The URL changes whenever the bytes do.
                "Cache-Control": "public, max-age=31536000, immutable",
                "ETag": f'"{served.digest}"',
                "X-Content-Type-Options": "nosniff",
            },
        )

    def render(self, request: Request) -> Response:
        if self.problems:
            message = f"GraphiQL's files are not installed: {INSTALL_HINT}"
            return JSONResponse(error_body(message, "INTERNAL_SERVER_ERROR"), status_code=503)
        links = "".join(
            f'<link rel="stylesheet" href="{html.escape(self.files[n].path)}">\n' for n in STYLES
        )
        scripts = "".join(
            f'<script src="{html.escape(self.files[n].path)}" defer></script>\n' for n in SCRIPTS
        )
        page = (
            '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            "<title>EditAI GraphiQL</title>\n"
            # No /favicon.ico request (a 404 in the console).
            '<link rel="icon" href="data:,">\n'
            f"{links}{scripts}</head>\n<body>\n"
            '<div id="graphiql">Loading...</div>\n</body>\n</html>\n'
        )
        return HTMLResponse(
            page,
            headers={
                "Content-Security-Policy": content_security_policy(request),
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )
