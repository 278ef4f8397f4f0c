"""Parsing of ``ID`` arguments. A malformed id is simply an id that does not exist."""

from __future__ import annotations

import uuid

from editai.errors import NotFound


def parse_id(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound(f"{what} not found") from exc
