"""Keyset (cursor) pagination shared by every connection: newest first, by (created_at, id)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from editai.errors import BadUserInput

MAX_CURSOR_CHARS = 200


@dataclass(frozen=True, slots=True)
class Cursor:
    created_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), str(self.id)], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        # A real cursor is ~100 characters. Longer input is refused unread: JSON nested
        # deeper than the parser's recursion limit would raise RecursionError.
        if len(value) > MAX_CURSOR_CHARS:
            raise BadUserInput("Invalid cursor", field="after")
        try:
            padded = value + "=" * (-len(value) % 4)
            created, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if not isinstance(created, str) or not isinstance(ident, str):
                raise ValueError("malformed cursor")
            parsed = datetime.fromisoformat(created)
            if parsed.tzinfo is None:
                raise ValueError("naive cursor time")
            # Normalized here: an offset that leaves the datetime range fails now, not in SQL.
            return cls(parsed.astimezone(UTC), uuid.UUID(ident))
        except (ValueError, TypeError, OverflowError, binascii.Error) as exc:
            raise BadUserInput("Invalid cursor", field="after") from exc

    @classmethod
    def of(cls, row: Any) -> Cursor:
        return cls(row.created_at, row.id)


DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class PageRequest:
    first: int
    after: Cursor | None

    @classmethod
    def parse(cls, first: int | None, after: str | None, max_size: int) -> PageRequest:
        first = DEFAULT_PAGE_SIZE if first is None else first
        if not 0 <= first <= max_size:
            raise BadUserInput(f"first must be between 0 and {max_size}", field="first")
        return cls(first, Cursor.decode(after) if after else None)


def newest_first_after(
    created_at: InstrumentedAttribute[datetime], ident: InstrumentedAttribute[uuid.UUID], c: Cursor
) -> Any:
    """Rows strictly after ``c`` in (created_at DESC, id DESC) order."""
    return or_(created_at < c.created_at, and_(created_at == c.created_at, ident < c.id))


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    has_next_page: bool
    has_previous_page: bool
