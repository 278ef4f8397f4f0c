"""GraphQL operations drawn from the schema by hypothesis-graphql, in batches.

Why hypothesis-graphql and not schemathesis: schemathesis's GraphQL mode is built on
this same library; what it adds is a runner (its CLI, or one pytest case per operation)
and response checks. Here the runner must be ours: a time budget instead of a case
count, several concurrent clients on one server subprocess, answer checks that know the
documented error codes, ids taken from the live data, multipart uploads. So only the
generator is used, a light dependency.

Drawing costs 15-20 ms of CPU per operation (most of it inside hypothesis), more than
the server spends answering it. Batches are therefore drawn in worker processes (this
module imports nothing of the app, so that they start fast), while the test's process
sends requests.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import graphql
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def load_schema() -> graphql.GraphQLSchema:
    # The committed SDL: tests/graphql/test_schema_file.py keeps it equal to the server's.
    return graphql.build_schema(SCHEMA_FILE.read_text())


def root_fields(schema: graphql.GraphQLSchema) -> list[str]:
    names: list[str] = []
    for root in (schema.query_type, schema.mutation_type):
        if root is not None:
            names += list(root.fields)
    return names


@dataclass(frozen=True)
class BatchSpec:
    """What to draw: one root field only (``field``) or any; valid operations, or ones
    with one schema violation (hypothesis-graphql's negative mode)."""

    field: str | None
    negative: bool
    size: int
    seed: int


def schedule(fields: list[str], base_seed: int) -> Iterator[BatchSpec]:
    """Each round covers every root field on its own first (so that every field is sent
    whatever the budget), then draws whole-schema batches, a fifth of them negative."""
    rng = random.Random(base_seed)
    seeds = iter(range(base_seed, base_seed + (1 << 40)))
    while True:
        for name in rng.sample(fields, len(fields)):
            yield BatchSpec(name, False, 2, next(seeds))
        for _ in range(3):
            yield BatchSpec(None, False, 40, next(seeds))
            yield BatchSpec(None, True, 10, next(seeds))


# Per process: the schema, the ids of the current batch, the strategies (built once).
_schema: graphql.GraphQLSchema | None = None
_ids: list[str] = ["00000000-0000-0000-0000-000000000000"]
_strategies: dict[tuple[str | None, bool], st.SearchStrategy[str]] = {}


def _pick_id(i: int) -> str:
    return _ids[i % len(_ids)]


def scalar_strategies() -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """Value nodes for ID and the custom scalars (hypothesis-graphql draws the built-in
    ones itself). Mostly valid values, some garbage: both paths must answer well."""
    text = st.text(max_size=40)
    known = st.integers(min_value=0, max_value=1 << 30).map(_pick_id)
    ids = st.one_of(known, known, known, st.uuids().map(str), text)
    datetimes = st.one_of(
        st.datetimes(timezones=st.sampled_from([UTC, None])).map(lambda d: d.isoformat()),
        text,
    )
    return {
        "ID": ids.map(nodes.String),
        "DateTime": datetimes.map(nodes.String),
        # Output-only today; given strategies so that a future argument is fuzzed too.
        "Decimal": st.one_of(st.decimals(allow_nan=False).map(str), text).map(nodes.String),
        "JSON": text.map(nodes.String),
        # A JSON body cannot carry a file: a string or null here checks the refusal; real
        # files go through the fuzz's multipart cases.
        "Upload": st.one_of(st.just(nodes.Null), text.map(nodes.String)),
    }


def _strategy(field: str | None, negative: bool) -> st.SearchStrategy[str]:
    global _schema
    key = (field, negative)
    if key not in _strategies:
        if _schema is None:
            _schema = load_schema()
        _strategies[key] = from_schema(
            _schema,
            fields=None if field is None else [field],
            custom_scalars=scalar_strategies(),
            mode=Mode.NEGATIVE if negative else Mode.POSITIVE,
        )
    return _strategies[key]


def draw_batch(spec: BatchSpec, ids: list[str]) -> list[str]:
    """``spec.size`` operations (generation phase only: nothing here fails, so there is
    nothing to shrink or replay), with ID arguments mostly taken from ``ids``."""
    global _ids
    if ids:
        _ids = ids
    drawn: list[str] = []

    @seed(spec.seed)
    @settings(
        max_examples=spec.size,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @given(_strategy(spec.field, spec.negative))
    def collect(operation: str) -> None:
        drawn.append(operation)

    collect()
    return drawn


def operation_fields(query: str) -> list[str]:
    """The root fields an operation selects (none if it does not parse)."""
    try:
        document = graphql.parse(query)
    except graphql.GraphQLError:
        return []
    names: list[str] = []
    for definition in document.definitions:
        if isinstance(definition, graphql.OperationDefinitionNode):
            for selection in definition.selection_set.selections:
                if isinstance(selection, graphql.FieldNode):
                    names.append(selection.name.value)
    return names
