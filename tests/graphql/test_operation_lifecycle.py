"""An operation releases its session, connection and locks however it ends (issue 7).

Each test here failed on the code before the operation gate (graphql/operation.py):
the nested bad cursor left SQLite's write lock held and PostgreSQL connections idle in
transaction; a dead database during authentication answered plain text.
"""

from __future__ import annotations

import time

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.settings import Settings
from tests.api import Api
from tests.graphql.lifecycle import nothing_held, quiet_app, sqlite_write_lock

NESTED_BAD_CURSOR = """{ projects { edges { node { id
    clips(first: 5, after: "garbage") { edges { node { id } } }
    segments { id } voiceovers { id } } } } }"""
NESTED_OK = """{ projects { edges { node { id
    clips(first: 5) { edges { node { id } } } segments { id } voiceovers { id } } } } }"""


async def test_nested_bad_cursor_fails_alone_and_releases_everything(
    quiet_api: Api, engine: AsyncEngine
) -> None:
    user = await quiet_api.new_user()
    for i in range(4):
        await user.create_project(f"p{i}")

    for _ in range(3):
        bad = await user.gql(NESTED_BAD_CURSOR)
        assert bad.status_code == 200
        assert set(bad.codes) == {"BAD_USER_INPUT"}, bad
        assert bad.data is None  # projects is non-null: the error bubbles to the root
        await nothing_held(engine)

    # The server is not wedged: every later request answers at once.
    for _ in range(10):
        started = time.monotonic()
        ok = await user.gql(NESTED_OK)
        assert len(ok.ok()["projects"]["edges"]) == 4
        assert time.monotonic() - started < 1.0
    await user.create_project("after")  # and writes still go through
    await nothing_held(engine)


async def test_field_errors_in_many_branches_release_everything(
    quiet_api: Api, engine: AsyncEngine
) -> None:
    """Aliases fail at different moments while loaders of other branches are in flight."""
    user = await quiet_api.new_user()
    for i in range(3):
        await user.create_project(f"p{i}")
    query = (
        "{ "
        + " ".join(
            f"a{i}: projects {{ edges {{ node {{ segments {{ id }} voiceovers {{ id }} "
            f'clips(after: "{"garbage" if i % 2 else ""}") {{ edges {{ node {{ id }} }} }} }} }} }}'
            for i in range(6)
        )
        + " }"
    )
    result = await user.gql(query)
    assert "BAD_USER_INPUT" in result.codes
    assert "INTERNAL_SERVER_ERROR" not in result.codes, result
    await nothing_held(engine)


async def test_operation_timeout_answers_with_a_code_and_writes_nothing(
    settings: Settings, engine: AsyncEngine, backend: str
) -> None:
    async with quiet_app(settings, engine, operation_timeout_seconds=0.5) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            api = Api(c, settings)
            user = await api.new_user()
            project_id = await user.create_project("before")
            rename = (
                'mutation($id: ID!) { updateProject(id: $id, input: {name: "after"}) { name } }'
            )
            if backend == "sqlite":
                with sqlite_write_lock(engine):  # a stuck writer elsewhere
                    result = await user.gql(rename, {"id": project_id})
            else:
                async with engine.connect() as blocker:
                    await blocker.execute(
                        text("SELECT id FROM projects WHERE id = :id FOR UPDATE"),
                        {"id": project_id},
                    )
                    result = await user.gql(rename, {"id": project_id})
                    await blocker.rollback()
            assert result.status_code == 200
            assert result.codes == ["INTERNAL_SERVER_ERROR"], result
            assert result.errors[0]["extensions"]["retryable"] is True
            await nothing_held(engine)
            name = (await user.gql(f'{{ project(id: "{project_id}") {{ name }} }}')).ok()
            assert name["project"]["name"] == "before"
