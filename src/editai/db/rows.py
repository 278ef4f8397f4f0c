"""Read paths that answer with rows, not ORM instances.

A page of rows read only to be shown needs no identity map, no instance state and no
change tracking, and building those was most of the time spent loading a page (issue
8's profile: ``InstanceState.__init__``, ``_populate_full``, the identity map). Selecting
an entity's mapped columns instead gives plain rows with the same attribute names
(``row.name``, ``row.project_id``), and the statement stays an ORM statement: the
tenant hook adds its criteria to it (aliases included) like to any other, and row-level
security sees it like any other.

The rows are then copied into a named tuple per entity (``records``): reading an
attribute of a SQLAlchemy ``Row`` goes through ``__getattr__`` and a key lookup (about
0.3 us each, most of building a clip's GraphQL object: issue 8's nested profile), a
named tuple's is a C descriptor, and the copy is one ``tuple.__new__`` per row.
"""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect


def mapped_columns(entity: Any) -> list[Any]:
    """Every mapped column of ``entity`` (a mapped class or an ``aliased()`` one), each
    labelled with its attribute name, for ``select(*mapped_columns(entity))``."""
    mapper = inspect(entity).mapper
    return [getattr(entity, attr.key).label(attr.key) for attr in mapper.column_attrs]


@functools.cache
def record_type(entity: Any) -> Any:
    """The named tuple of ``mapped_columns(entity)``'s rows: the same names, in order."""
    mapper = inspect(entity).mapper
    keys = [attr.key for attr in mapper.column_attrs]
    return namedtuple(f"{mapper.class_.__name__}Record", keys)


def records(entity: Any, rows: Iterable[Any]) -> list[Any]:
    """``rows`` of ``select(*mapped_columns(entity))`` as ``record_type(entity)`` tuples."""
    make = record_type(entity)._make
    return [make(row) for row in rows]
