"""Answers as JSON: orjson's speed, the standard library's bytes.

Clients, caches and tests see exactly what ``json.dumps(data, separators=(",", ":"))``
(strawberry's encoding) writes. orjson writes the same bytes for the plain trees an
answer is made of, except in three places, each visible in its output:

* non-ASCII text: orjson writes UTF-8, the standard library ``\\uXXXX`` escapes; and DEL
  (0x7f), which the standard library escapes and orjson does not;
* floats below 1e-4 in magnitude: Python's ``repr`` writes ``1e-05``, orjson ``0.00001``
  or ``1.5e-7``. Every such float makes orjson write ``e-`` or ``0.0000`` (checked for
  every exponent in tests/graphql/test_json_encoding.py);
* what orjson refuses (integers beyond 64 bits, non-string keys, lone surrogates) or
  serializes where the standard library would raise (datetimes, dataclasses: passed
  through to a ``default`` that refuses them).

An output showing any of these marks is thrown away and the standard library encodes the
data instead: the mark may come from an innocent string ("e-mail"), which only costs the
slow road. Non-finite floats never reach an answer: GraphQL's ``Float`` refuses them;
nor do UUIDs or enum members (which orjson would write where the standard library
raises): graphql-core serializes ``ID`` and enum fields to strings first.
"""

from __future__ import annotations

import json
from typing import NoReturn

import orjson

_STDLIB = json.JSONEncoder(separators=(",", ":"), check_circular=False)
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_MARKS = (b"e-", b"0.0000", b"\x7f")


def _refuse(value: object) -> NoReturn:
    raise TypeError(f"{type(value).__name__} is not plain JSON")


def encode_answer(data: object) -> bytes:
    """``json.dumps(data, separators=(",", ":")).encode()``, byte for byte."""
    try:
        fast = orjson.dumps(data, default=_refuse, option=_OPTIONS)
    except TypeError:
        return _STDLIB.encode(data).encode()
    if fast.isascii() and not any(mark in fast for mark in _MARKS):
        return fast
    return _STDLIB.encode(data).encode()


def encode_answer_text(data: object) -> str:
    """``encode_answer`` as text (WebSocket frames must be text, not binary)."""
    return encode_answer(data).decode("ascii")
