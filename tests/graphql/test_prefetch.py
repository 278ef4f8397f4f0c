"""A page of projects loads what its projects' fields ask for in its own turn
(projects/prefetch.py), so those fields complete without a task each (issue 8).

It must change nothing but the work: the same bytes for the same query, errors
included, with fragments, aliases, variables and directives; no statement more; nothing
loaded that the query skips; and a number of tasks per request that no longer grows
with the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.clips.models import Clip
from editai.db.tenancy import SessionFactory
from editai.projects import prefetch
from editai.segments.models import Segment, SegmentKind
from editai.settings import Settings
from tests.api import Api
from tests.api import TestUser as ApiUser
from tests.conftest import make_settings
from tests.statements import recorded_statements

NESTED = """{ projects(first: 20) { edges { node { id name
    clips(first: 2) { edges { node { id startSeconds status } } pageInfo { hasNextPage } }
    segments { id kind startSeconds } voiceovers { id } } } } }"""

DOCUMENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "nested": (NESTED, {}),
    "fragments, aliases, variables": (
        """query($n: Int!, $after: String) { projects { edges { node { ...P
            ... on Project { segments { id } }
            more: clips(first: $n, after: $after) { edges { cursor node { id } } } } } }
          }
          fragment P on Project { name few: clips(first: 1) { edges { node { id } } } }""",
        {"n": 3, "after": None},
    ),
    "directives": (
        """query($skip: Boolean!) { projects { edges { node { id
            clips(first: 2) @skip(if: $skip) { edges { node { id } } }
            segments @include(if: false) { id } } } } }""",
        {"skip": True},
    ),
    "nested bad cursor": (
        """{ projects { edges { node { id
            clips(after: "garbage") { edges { node { id } } } segments { id } } } } }""",
        {},
    ),
    "nested page too large": (
        "{ projects { edges { node { id clips(first: 100000) { edges { node { id } } } } } } }",
        {},
    ),
    "page of one, after a cursor": (
        """query($after: String!) { projects(first: 1) { edges { node { id
            clips(first: 2, after: $after) { edges { node { id } } } } } } }""",
        {"after": "from the first answer"},
    ),
}


async def _seed(api: Api, sessions: SessionFactory, projects: int) -> ApiUser:
    user = await api.new_user()
    profile_id = uuid.UUID(user.default_profile_id)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [uuid.UUID(await user.create_project(f"p{i}")) for i in range(projects)]
    async with sessions.system_transaction() as session:
        for project_id in ids:
            for i in range(3):
                session.add(
                    Clip(
                        profile_id=profile_id,
                        project_id=project_id,
                        variant_index=i,
                        start_seconds=float(i),
                        end_seconds=float(i) + 1,
                        created_at=base + timedelta(minutes=i),
                    )
                )
            for i in range(2):
                session.add(
                    Segment(
                        profile_id=profile_id,
                        project_id=project_id,
                        kind=SegmentKind.SCENE,
                        start_seconds=float(i),
                        end_seconds=float(i) + 0.5,
                    )
                )
    return user


@pytest.fixture
def settings(engine: AsyncEngine, run_dir: Path) -> Settings:
    """No embedded worker: its claim polls run on the same engine and would be counted
    among a request's statements whenever one fell inside the request."""
    url = engine.url.render_as_string(hide_password=False)
    return make_settings(run_dir, url, embedded_worker=False)


@contextlib.contextmanager
def counted_tasks() -> Iterator[list[asyncio.Task[Any]]]:
    loop = asyncio.get_running_loop()
    tasks: list[asyncio.Task[Any]] = []
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        tasks.append(task)
        return task

    loop.set_task_factory(factory)  # type: ignore[arg-type]
    try:
        yield tasks
    finally:
        loop.set_task_factory(previous)


async def _raw(user: ApiUser, query: str, variables: dict[str, Any]) -> bytes:
    response = await user.api.client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {user.token}"},
    )
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize("name", list(DOCUMENTS))
async def test_the_same_bytes_with_and_without_the_head_start(
    api: Api,
    sessions: SessionFactory,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    user = await _seed(api, sessions, projects=4)
    query, variables = DOCUMENTS[name]
    if "after" in variables and variables["after"] == "from the first answer":
        page = (
            await user.gql(
                "{ projects { edges { node { clips(first: 1) { edges { cursor } } } } } }"
            )
        ).ok()
        variables = {"after": page["projects"]["edges"][0]["node"]["clips"]["edges"][0]["cursor"]}
    answers, counts = [], []
    for enabled in (True, False):
        monkeypatch.setattr(prefetch, "ENABLED", enabled)
        with recorded_statements(engine, transactions=False) as statements:
            answers.append(await _raw(user, query, variables))
        counts.append(len(statements))
    assert answers[0] == answers[1], name
    if name.startswith("nested "):
        # The refused clips page nulls the whole page, so the fields after it never ran
        # without the head start; with it, their loads were made (and are unused).
        assert b'"BAD_USER_INPUT"' in answers[0]
    else:
        assert b'"errors"' not in answers[0], answers[0][:300]
        assert counts[0] == counts[1], (name, counts)  # nothing loaded twice, nothing extra


async def test_what_the_query_skips_is_not_loaded(
    api: Api, sessions: SessionFactory, engine: AsyncEngine
) -> None:
    user = await _seed(api, sessions, projects=2)
    query, _ = DOCUMENTS["directives"]
    with recorded_statements(engine, transactions=False) as skipped:
        await _raw(user, query, {"skip": True})
    with recorded_statements(engine, transactions=False) as included:
        await _raw(user, query, {"skip": False})
    assert not any("clips" in s.lower() for s in skipped)
    assert not any("segments" in s.lower() for s in skipped + included)
    assert sum("clips" in s.lower() for s in included) == 1
    assert len(included) == len(skipped) + 1


async def test_tasks_per_request_no_longer_grow_with_the_page(
    api: Api, sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = await _seed(api, sessions, projects=2)
    large = await _seed(api, sessions, projects=12)
    await _raw(small, NESTED, {})  # warm: token cache, statement caches

    async def tasks_of(user: ApiUser) -> int:
        with counted_tasks() as tasks:
            await _raw(user, NESTED, {})
        return len(tasks)

    with_head_start = (await tasks_of(small), await tasks_of(large))
    monkeypatch.setattr(prefetch, "ENABLED", False)
    without = (await tasks_of(small), await tasks_of(large))
    assert with_head_start[0] == with_head_start[1], with_head_start
    # The control: without it, every project's clips/segments/voiceovers make tasks.
    assert without[1] - without[0] >= 10 * 3, without
