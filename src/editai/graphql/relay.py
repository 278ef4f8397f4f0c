"""Relay-style connection types shared by every paginated list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import strawberry

from editai.pagination import Cursor

NodeT = TypeVar("NodeT")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo


ConnectionT = TypeVar("ConnectionT", bound="Connection[Any]")


def build_connection(
    cls: type[ConnectionT],
    nodes: Sequence[Any],
    *,
    has_next_page: bool,
    has_previous_page: bool,
) -> ConnectionT:
    """Edges with keyset cursors; every node type exposes ``id`` and ``created_at``."""
    edges = [
        Edge(cursor=Cursor(n.created_at, uuid.UUID(str(n.id))).encode(), node=n) for n in nodes
    ]
    return cls(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next_page,
            has_previous_page=has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
