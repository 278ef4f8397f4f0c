"""A schema-driven fuzz of a running server: operations drawn from the schema
(tests/robustness/generation.py), sent by several concurrent clients for a bounded time.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import string
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx

from tests.robustness.client import Answer, bearer, collect_ids, post, post_upload
from tests.robustness.generation import (
    BatchSpec,
    draw_batch,
    load_schema,
    operation_fields,
    root_fields,
    schedule,
)
from tests.robustness.seed import CREATE_PROFILE, Tenant, World

# Ids collected from answers are kept up to this many (the seeded ones always stay).
MAX_POOL = 2000
# One case in this many is a multipart upload (uploadSourceVideo with a real file part):
# JSON bodies cannot carry an Upload, so the generator alone never reaches that path.
UPLOAD_EVERY = 25


def default_generators() -> int:
    """Drawing processes: EDITAI_FUZZ_GENERATORS, else one core left to the server."""
    given = os.environ.get("EDITAI_FUZZ_GENERATORS")
    return int(given) if given else max(1, (os.cpu_count() or 2) - 1)


class IdPool:
    """Ids the generator puts into ID arguments: seeded ones (this user's and other
    users'), and every id seen in an answer since."""

    def __init__(self, seeded: list[str]) -> None:
        self.ids = list(dict.fromkeys(seeded))
        self._known = set(self.ids)

    def add(self, found: set[str]) -> None:
        for value in found - self._known:
            if len(self.ids) >= MAX_POOL:
                return
            self._known.add(value)
            self.ids.append(value)

    def pick(self, i: int) -> str:
        return self.ids[i % len(self.ids)]


@dataclass
class Failure:
    client: int
    query: str
    variables: dict[str, Any]
    problems: list[str]
    answer: str


@dataclass
class FuzzReport:
    seconds: float
    cases: int = 0
    uploads: int = 0
    answered_ok: int = 0
    failures: list[Failure] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    fields: Counter[str] = field(default_factory=Counter)
    slowest: float = 0.0

    @property
    def per_minute(self) -> float:
        return self.cases * 60.0 / self.seconds if self.seconds else 0.0

    def describe(self, failures_shown: int = 10) -> str:
        lines = [
            f"{self.cases} cases in {self.seconds:.1f} s ({self.per_minute:.0f} per 60 s), "
            f"{self.uploads} multipart uploads, {self.answered_ok} without errors, "
            f"slowest answer {self.slowest:.2f} s, {len(self.failures)} failing",
            f"error codes: {dict(self.codes.most_common())}",
        ]
        for f in self.failures[:failures_shown]:
            lines.append(
                f"--- client {f.client}: {f.problems}\n{f.query}\n"
                f"variables: {f.variables}\nanswer: {f.answer}"
            )
        return "\n".join(lines)


class _Client:
    """One fuzzing client: a user's token and a profile (explicit X-Profile-Id, or the
    default profile with no header). If the fuzz deletes that profile, the client makes
    a new one and goes on there, so that the rest of its budget still reaches data."""

    def __init__(self, index: int, tenant: Tenant, explicit: bool) -> None:
        self.index = index
        self.tenant = tenant
        self.profile_id: str | None = tenant.profile_id if explicit else None

    def headers(self) -> dict[str, str]:
        return bearer(self.tenant.token, self.profile_id)

    def lost_profile(self, answer: Answer) -> bool:
        return self.profile_id is not None and any(
            e.get("message") == "Profile not found" for e in answer.errors
        )

    async def new_profile(self, http: httpx.AsyncClient, pool: IdPool) -> None:
        made = await post(
            http,
            CREATE_PROFILE,
            {"input": {"name": f"{self.tenant.marker}:fuzz {uuid.uuid4().hex[:6]}"}},
            bearer(self.tenant.token),
        )
        data = made.data or {}
        if isinstance(data, dict) and data.get("createProfile"):
            self.profile_id = str(data["createProfile"]["id"])
            pool.add({self.profile_id})


async def _produce(
    executor: ProcessPoolExecutor,
    specs: Iterator[BatchSpec],
    pool: IdPool,
    queue: asyncio.Queue[str],
    in_flight: int,
) -> None:
    """Keep ``in_flight`` batches being drawn; queue their operations in schedule order."""
    loop = asyncio.get_running_loop()
    pending: deque[asyncio.Future[list[str]]] = deque()
    while True:
        while len(pending) < in_flight:
            job = partial(draw_batch, next(specs), list(pool.ids))
            pending.append(loop.run_in_executor(executor, job))
        for operation in await pending.popleft():
            await queue.put(operation)


async def run_fuzz(
    base_url: str,
    world: World,
    *,
    seconds: float,
    clients: int,
    base_seed: int,
    video: bytes,
    generators: int | None = None,
    on_case: Callable[[int], None] | None = None,
) -> FuzzReport:
    """Fuzz for ``seconds``: ``clients`` concurrent clients of the world's first user
    (its profiles, with and without X-Profile-Id), ids of every user in the pool."""
    fields = root_fields(load_schema())
    pool = IdPool(world.ids())
    report = FuzzReport(seconds=seconds)
    queue: asyncio.Queue[str] = asyncio.Queue(maxsize=400)
    mine = world.of_user(world.tenants[0].user_id)
    rng = random.Random(base_seed)

    def record(client: _Client, query: str, variables: dict[str, Any], answer: Answer) -> None:
        report.cases += 1
        report.slowest = max(report.slowest, answer.seconds)
        report.codes.update(answer.codes)
        problems = answer.problems()
        if problems:
            report.failures.append(
                Failure(client.index, query, variables, problems, answer.short())
            )
        elif not answer.errors:
            report.answered_ok += 1
        if answer.data is not None:
            found: set[str] = set()
            collect_ids(answer.data, found)
            pool.add(found)
        if on_case is not None:
            on_case(report.cases)

    async def upload_case(http: httpx.AsyncClient, client: _Client) -> None:
        # A real video or junk bytes, into a project id from the pool (or a made-up one).
        project_id = pool.pick(rng.randrange(1 << 30)) if rng.random() < 0.9 else "x"
        content = video if rng.random() < 0.5 else rng.randbytes(rng.randrange(0, 4096))
        name = "".join(rng.choices(string.printable, k=rng.randrange(1, 30)))
        query = (
            "mutation($projectId: ID!, $file: Upload!) { uploadSourceVideo("
            "projectId: $projectId, file: $file) { id status sourceVideo { durationSeconds } } }"
        )
        variables = {"projectId": project_id}
        answer = await post_upload(
            http, query, variables, "file", (name, content, "video/mp4"), client.headers()
        )
        report.uploads += 1
        report.fields["uploadSourceVideo"] += 1
        record(client, query, {**variables, "file": f"<{len(content)} bytes>"}, answer)

    async def run_client(client: _Client, deadline: float) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            while time.monotonic() < deadline:
                if rng.randrange(UPLOAD_EVERY) == 0:
                    await upload_case(http, client)
                    continue
                try:
                    query = await asyncio.wait_for(queue.get(), deadline - time.monotonic())
                except TimeoutError:
                    return
                report.fields.update(operation_fields(query))
                answer = await post(http, query, headers=client.headers())
                record(client, query, {}, answer)
                if client.lost_profile(answer):
                    await client.new_profile(http, pool)

    count = generators or default_generators()
    # spawn: the drawing processes share nothing with this one (its event loop, threads,
    # sockets), and import only the generator module.
    executor = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"))
    producer = asyncio.create_task(
        _produce(executor, schedule(fields, base_seed), pool, queue, in_flight=2 * count)
    )
    try:
        # The first batch is drawn before the clock starts: spawning the processes and
        # building the strategies is not the server's time.
        first = await queue.get()
        queue.put_nowait(first)
        started = time.monotonic()
        deadline = started + seconds
        workers = []
        for i in range(clients):
            tenant = mine[i % len(mine)]
            # Client 0 (and every fourth) uses the default profile without X-Profile-Id.
            workers.append(_Client(i, tenant, explicit=not tenant.is_default or i % 4 == 2))
        await asyncio.gather(*(run_client(c, deadline) for c in workers))
        report.seconds = time.monotonic() - started
    finally:
        producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(
            None, partial(executor.shutdown, wait=True, cancel_futures=True)
        )
    return report
