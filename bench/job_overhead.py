"""Overhead of the job system on a real FFmpeg job: generateRawClips vs the same cuts run
directly.

Source: a 60 s 1280x720 30 fps H.264/AAC video made with FFmpeg (four scenes, a tone
with silent stretches), uploaded through the API into an app built by ``create_app``
(embedded worker, ``worker_concurrency=1``) on a throw-away PostgreSQL database; its
segments are extracted first (``extractSegments``, not timed), so no analysis is
included in what is timed.

Per round, in alternating order (job first, then direct first, ...):

* ``job``: ``generateRawClips(variantCount: 5, clipSeconds: 10, aspect: R9_16,
  accurate: true)`` sent through the app (``httpx.ASGITransport``), timed from just before
  the request to the job's ``finished_at``. Included: the mutation (validation, the jobs
  row, NOTIFY), the worker's wake-up and claim, loading the source and the stored
  segments, choosing the windows, the five cuts with their progress writes, the probe of
  each clip, moving the files into place, the clips rows, marking SUCCEEDED.
* ``direct``: ``editai.media.render.cut_clip`` with the same windows (computed by
  ``choose_windows`` from the stored segments, as the task does, and checked against the
  job's clips), the same source, aspect, mode, preset and CRF, one after another, into a
  temp dir, no progress callback.

Both run one FFmpeg at a time. Within the job, time spent in ``cut_clip``, in the clip
probes, in the moves and in progress writes is measured by wrapping those functions
(in-process), so what the job adds is attributed.

Prints every round, the median ratio job/direct and a SUMMARY line; target <= 1.15.

    .venv/bin/python bench/job_overhead.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select

from _common import (
    machine_note,
    make_settings,
    make_test_video,
    migrated_engine,
    postgres_database,
    quiet_logs,
    scratch_dir,
)

TARGET = 1.15
SOURCE_SECONDS = 60
CLIPS = {"variantCount": 5, "clipSeconds": 10, "aspect": "R9_16", "accurate": True}


@dataclass
class Timer:
    """Seconds spent inside a wrapped coroutine function (and how many calls)."""

    seconds: float = 0.0
    calls: int = 0

    def wrap(self, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0
                self.calls += 1

        return timed


@dataclass
class JobRound:
    wall: float
    queued: float  # request sent -> started_at
    timers: dict[str, Timer] = field(default_factory=dict)


async def bench(args: argparse.Namespace) -> int:
    import editai.clips.tasks as clip_tasks
    from editai.app import create_app
    from editai.auth.tokens import mint_token
    from editai.clips.models import Clip
    from editai.jobs.models import Job, JobStatus
    from editai.media.analysis import SpanScore
    from editai.media.binaries import find_binaries
    from editai.media.render import cut_clip
    from editai.media.windows import choose_windows
    from editai.projects.models import Project
    from editai.segments.models import Segment

    quiet_logs()
    machine = machine_note()
    binaries = find_binaries()
    rounds: list[tuple[JobRound, float]] = []
    with scratch_dir() as tmp:
        source = tmp / "source.mp4"
        await make_test_video(source, SOURCE_SECONDS)
        async with postgres_database() as url:
            settings = make_settings(tmp / "app", url, worker_concurrency=1)
            async with migrated_engine(settings) as engine:
                app = create_app(settings, engine=engine)
                runtime = app.state.runtime
                async with app.router.lifespan_context(app):
                    transport = httpx.ASGITransport(app=app)
                    async with httpx.AsyncClient(
                        transport=transport, base_url="http://bench", timeout=None
                    ) as client:
                        user_id = str(uuid.uuid4())
                        token = mint_token(settings, user_id, "bench@example.test", 3600)
                        headers = {"Authorization": f"Bearer {token}"}

                        async def gql(query: str, **variables: Any) -> dict[str, Any]:
                            response = await client.post(
                                "/graphql",
                                json={"query": query, "variables": variables},
                                headers=headers,
                            )
                            body = response.json()
                            if body.get("errors"):
                                raise SystemExit(f"GraphQL errors: {body['errors']}")
                            data: dict[str, Any] = body["data"]
                            return data

                        async def wait(job_id: str) -> Job:
                            """Until the job is finished: woken by its NOTIFYs, no polling
                            (a polling client would compete with FFmpeg for the CPUs)."""
                            wanted = uuid.UUID(job_id)
                            async with runtime.events.subscribe() as inbox:
                                while True:
                                    async with runtime.sessions.system() as session:
                                        row = await session.scalar(
                                            select(Job).where(Job.id == wanted)
                                        )
                                    assert row is not None
                                    if row.finished_at is not None:
                                        break
                                    while (await inbox.get()).job_id != wanted:
                                        pass
                            if row.status is not JobStatus.SUCCEEDED:
                                raise SystemExit(f"job {job_id}: {row.status} {row.error}")
                            return row

                        created = await gql(
                            'mutation { createProject(input: {name: "Bench"}) { id } }'
                        )
                        project_id = created["createProject"]["id"]
                        upload = await client.post(
                            "/graphql",
                            headers={**headers, "Apollo-Require-Preflight": "true"},
                            data={
                                "operations": json.dumps(
                                    {
                                        "query": "mutation($p: ID!, $f: Upload!) { "
                                        "uploadSourceVideo(projectId: $p, file: $f) { id } }",
                                        "variables": {"p": project_id, "f": None},
                                    }
                                ),
                                "map": json.dumps({"0": ["variables.f"]}),
                            },
                            files={"0": ("source.mp4", source.read_bytes())},
                        )
                        if upload.json().get("errors"):
                            raise SystemExit(f"upload failed: {upload.json()}")
                        extract = await gql(
                            "mutation($p: ID!) { extractSegments(projectId: $p) { id } }",
                            p=project_id,
                        )
                        await wait(extract["extractSegments"]["id"])

                        async with runtime.sessions.system() as session:
                            project = await session.scalar(
                                select(Project).where(Project.id == uuid.UUID(project_id))
                            )
                            segments = (
                                await session.scalars(
                                    select(Segment).where(
                                        Segment.project_id == uuid.UUID(project_id)
                                    )
                                )
                            ).all()
                        assert project is not None
                        assert project.source_path
                        stored = runtime.storage.resolve(project.source_path)
                        spans = [
                            SpanScore(s.kind.value, s.start_seconds, s.end_seconds, s.score)
                            for s in segments
                        ]
                        windows = choose_windows(
                            project.source_duration_seconds,
                            float(CLIPS["clipSeconds"]),
                            int(CLIPS["variantCount"]),
                            spans,
                        )
                        cut_args = (
                            str(CLIPS["aspect"]),
                            bool(CLIPS["accurate"]),
                            project.source_width,
                            project.source_height,
                            project.source_fps,
                        )

                        async def direct(n: int) -> float:
                            folder = tmp / f"direct-{n}"
                            folder.mkdir()
                            t0 = time.perf_counter()
                            for i, window in enumerate(windows):
                                await cut_clip(
                                    binaries,
                                    stored,
                                    folder / f"{i}.mp4",
                                    window.start,
                                    float(CLIPS["clipSeconds"]),
                                    *cut_args,
                                )
                            return time.perf_counter() - t0

                        async def job() -> JobRound:
                            timers = {k: Timer() for k in ("cut", "probe", "move", "progress")}
                            originals = (
                                clip_tasks.cut_clip,
                                clip_tasks.probe_json,
                                clip_tasks.move_into_place,
                                runtime.queue.set_progress,
                            )
                            clip_tasks.cut_clip = timers["cut"].wrap(originals[0])
                            clip_tasks.probe_json = timers["probe"].wrap(originals[1])
                            clip_tasks.move_into_place = timers["move"].wrap(originals[2])
                            runtime.queue.set_progress = timers["progress"].wrap(originals[3])
                            try:
                                t0 = time.time()
                                started = await gql(
                                    "mutation($p: ID!, $i: GenerateClipsInput) "
                                    "{ generateRawClips(projectId: $p, input: $i) { id } }",
                                    p=project_id,
                                    i=CLIPS,
                                )
                                row = await wait(started["generateRawClips"]["id"])
                            finally:
                                (
                                    clip_tasks.cut_clip,
                                    clip_tasks.probe_json,
                                    clip_tasks.move_into_place,
                                    runtime.queue.set_progress,
                                ) = originals
                            assert row.finished_at is not None
                            assert row.started_at is not None
                            async with runtime.sessions.system() as session:
                                starts = sorted(
                                    c.start_seconds
                                    for c in await session.scalars(
                                        select(Clip).where(
                                            Clip.id.in_(
                                                [uuid.UUID(i) for i in row.result["clip_ids"]]
                                            )
                                        )
                                    )
                                )
                            expected = sorted(round(w.start, 3) for w in windows)
                            if starts != expected:
                                raise SystemExit(f"job windows {starts} != direct {expected}")
                            return JobRound(
                                wall=row.finished_at.timestamp() - t0,
                                queued=row.started_at.timestamp() - t0,
                                timers=timers,
                            )

                        await direct(-1)  # warm-up: page cache, FFmpeg start-up
                        for n in range(args.rounds):
                            if n % 2 == 0:
                                measured = await job()
                                plain = await direct(n)
                            else:
                                plain = await direct(n)
                                measured = await job()
                            rounds.append((measured, plain))

    print(
        f"job_overhead: generateRawClips {CLIPS} from a {SOURCE_SECONDS} s 1280x720 30 fps "
        f"source (segments extracted beforehand: no analysis timed), PostgreSQL, embedded "
        f"worker (concurrency 1), vs the same {CLIPS['variantCount']} cut_clip calls run "
        f"sequentially; {args.rounds} rounds, alternating order; {machine}"
    )
    print(
        f"\n  {'round':<6}{'job s':>8}{'direct s':>10}{'ratio':>7}{'queued ms':>11}"
        f"{'cut s':>7}{'probe ms':>10}{'move ms':>9}{'progress':>14}"
    )
    ratios = []
    for n, (measured, plain) in enumerate(rounds):
        ratio = measured.wall / plain
        ratios.append(ratio)
        t = measured.timers
        print(
            f"  {n:<6}{measured.wall:>8.2f}{plain:>10.2f}{ratio:>7.3f}"
            f"{measured.queued * 1000:>11.0f}{t['cut'].seconds:>7.2f}"
            f"{t['probe'].seconds * 1000:>10.0f}{t['move'].seconds * 1000:>9.0f}"
            f"{t['progress'].calls:>6} writes"
        )
    median = statistics.median(ratios)
    outside = statistics.median(m.wall - m.timers["cut"].seconds for m, _ in rounds)
    cut_vs_direct = statistics.median(m.timers["cut"].seconds / p for m, p in rounds)
    print(
        f"\n  job time outside cut_clip (median): {outside * 1000:.0f} ms; "
        f"cut_clip inside the job / direct (median): {cut_vs_direct:.3f}"
    )
    verdict = "met" if median <= TARGET else "MISSED"
    print(
        f"SUMMARY job_overhead: job/direct = {median:.3f} (median of {len(ratios)}; "
        f"{', '.join(f'{r:.3f}' for r in ratios)}), {outside * 1000:.0f} ms outside FFmpeg; "
        f"target <= {TARGET} {verdict}"
    )
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="job/direct pairs (3)")
    return parser.parse_args()


def main() -> int:
    return asyncio.run(bench(parse_args()))


if __name__ == "__main__":
    sys.exit(main())
