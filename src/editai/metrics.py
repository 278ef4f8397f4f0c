"""Prometheus metrics: what operators scrape from ``GET /metrics``.

* ``editai_graphql_requests_total`` / ``editai_graphql_request_duration_seconds``, by
  operation type and name; ``editai_graphql_errors_total`` by error code;
* ``editai_jobs_finished_total`` / ``editai_job_duration_seconds``, by kind and outcome;
  ``editai_jobs_queued`` and ``editai_jobs_oldest_queued_age_seconds`` by kind (read from
  the database at each scrape: the queue is the ``jobs`` table, shared by every process);
* ``editai_ffmpeg_runs_total`` by outcome;
* ``editai_db_pool_connections`` by state (this process's pool, at each scrape);
* ``editai_event_loop_lag_seconds`` by role (server, worker): how late a timer fires.

No label carries a user, profile or project id. Operation names come from clients, so
only the first ``MAX_OPERATION_NAMES`` distinct well-formed names of a process are kept
as labels; later ones, and anonymous operations, count as ``other`` / ``anonymous``.

Several processes: ``editai serve --workers N`` runs its processes in prometheus-client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, a directory the command creates), so any
of them answers ``/metrics`` for all N. An ``editai worker`` process is its own: with
``EDITAI_WORKER_METRICS_PORT`` it serves its own exposition on that port.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from contextlib import suppress
from datetime import datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATION_NAMES = 200
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_JOB_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

REQUESTS = Counter(
    "editai_graphql_requests", "GraphQL operations run", ["operation_type", "operation_name"]
)
REQUEST_SECONDS = Histogram(
    "editai_graphql_request_duration_seconds",
    "Time to run a GraphQL operation",
    ["operation_type", "operation_name"],
    buckets=_LATENCY_BUCKETS,
)
ERRORS = Counter("editai_graphql_errors", "Errors in GraphQL answers, by code", ["code"])
JOBS_FINISHED = Counter("editai_jobs_finished", "Jobs ended by a worker", ["kind", "outcome"])
JOB_SECONDS = Histogram(
    "editai_job_duration_seconds",
    "Run time of a job attempt",
    ["kind", "outcome"],
    buckets=_JOB_BUCKETS,
)
FFMPEG_RUNS = Counter("editai_ffmpeg_runs", "FFmpeg processes run, by outcome", ["outcome"])
LOOP_LAG = Gauge(
    "editai_event_loop_lag_seconds",
    "How late the last timer of the event loop fired",
    ["role"],
    multiprocess_mode="max",
)


class OperationNames:
    """Bounded label values for client-chosen operation names."""

    def __init__(self, limit: int = MAX_OPERATION_NAMES) -> None:
        self.limit = limit
        self.known: set[str] = set()

    def label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if name in self.known:
            return name
        if not _NAME.fullmatch(name) or len(self.known) >= self.limit:
            return "other"
        self.known.add(name)
        return name


OPERATION_NAMES = OperationNames()


_operation_children: dict[tuple[str, str], tuple[Any, Any]] = {}


def observe_operation(operation_type: str, name: str | None, seconds: float) -> None:
    labels = (operation_type, OPERATION_NAMES.label(name))
    # The labelled children, kept: ``labels()`` takes a lock and builds a key per call.
    children = _operation_children.get(labels)
    if children is None:
        children = _operation_children[labels] = (
            REQUESTS.labels(*labels),
            REQUEST_SECONDS.labels(*labels),
        )
    children[0].inc()
    children[1].observe(seconds)


def count_errors(codes: Iterator[str] | list[str]) -> None:
    for code in codes:
        ERRORS.labels(code).inc()


def observe_job(kind: str, outcome: str, seconds: float) -> None:
    JOBS_FINISHED.labels(kind, outcome).inc()
    JOB_SECONDS.labels(kind, outcome).observe(seconds)


async def watch_loop_lag(role: str, interval: float = 0.5) -> None:
    """Forever: how much later than asked each timer fires (a blocked loop shows)."""
    loop = asyncio.get_running_loop()
    gauge = LOOP_LAG.labels(role)
    while True:
        asked = loop.time() + interval
        await asyncio.sleep(interval)
        gauge.set(max(0.0, loop.time() - asked))


class StateCollector(Collector):
    """Values read at scrape time: the queue (from the database) and the pool."""

    def __init__(
        self, queue: list[tuple[str, int, datetime | None]], pool: dict[str, int], now: datetime
    ) -> None:
        self.queue = queue
        self.pool = pool
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("editai_jobs_queued", "Queued jobs, by kind", labels=["kind"])
        oldest = GaugeMetricFamily(
            "editai_jobs_oldest_queued_age_seconds",
            "Age of the oldest queued job, by kind",
            labels=["kind"],
        )
        for kind, count, first in self.queue:
            depth.add_metric([kind], count)
            age = 0.0 if first is None else max(0.0, (self.now - first).total_seconds())
            oldest.add_metric([kind], age)
        pool = GaugeMetricFamily(
            "editai_db_pool_connections", "This process's database pool", labels=["state"]
        )
        for state, value in self.pool.items():
            pool.add_metric([state], value)
        yield depth
        yield oldest
        yield pool


def pool_state(pool: Any) -> dict[str, int]:
    """What the engine's pool tells (a queue pool: size, checked out, overflow)."""
    state: dict[str, int] = {}
    for name, method in (("size", "size"), ("checked_out", "checkedout"), ("overflow", "overflow")):
        with suppress(AttributeError, TypeError, NotImplementedError):
            state[name] = int(getattr(pool, method)())
    return state


def exposition(state: StateCollector) -> tuple[bytes, str]:
    """The text exposition: every process's metrics (multiprocess mode) or this one's,
    then the scrape-time state."""
    if os.environ.get(MULTIPROCESS_DIR_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    scraped = CollectorRegistry()
    scraped.register(state)
    return body + generate_latest(scraped), CONTENT_TYPE_LATEST
