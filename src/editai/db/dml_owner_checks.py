"""ORM ``insert()``/``update()`` statements bypass the flush: the owner they write, checked.

Called by the tenancy hook (db/tenancy.py) for every ORM INSERT and UPDATE statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.sql.elements import BindParameter

from editai.db.base import ProfileScoped, UserScoped
from editai.db.scope import TenancyViolation, TenantScope, is_subclass_of

_MISSING = object()


def check_dml_owner_values(state: ORMExecuteState, scope: TenantScope, touched: list[type]) -> None:
    """ORM ``insert()``/``update()`` statements bypass the flush: check the owner they write.

    An INSERT must write the session's own id into every row; an UPDATE may only write
    it. ORM bulk UPDATE by primary key (a list of parameter sets) ignores loader
    criteria, so it would reach other tenants' rows: refused outright.
    """
    owners: list[tuple[str, uuid.UUID | None]] = []
    if any(is_subclass_of(c, ProfileScoped) for c in touched):
        owners.append(("profile_id", scope.profile_id))
    if any(is_subclass_of(c, UserScoped) for c in touched):
        owners.append(("user_id", scope.user_id))
    if not owners:
        return
    if state.is_update and state.is_executemany:
        raise TenancyViolation("ORM bulk UPDATE by primary key is not tenant-filtered; refused")
    for key, allowed in owners:
        for value in _written_values(state, key):
            if value is _MISSING and state.is_update:
                continue
            if allowed is None or _as_uuid(value) != allowed:
                verb = "INSERT" if state.is_insert else "UPDATE"
                raise TenancyViolation(
                    f"ORM {verb} writes {key} outside the session's scope ({scope.describe()})"
                )


def _written_values(state: ORMExecuteState, key: str) -> list[object]:
    """What the statement writes to column ``key``: one entry per row (``_MISSING`` if not)."""
    statement: Any = state.statement
    if state.is_from_statement:  # select(Model).from_statement(insert(Model)...)
        statement = statement.element
    if getattr(statement, "_select_names", None):  # INSERT ... FROM SELECT: not inspectable
        return [_MISSING]
    # The statement's own VALUES (SQLAlchemy keeps them in these attributes) ...
    value_sets: list[Any] = []
    if getattr(statement, "_values", None):
        value_sets.append(statement._values)
    for rows in getattr(statement, "_multi_values", ()):
        value_sets.extend(rows)
    # ... and the parameter sets passed to execute() (a list for bulk INSERT).
    params = state.parameters
    if isinstance(params, list):
        value_sets.extend(params)
    elif params:
        value_sets.append(params)
    if not value_sets:
        return [_MISSING]
    found: list[object] = []
    for value_set in value_sets:
        if not isinstance(value_set, Mapping):  # positional VALUES: cannot tell
            found.append(_MISSING)
            continue
        value = _MISSING
        for column, candidate in value_set.items():
            if (column if isinstance(column, str) else getattr(column, "key", None)) == key:
                value = candidate.value if isinstance(candidate, BindParameter) else candidate
        found.append(value)
    return found


def _as_uuid(value: object) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            return None
    return None  # missing, NULL or an SQL expression: never provably the session's own id
