"""Answers as JSON: orjson's speed, the standard library's bytes.

Clients, caches and tests see exactly what ``json.dumps(data, separators=(",", ":"))``
(strawberry's encoding) writes. orjson writes the same bytes for the plain trees an
answer is made of, except in three places, each visible in its output:

* non-ASCII text: orjson writes UTF-8, the standard library ``\\uXXXX`` escapes; and DEL
  (0x7f), which the standard library escapes and orjson does not;
* floats below 1e-4 in magnitude: Python's ``repr`` writes ``1e-05`` and ``1.5e-07``,
  orjson ``0.00001`` and ``1.5e-7``. Each such float makes orjson write a number that
  starts ``0.0000``, or a one-digit negative exponent that ends a number (``e-7`` then
  ``,``, ``]``, ``}`` or the end); wider exponents are written alike (checked for every
  exponent in tests/graphql/test_json_encoding.py). A UUID's ``...3e-4b...`` never looks like that;
* what orjson refuses (integers beyond 64 bits, non-string keys, lone surrogates) or
  serializes where the standard library would raise (datetimes, dataclasses: passed
  through to a ``default`` that refuses them).

An output showing any of these marks is thrown away and the standard library encodes the
data instead: the mark may come from an innocent string ("v0.00001"), which only costs the
slow road. Non-finite floats never reach an answer: GraphQL's ``Float`` refuses them;
nor do UUIDs or enum members (which orjson would write where the standard library
raises): graphql-core serializes ``ID`` and enum fields to strings first.
"""

from __future__ import annotations

import json
import re
from typing import NoReturn

import orjson

_STDLIB = json.JSONEncoder(separators=(",", ":"), check_circular=False)
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# Two patterns, each starting with a literal (which re then scans for): one with a
# lookbehind first or an alternation was 50 times slower (400 us for a 14 kB page).
_FIXED_SMALL = re.compile(rb"(?<![0-9])0\.0000")
_SHORT_NEGATIVE_EXPONENT = re.compile(rb"e-[1-9](?:[,\]}]|\Z)")


def _refuse(value: object) -> NoReturn:
    raise TypeError(f"{type(value).__name__} is not plain JSON")


def encode_answer(data: object) -> bytes:
    """``json.dumps(data, separators=(",", ":")).encode()``, byte for byte."""
    fast = orjson_if_identical(data)
    return fast if fast is not None else _STDLIB.encode(data).encode()


def orjson_if_identical(data: object) -> bytes | None:
    """orjson's encoding of ``data``, or None where it could differ from the standard
    library's."""
    try:
        fast = orjson.dumps(data, default=_refuse, option=_OPTIONS)
    except TypeError:
        return None
    if not fast.isascii() or b"\x7f" in fast or _SHORT_NEGATIVE_EXPONENT.search(fast):
        return None
    if b"0.0000" in fast and _FIXED_SMALL.search(fast):
        return None
    return fast


def encode_answer_text(data: object) -> str:
    """``encode_answer`` as text (WebSocket frames must be text, not binary)."""
    return encode_answer(data).decode("ascii")
