"""Relay-style connection types shared by every paginated list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import strawberry

from editai.pagination import Cursor

NodeT = TypeVar("NodeT")


def _cursor_of(node: Any) -> str:
    return Cursor(node.created_at, uuid.UUID(str(node.id))).encode()


# Cursors are encoded only when a query selects them: most list screens never do, and
# encoding one per edge was ~3% of a page's CPU (issue 8's profile).


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    first_node: strawberry.Private[Any] = None
    last_node: strawberry.Private[Any] = None

    @strawberry.field
    def start_cursor(self) -> str | None:
        return None if self.first_node is None else _cursor_of(self.first_node)

    @strawberry.field
    def end_cursor(self) -> str | None:
        return None if self.last_node is None else _cursor_of(self.last_node)


@strawberry.type
class Edge(Generic[NodeT]):
    # A resolver field declared first: the SDL keeps ``cursor`` before ``node``.
    cursor: str = strawberry.field(resolver=lambda root: _cursor_of(root.node))
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
    return cls(
        edges=[Edge(node=n) for n in nodes],
        page_info=PageInfo(
            has_next_page=has_next_page,
            has_previous_page=has_previous_page,
            first_node=nodes[0] if nodes else None,
            last_node=nodes[-1] if nodes else None,
        ),
    )
