"""Read paths that answer with rows, not ORM instances.

A page of rows read only to be shown needs no identity map, no instance state and no
change tracking, and building those was most of the time spent loading a page (issue
8's profile: ``InstanceState.__init__``, ``_populate_full``, the identity map). Selecting
an entity's mapped columns instead gives plain rows with the same attribute names
(``row.name``, ``row.project_id``), and the statement stays an ORM statement: the
tenant hook adds its criteria to it (aliases included) like to any other, and row-level
security sees it like any other.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect


def mapped_columns(entity: Any) -> list[Any]:
    """Every mapped column of ``entity`` (a mapped class or an ``aliased()`` one), each
    labelled with its attribute name, for ``select(*mapped_columns(entity))``."""
    mapper = inspect(entity).mapper
    return [getattr(entity, attr.key).label(attr.key) for attr in mapper.column_attrs]
