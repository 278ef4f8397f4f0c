"""Autogenerate settings shared by ``alembic/env.py`` and the drift test.

Alembic compares an index's name, columns and uniqueness, but not the predicate of a
partial index (``postgresql_where``/``sqlite_where``): ``uq_profiles_one_default_per_user``
could lose its ``WHERE is_default`` in a migration (one profile per user!) and autogenerate
would report nothing. The comparator below closes that gap on both backends.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from alembic.autogenerate.api import AutogenContext
from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy import Index, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ClauseElement

PLUGIN_NAME = "editai.index_predicates"

# Pass as ``context.configure(**COMPARE_OPTIONS)`` / ``MigrationContext.configure(opts=...)``.
COMPARE_OPTIONS: dict[str, Any] = {
    "compare_type": True,
    "compare_server_default": True,
    "autogenerate_plugins": ["alembic.autogenerate.*", PLUGIN_NAME],
}

_CAST = re.compile(r"::[a-z_ ]+", re.IGNORECASE)
_NOISE = re.compile(r"[\s()\"`]")


def _predicate(index: Index, dialect: Dialect) -> str:
    """The index's WHERE clause for ``dialect``, normalized ('' when not partial)."""
    try:
        where = index.dialect_options[dialect.name]["where"]
    except KeyError:  # a dialect without partial indexes
        return ""
    if where is None:
        return ""
    if isinstance(where, ClauseElement):
        where = str(where.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    # PostgreSQL reflects ``(is_default = true)``-style text with casts and parentheses.
    return _NOISE.sub("", _CAST.sub("", str(where))).lower()


def compare_index_predicates(
    autogen_context: AutogenContext,
    modify_ops: ops.ModifyTableOps,
    schema: str | None,
    tname: str,
    conn_table: Table | None,
    metadata_table: Table | None,
) -> PriorityDispatchResult:
    if conn_table is None or metadata_table is None:
        return PriorityDispatchResult.CONTINUE
    dialect = autogen_context.dialect
    assert dialect is not None
    reflected = {index.name: index for index in conn_table.indexes}
    # Indexes Alembic already recreates (or adds/drops) need no second look.
    handled = {
        op.index_name
        for op in modify_ops.ops
        if isinstance(op, ops.CreateIndexOp | ops.DropIndexOp)
    }
    for index in sorted(metadata_table.indexes, key=lambda i: str(i.name)):
        conn_index = reflected.get(index.name)
        if conn_index is None or index.name in handled:
            continue
        if _predicate(index, dialect) != _predicate(conn_index, dialect):
            modify_ops.ops.append(ops.DropIndexOp.from_index(conn_index))
            modify_ops.ops.append(ops.CreateIndexOp.from_index(index))
    return PriorityDispatchResult.CONTINUE


def setup(plugin: Plugin) -> None:
    plugin.add_autogenerate_comparator(
        compare_index_predicates, "table", "indexes", priority=DispatchPriority.LAST
    )


# Registered on import; enabled where ``COMPARE_OPTIONS`` is passed.
Plugin.setup_plugin_from_module(sys.modules[__name__], PLUGIN_NAME)
