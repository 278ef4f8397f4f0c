"""The GraphiQL page and its files as HTTP answers (the browser tests run the page itself)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.app import create_app
from editai.graphiql import page
from editai.graphiql.assets import ASSET_FILES, assets_dir, problems
from editai.graphiql.page import GraphiQLPage
from editai.settings import Environment
from tests.conftest import make_settings, running_app

HTML = {"Accept": "text/html"}
PINNED = {asset.name: asset.sha256 for asset in ASSET_FILES}


@asynccontextmanager
async def http(
    engine: AsyncEngine, run_dir: Path, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(run_dir, engine.url.render_as_string(hide_password=False), **overrides)
    async with running_app(settings, engine) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def served_paths(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_the_installed_files_are_the_pinned_ones() -> None:
    """scripts/bootstrap.sh installed them (python -m editai.graphiql.install)."""
    assert problems(assets_dir()) == []


async def test_the_page_loads_only_files_of_this_server(
    sqlite_engine: AsyncEngine, run_dir: Path
) -> None:
    async with http(sqlite_engine, run_dir) as client:
        answer = await client.get("/graphql", headers=HTML)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/html")
        html = answer.text
        assert "<style" not in html
        assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []  # no inline script
        paths = served_paths(html)
        assert paths[0] == "data:,"  # the icon: no /favicon.ico request
        files = paths[1:]
        assert len(files) == len(ASSET_FILES) + 2  # and our own script and style
        names = set()
        for path in files:
            assert path.startswith("/graphql/assets/"), path
            got = await client.get(path)
            assert got.status_code == 200, path
            name = path.rsplit("/", 1)[1]
            names.add(name)
            expected_type = "text/css" if name.endswith(".css") else "text/javascript"
            assert got.headers["content-type"].split(";")[0] == expected_type
            assert got.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert got.headers["x-content-type-options"] == "nosniff"
            digest = hashlib.sha256(got.content).hexdigest()
            assert path.split("/")[3] == digest[:16]  # the URL names the bytes
            if name in PINNED:
                assert digest == PINNED[name]
        assert set(PINNED) <= names
        assert {"editai-graphiql.js", "editai-graphiql.css"} <= names

        for wrong in (
            "/graphql/assets/0000000000000000/graphiql.min.js",  # a stale digest
            "/graphql/assets/" + files[0].split("/")[3] + "/other.js",
            "/graphql/assets/x/../../../etc/passwd",
        ):
            assert (await client.get(wrong)).status_code == 404, wrong


async def test_the_policy_allows_this_origin_and_its_websocket_only(
    sqlite_engine: AsyncEngine, run_dir: Path
) -> None:
    async with http(sqlite_engine, run_dir) as client:
        answer = await client.get("/graphql", headers={**HTML, "Host": "editai.test:8443"})
        policy = dict(
            part.strip().split(" ", 1)
            for part in answer.headers["content-security-policy"].split(";")
        )
        assert policy["default-src"] == "'self'"
        assert policy["script-src"] == "'self'"
        assert policy["style-src"] == "'self'"
        # 'self' covers the same host's ws:/wss: only from CSP Level 3 on: named as well.
        assert policy["connect-src"] == "'self' ws://editai.test:8443 wss://editai.test:8443"
        # graphiql.min.css carries its fonts and icons as data: URLs (no request).
        assert policy["font-src"] == "'self' data:"
        assert policy["img-src"] == "'self' data:"
        assert policy["object-src"] == "'none'"
        assert policy["frame-ancestors"] == "'none'"
        assert answer.headers["x-content-type-options"] == "nosniff"

        # A Host header that is not a plain host[:port] never reaches the policy.
        forged = await client.get("/graphql", headers={**HTML, "Host": "a.test; script-src *"})
        policy_text = forged.headers["content-security-policy"]
        assert "connect-src 'self';" in policy_text
        assert "*" not in policy_text


def test_the_page_script_gives_the_headers_pane_to_the_websocket() -> None:
    """What the browser test shows, read in the sources: the page passes subscriptionUrl,
    and the pinned graphiql's createGraphiQLFetcher merges the Headers pane into
    graphql-ws's connectionParams (the connection_init payload) for it."""
    script = (Path(page.__file__).parent / "static" / "editai-graphiql.js").read_text()
    assert "GraphiQL.createFetcher(" in script
    assert "subscriptionUrl:" in script
    graphiql = (assets_dir() / "graphiql.min.js").read_text()
    assert (
        "if (options.subscriptionUrl) return createWebsocketsFetcherFromUrl("
        "options.subscriptionUrl, (0, _chunkLMOQIXV.__spreadValues)((0, "
        "_chunkLMOQIXV.__spreadValues)({}, options.wsConnectionParams), fetcherOpts == null "
        "? void 0 : fetcherOpts.headers));"
    ) in graphiql
    assert "createClient({\n      url,\n      connectionParams\n    })" in graphiql


async def assert_no_graphiql_route(engine: AsyncEngine, run_dir: Path, **overrides: Any) -> None:
    paths = [served.path for served in GraphiQLPage.load().files.values()]
    async with http(engine, run_dir, **overrides) as client:
        page_answer = await client.get("/graphql", headers=HTML)
        assert page_answer.status_code == 404
        assert "graphiql" not in page_answer.text.lower()
        for path in paths:
            assert (await client.get(path)).status_code == 404, path
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(make_settings(run_dir, url, **overrides), engine=engine)
    routes = [getattr(route, "path", "") for route in app.routes]
    assert "/graphql" in routes
    assert [r for r in routes if r.startswith("/graphql/")] == []


async def test_no_route_in_production(
    pg_engine: AsyncEngine, run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EDITAI_GRAPHIQL_ENABLED", raising=False)  # off by default there
    await assert_no_graphiql_route(pg_engine, run_dir, env=Environment.production)


async def test_no_route_when_turned_off(sqlite_engine: AsyncEngine, run_dir: Path) -> None:
    await assert_no_graphiql_route(sqlite_engine, run_dir, graphiql_enabled=False)


async def test_missing_files_answer_503_saying_how_to_install_them(
    sqlite_engine: AsyncEngine, run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "no-assets"
    empty.mkdir()
    (empty / "graphiql.min.js").write_text("// not the pinned file\n")
    monkeypatch.setattr(page, "assets_dir", lambda: empty)
    async with http(sqlite_engine, run_dir) as client:
        answer = await client.get("/graphql", headers=HTML)
        assert answer.status_code == 503
        error = answer.json()["errors"][0]
        assert "python -m editai.graphiql.install" in error["message"]
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        # The changed file is not served; the API itself works.
        assert (await client.get("/graphql/assets/0/graphiql.min.js")).status_code == 404
        health = await client.post("/graphql", json={"query": "{ health { status } }"})
        assert health.json() == {"data": {"health": {"status": "ok"}}}
    loaded = GraphiQLPage.load(empty)
    assert "graphiql.min.js" not in loaded.files
    assert any("graphiql.min.js: sha256 differs" in p for p in loaded.problems)
    assert any("react.production.min.js: missing" in p for p in loaded.problems)
