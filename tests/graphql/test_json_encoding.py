"""Answers are encoded by orjson where it writes the standard library's bytes, and by the
standard library everywhere else (graphql/json_encoding.py): the bytes never change."""

from __future__ import annotations

import json
import math
import random
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from editai.graphql.json_encoding import encode_answer, encode_answer_text, orjson_if_identical
from tests.api import Api


def stdlib(data: object) -> bytes:
    """strawberry's own encoding of an answer."""
    return json.dumps(data, separators=(",", ":")).encode()


finite_floats = st.floats(allow_nan=False, allow_infinity=False)
leaves = st.none() | st.booleans() | st.integers() | finite_floats | st.text()
trees = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(trees)
def test_any_answer_tree_encodes_to_the_standard_librarys_bytes(data: object) -> None:
    assert encode_answer(data) == stdlib(data)
    assert encode_answer_text(data) == stdlib(data).decode()


def test_every_float_exponent_encodes_to_the_standard_librarys_bytes() -> None:
    # orjson writes small floats unlike repr (0.00001 for 1e-05): every exponent, both signs.
    rng = random.Random(8)
    values = [0.0, -0.0, 1e-4, 9.999999999999999e-05, 1e16, 1e22, 2.0**53 + 2, 5e-324]
    for exponent in range(-323, 308):
        values += [rng.random() * 10 * 10.0**exponent for _ in range(40)]
    bits = (struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(40000))
    values += [v for v in bits if math.isfinite(v)]
    for value in values:
        for data in (value, -value, {"startSeconds": value}):
            assert encode_answer(data) == stdlib(data), value


@pytest.mark.parametrize(
    "data",
    [
        {"name": "Café ☕ 日本"},  # non-ASCII: escaped by the standard library
        {"name": "del\x7fchar"},  # DEL: escaped by the standard library only
        {"name": "\ud800 lone surrogate"},  # refused by orjson
        {"n": 2**70, "m": -(2**64)},  # beyond 64 bits: refused by orjson
        {1: "integer key"},  # converted by the standard library, refused by orjson
        {"text": "e-mail 10.00001"},  # marks inside a string: the slow road, same bytes
        {"controls": "".join(map(chr, range(32))), "quote": '"\\/'},
    ],
)
def test_what_orjson_writes_differently_takes_the_standard_road(data: object) -> None:
    assert encode_answer(data) == stdlib(data)


def test_answers_of_ids_dates_and_ordinary_floats_take_orjsons_road() -> None:
    # The point of it all: a page of rows is encoded by orjson, not thrown away because
    # a UUID's "...3e-4b..." or a time looked like a small float.
    rng = random.Random(3)
    for _ in range(2000):
        node = {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "startSeconds": round(rng.uniform(0, 3600), rng.randint(0, 6)),
            "createdAt": "2026-01-01T12:00:00.000015+00:00",
            "status": "READY",
        }
        answer = {"data": {"clips": {"edges": [{"node": node}]}}}
        assert orjson_if_identical(answer) == stdlib(answer)


@dataclass
class Row:
    id: int


@pytest.mark.parametrize("value", [datetime(2026, 1, 1, tzinfo=UTC), Row(1)])
def test_values_the_standard_library_refuses_are_still_refused(value: object) -> None:
    with pytest.raises(TypeError):
        stdlib({"v": value})
    with pytest.raises(TypeError):
        encode_answer({"v": value})


async def test_an_answer_over_http_is_the_standard_librarys_bytes(api: Api) -> None:
    user = await api.new_user()
    names = ["Café ☕", "plain ascii", "del\x7f", "e-learning 0.00001"]
    for name in names:
        await user.create_project(name)
    query = "{ projects(first: 10) { edges { node { name status } } } }"
    response = await api.client.post(
        "/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {user.token}"},
    )
    assert response.status_code == 200
    answer = response.json()
    assert sorted(e["node"]["name"] for e in answer["data"]["projects"]["edges"]) == sorted(names)
    assert response.content == stdlib(answer)
