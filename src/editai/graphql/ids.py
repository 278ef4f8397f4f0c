"""IDs in and out: ``ID`` arguments parsed (a malformed id is simply an id that does not
exist), and row values given to fields as they are."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Any, TypeVar, cast

import strawberry

from editai.errors import NotFound

EnumT = TypeVar("EnumT", bound=Enum)


def parse_id(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound(f"{what} not found") from exc


def as_graphql_id(value: uuid.UUID) -> strawberry.ID:
    """A row's UUID as the value of an ``ID`` field, unconverted: graphql-core's ID scalar
    serializes it as ``str(value)`` (the same text), and only when the field is selected."""
    return cast(strawberry.ID, value)


def as_enum(enum: type[EnumT], value: Any) -> EnumT:
    """``enum(value)``, skipped when ``value`` already is a member (rows give members)."""
    return value if type(value) is enum else enum(value)
