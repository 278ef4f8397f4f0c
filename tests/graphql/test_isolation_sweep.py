"""Cross-tenant sweep: every Query/Mutation field that takes an ID, with every foreign id.

Nothing here names a field or a tenant table by hand (except the minimum set the sweep
must reach): the fields come from the running server's introspection, the arguments
and selection sets are built from their types, and the seed rows are built from the
table metadata. A field or tenant table added later is swept without editing this file.

Setup: a victim with two profiles, an attacker with two profiles, a row in every tenant
table of every profile. The attacker works in their first profile and calls each
ID position with every foreign id: the victim's user, profiles and rows, and the rows of
the attacker's *other* profile (profile-scoped data). Every such call must fail exactly
like a call with an id that does not exist (same code and message: existence is never
disclosed), return no data and no foreign id/name anywhere in the response, and change
no foreign row (snapshot of all their rows, all columns, before and after). A positive
control with the attacker's own, fresh ids shows each call is well-formed and reaches
the resolver (so the NOT_FOUNDs above are isolation, not a broken request).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    Undefined,
    build_client_schema,
    get_introspection_query,
    get_named_type,
    is_enum_type,
    is_input_object_type,
    is_interface_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_union_type,
)
from sqlalchemy import Column, Enum, Table, insert, select

from editai.db.models import Base
from editai.db.tenancy import SessionFactory
from tests.api import Api, GraphQLResult
from tests.api import TestUser as ApiUser

# The fields the sweep must reach today; more are swept as the schema grows.
MUST_SWEEP = {
    "project",
    "clip",
    "updateProject",
    "deleteProject",
    "updateProfile",
    "setDefaultProfile",
    "deleteProfile",
}
# BAD_USER_INPUT only where the same answer comes for an id that does not exist at all
# (validation before lookup); the comparison with that control enforces it.
FOREIGN_CODES = {"NOT_FOUND", "FORBIDDEN", "BAD_USER_INPUT"}
ID_LOOKUP_CODES = {"NOT_FOUND", "FORBIDDEN", "UNAUTHENTICATED"}

Path = tuple[str | int, ...]
# Stands for an Upload variable; the call then goes as a multipart request with this file
# (not a video: with an id of its own profile the upload gets past the lookup, then fails).
UPLOAD = "<upload placeholder>"
UPLOAD_FILE = ("sweep.mp4", b"not a video\n")


def _marker() -> str:
    # Short enough for String(50) columns, distinctive enough to grep a response for.
    return "lk" + uuid.uuid4().hex[:12]


# --------------------------------------------------------------------------- kinds


def _table_kinds() -> dict[str, set[str]]:
    """Entity kind of each table, as it appears in field/argument names."""
    kinds: dict[str, set[str]] = {}
    for table in Base.metadata.sorted_tables:
        singular = table.name[:-1] if table.name.endswith("s") else table.name
        kinds[table.name] = {singular.replace("_", ""), singular.split("_")[-1]}
    return kinds


TABLE_KINDS = _table_kinds()


def infer_table(path: Path, field_name: str) -> str | None:
    """Which table an ID position refers to: ``projectId`` -> projects, ``id`` -> the field's."""
    name = next((p for p in reversed(path) if isinstance(p, str)), "")
    stem = re.sub(r"ids?$", "", name.lower())
    if stem:
        # ``integrationIds`` names something that is not ours to seed: no guess.
        return next((t for t, kinds in TABLE_KINDS.items() if stem.endswith(tuple(kinds))), None)
    lowered = field_name.lower()
    best: tuple[int, int, str] | None = None
    for table, tokens in TABLE_KINDS.items():
        for token in tokens:
            at = lowered.rfind(token)
            if at >= 0 and (best is None or (at, len(token)) > best[:2]):
                best = (at, len(token), table)
    return best[2] if best else None


# --------------------------------------------------------------------------- seeding


@dataclass
class Owned:
    """Ids (per table) and distinctive strings stored in one tenant's rows."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    strings: set[str] = field(default_factory=set)

    def add(self, table: str, row_id: str) -> None:
        self.ids.setdefault(table, []).append(row_id)

    def merge(self, other: Owned) -> None:
        for table, ids in other.ids.items():
            self.ids.setdefault(table, []).extend(ids)
        self.strings |= other.strings

    def all_ids(self) -> list[tuple[str, str]]:
        return [(table, i) for table, ids in self.ids.items() for i in ids]

    def first(self, table: str) -> str | None:
        ids = self.ids.get(table)
        return ids[0] if ids else None


def _value_for(column: Column[Any], counter: list[float], strings: set[str]) -> Any:
    column_type = column.type
    if isinstance(column_type, Enum):
        return column_type.enums[0]
    try:
        python_type = column_type.python_type
    except NotImplementedError:
        python_type = str
    if python_type is str:
        value = _marker()[: getattr(column_type, "length", None) or None]
        strings.add(value)
        return value
    if python_type is bool:
        return False
    if python_type is int:
        return 1
    if python_type is float:
        counter[0] += 1.0  # increasing: start_seconds < end_seconds
        return counter[0]
    if python_type is Decimal:
        return Decimal("0.25")
    if python_type is datetime:
        return datetime.now(UTC)
    if python_type is uuid.UUID:
        return uuid.uuid4()
    if python_type is dict:
        return {}
    if python_type is list:
        return []
    if python_type is bytes:
        return b"sweep"
    raise AssertionError(f"no seed value for {column} ({column_type})")


async def seed_profile(sessions: SessionFactory, user: ApiUser, profile_id: str) -> Owned:
    """A project through the API, then one row in every other tenant table, from metadata."""
    owned = Owned()
    name, description = _marker(), _marker()
    project = await user.gql(
        "mutation($input: CreateProjectInput!) { createProject(input: $input) { id } }",
        {"input": {"name": name, "description": description}},
        profile_id=profile_id,
    )
    project_id = project.ok()["createProject"]["id"]
    owned.add("projects", project_id)
    owned.strings |= {name, description}

    rows: dict[str, dict[str, Any]] = {
        "users": {"id": uuid.UUID(user.id)},
        "profiles": {"id": uuid.UUID(profile_id)},
        "projects": {"id": uuid.UUID(project_id), "profile_id": uuid.UUID(profile_id)},
    }
    async with sessions.system_transaction() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in rows or "profile_id" not in table.c:
                continue
            row = _seed_row(table, rows, owned.strings)
            await session.execute(insert(table).values(row))
            rows[table.name] = row
            owned.add(table.name, str(row["id"]))
    return owned


def _seed_row(
    table: Table, rows: Mapping[str, dict[str, Any]], strings: set[str]
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    counter = [0.0]
    profile_id = rows["profiles"]["id"]
    for column in table.columns:
        if column.name == "profile_id":
            row[column.name] = profile_id
            continue
        if column.primary_key:
            assert column.name == "id", f"seed: unexpected primary key {column}"
            row["id"] = uuid.uuid4()
            continue
        refs = [fk.column for fk in column.foreign_keys]
        if refs:
            ref = next((r for r in refs if r.table.name in rows), None)
            if ref is not None:
                row[column.name] = rows[ref.table.name][ref.name]
                continue
            assert column.nullable, f"seed: {column} references a table not seeded yet"
            continue
        has_default = column.default is not None or column.server_default is not None
        if not column.nullable and not has_default:
            row[column.name] = _value_for(column, counter, strings)
    return row


# --------------------------------------------------------------------------- snapshot


async def snapshot(
    sessions: SessionFactory, user_ids: set[uuid.UUID], profile_ids: set[uuid.UUID]
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row (all columns) owned by these users/profiles, in every table."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    async with sessions.system() as session:
        for table in Base.metadata.sorted_tables:
            kept = []
            for row in (await session.execute(select(table))).all():
                values = row._mapping
                if table.name == "users":
                    owned = values["id"] in user_ids
                elif table.name == "profiles":
                    owned = values["id"] in profile_ids or values["user_id"] in user_ids
                elif "profile_id" in table.c:
                    owned = values["profile_id"] in profile_ids
                elif "user_id" in table.c:
                    owned = values["user_id"] in user_ids
                else:
                    owned = False
                if owned:
                    kept.append(tuple(values.values()))
            result[table.name] = sorted(kept, key=repr)
    return result


# --------------------------------------------------------------------------- GraphQL building


@dataclass(frozen=True)
class Position:
    path: Path  # argument name, then input field names / list indexes
    is_list: bool  # the position holds [ID!]


def id_positions(type_: Any, path: Path, seen: frozenset[str] = frozenset()) -> list[Position]:
    base = get_nullable(type_)
    if is_list_type(base):
        inner = base.of_type
        if get_named_type(inner).name == "ID" and not is_list_type(get_nullable(inner)):
            return [Position(path, is_list=True)]
        return id_positions(inner, (*path, 0), seen)
    if getattr(base, "name", None) == "ID":
        return [Position(path, is_list=False)]
    if is_input_object_type(base) and base.name not in seen:
        found: list[Position] = []
        for name, input_field in base.fields.items():
            found += id_positions(input_field.type, (*path, name), seen | {base.name})
        return found
    return []


def get_nullable(type_: Any) -> Any:
    return type_.of_type if is_non_null_type(type_) else type_


def _leaf_value(named: Any, path: Path, field_name: str, own: Owned) -> Any:
    if is_enum_type(named):
        return next(iter(named.values))
    if named.name == "ID":
        table = infer_table(path, field_name)
        return (own.first(table) if table else None) or str(uuid.uuid4())
    return {
        "String": "sweep",
        "Int": 1,
        "Float": 1.0,
        "Boolean": False,
        "DateTime": datetime.now(UTC).isoformat(),
        "Upload": UPLOAD,  # sent as a file part of a multipart request
    }.get(named.name, "sweep")


def build_value(
    type_: Any, path: Path, overrides: Mapping[Path, Any], field_name: str, own: Owned
) -> Any:
    if path in overrides:
        return overrides[path]
    base = get_nullable(type_)
    if is_list_type(base):
        return [build_value(base.of_type, (*path, 0), overrides, field_name, own)]
    if is_input_object_type(base):
        value: dict[str, Any] = {}
        for name, input_field in base.fields.items():
            sub = (*path, name)
            required = is_non_null_type(input_field.type) and input_field.default_value is Undefined
            if required or any(o[: len(sub)] == sub for o in overrides):
                value[name] = build_value(input_field.type, sub, overrides, field_name, own)
        return value
    return _leaf_value(base, path, field_name, own)


def selection_set(type_: GraphQLOutputType, depth: int = 0) -> str:
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    if is_union_type(named) or is_interface_type(named):
        return "{ __typename }"
    assert isinstance(named, GraphQLObjectType)
    if "edges" in named.fields:  # a connection
        edge = get_named_type(named.fields["edges"].type)
        node = get_named_type(edge.fields["node"].type)  # type: ignore[union-attr]
        node_sel = "id" if "id" in node.fields else "__typename"  # type: ignore[union-attr]
        return f"{{ edges {{ node {{ {node_sel} }} }} }}"
    parts: list[str] = []
    for name, out_field in named.fields.items():
        if any(
            is_non_null_type(a.type) and a.default_value is Undefined
            for a in out_field.args.values()
        ):
            continue
        if is_leaf_type(get_named_type(out_field.type)):
            parts.append(name)
        elif depth == 0:
            parts.append(f"{name} {selection_set(out_field.type, depth + 1)}")
    return "{ " + " ".join(parts or ["__typename"]) + " }"


@dataclass
class SweptField:
    operation: str  # "query" | "mutation"
    name: str
    field: GraphQLField
    positions: list[Position]

    def document(self, args: Iterable[str]) -> str:
        names = list(args)
        var_defs = ", ".join(f"${a}: {self.field.args[a].type}" for a in names)
        call = ", ".join(f"{a}: ${a}" for a in names)
        head = f"{self.operation} Sweep({var_defs})" if names else self.operation
        inner = f"{self.name}({call})" if names else self.name
        return f"{head} {{ {inner} {selection_set(self.field.type)} }}"

    def request(self, overrides: Mapping[Path, Any], own: Owned) -> tuple[str, dict[str, Any]]:
        variables: dict[str, Any] = {}
        for arg_name, arg in self.field.args.items():
            required = is_non_null_type(arg.type) and arg.default_value is Undefined
            if required or any(o[0] == arg_name for o in overrides):
                variables[arg_name] = build_value(arg.type, (arg_name,), overrides, self.name, own)
        return self.document(variables), variables


def fields_taking_ids(schema: GraphQLSchema) -> list[SweptField]:
    swept: list[SweptField] = []
    for operation, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        if root is None:
            continue
        for name, root_field in root.fields.items():
            positions = [
                p
                for arg_name, arg in root_field.args.items()
                for p in id_positions(arg.type, (arg_name,))
            ]
            if positions:
                swept.append(SweptField(operation, name, root_field, positions))
    return swept


def _upload_paths(value: Any, path: Path) -> Iterable[Path]:
    if value == UPLOAD:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _upload_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _upload_paths(item, (*path, index))


def _set_at(container: Any, path: Path, value: Any) -> None:
    for key in path[:-1]:
        container = container[key]
    container[path[-1]] = value


# --------------------------------------------------------------------------- checks


def _shape(result: GraphQLResult, sent: str) -> list[tuple[str, str, tuple[Any, ...]]]:
    return [
        (
            e.get("message", "").replace(sent, "<id>"),
            (e.get("extensions") or {}).get("code", ""),
            tuple(e.get("path") or ()),
        )
        for e in result.errors
    ]


def _leaks(result: GraphQLResult, secrets: Iterable[str], sent: set[str]) -> list[str]:
    text = json.dumps(result.body).lower()
    found = []
    for secret in secrets:
        if secret in sent:
            continue  # echoing the caller's own input back discloses nothing
        forms = {secret.lower(), secret.lower().replace("-", "")}
        if any(f in text for f in forms):
            found.append(secret)
    return found


# --------------------------------------------------------------------------- the test


async def test_no_field_reaches_another_tenant(api: Api, sessions: SessionFactory) -> None:
    # --- two users, two profiles each, a row in every tenant table of every profile
    victim = await api.new_user(email=f"{_marker()}@victim.test")
    attacker = await api.new_user()
    home = attacker.default_profile_id

    foreign = Owned()  # everything the attacker, working in `home`, must never reach
    foreign.add("users", victim.id)
    foreign.strings.add(victim.id)
    renamed = {"name": _marker(), "description": _marker()}
    (
        await victim.gql(
            "mutation($id: ID!, $input: UpdateProfileInput!) "
            "{ updateProfile(id: $id, input: $input) { id } }",
            {"id": victim.default_profile_id, "input": renamed},
        )
    ).ok()
    foreign.strings |= set(renamed.values())
    bait = {"description": _marker(), "postizApiKey": _marker()}
    victim_second_name = _marker()
    victim_second = await victim.create_profile(
        victim_second_name, postizApiUrl=f"https://{_marker()}.example", **bait
    )
    foreign.strings |= {victim_second_name, *bait.values()}
    for profile_id in (victim.default_profile_id, victim_second):
        foreign.add("profiles", profile_id)
        foreign.merge(await seed_profile(sessions, victim, profile_id))
    attacker_other = await attacker.create_profile(_marker())
    # The attacker owns this profile (profile fields may name it), not what is inside it.
    foreign.merge(await seed_profile(sessions, attacker, attacker_other))

    own = await seed_profile(sessions, attacker, home)
    own.ids["profiles"] = [attacker_other]
    own.ids["users"] = [attacker.id]

    foreign_ids = foreign.all_ids()
    foreign_secrets = {i for _, i in foreign_ids} | foreign.strings
    watched_users = {uuid.UUID(victim.id)}
    watched_profiles = {uuid.UUID(p) for p in (victim.default_profile_id, victim_second)}
    before_victim = await snapshot(sessions, watched_users, watched_profiles)
    before_all = await snapshot(
        sessions, watched_users, watched_profiles | {uuid.UUID(attacker_other)}
    )
    for meta in Base.metadata.sorted_tables:
        if "profile_id" in meta.c or meta.name in {"users", "profiles"}:
            minimum = 1 if meta.name == "users" else 2
            assert len(before_victim[meta.name]) >= minimum, f"victim has no {meta.name} rows"

    # --- the fields, from the running server's own schema
    introspection = await attacker.gql(get_introspection_query())
    schema = build_client_schema(introspection.ok())  # type: ignore[arg-type]
    fields = fields_taking_ids(schema)
    swept_names = {f.name for f in fields}
    assert swept_names >= MUST_SWEEP, f"sweep misses {MUST_SWEEP - swept_names}"
    # Swept as real multipart requests (its own-id control fails later: not a video).
    assert "uploadSourceVideo" in swept_names

    async def call(swept: SweptField, overrides: Mapping[Path, Any], owner: Owned) -> GraphQLResult:
        document, variables = swept.request(overrides, owner)
        uploads = list(_upload_paths(variables, ()))
        if uploads:
            for path in uploads:
                _set_at(variables, path, None)
            files = {".".join(map(str, path)): UPLOAD_FILE for path in uploads}
            return await api.gql_upload(
                document, variables, files, token=attacker.token, profile_id=home
            )
        return await api.gql(document, variables, token=attacker.token, profile_id=home)

    problems: list[str] = []
    calls = 0
    for swept in fields:
        for position in swept.positions:
            where = f"{swept.name}{list(position.path)}"

            def at(value: str, pos: Position = position, with_own: str | None = None) -> Any:
                if not pos.is_list:
                    return value
                return [with_own, value] if with_own else [value]

            variants: list[str | None] = [None]
            if position.is_list:
                table = infer_table(position.path, swept.name)
                if table and own.first(table):
                    variants.append(own.first(table))  # [own, foreign]: all or nothing
            for with_own in variants:
                unknown_id = str(uuid.uuid4())
                unknown = await call(swept, {position.path: at(unknown_id, with_own=with_own)}, own)
                expected = _shape(unknown, unknown_id)
                if not unknown.errors or set(unknown.codes) - FOREIGN_CODES:
                    problems.append(f"{where}: an unknown id gave {unknown.body}")
                for table, foreign_id in foreign_ids:
                    calls += 1
                    result = await call(
                        swept, {position.path: at(foreign_id, with_own=with_own)}, own
                    )
                    label = f"{where} with {table} id {foreign_id}"
                    if (result.data or {}).get(swept.name) is not None:
                        problems.append(f"{label}: returned data {result.data}")
                    if not result.errors or set(result.codes) - FOREIGN_CODES:
                        problems.append(f"{label}: expected NOT_FOUND/FORBIDDEN, got {result.body}")
                    elif _shape(result, foreign_id) != expected:
                        problems.append(
                            f"{label}: answers differently from an unknown id "
                            f"(discloses existence): {result.errors} vs {unknown.errors}"
                        )
                    leaked = _leaks(result, foreign_secrets, {foreign_id})
                    if leaked:
                        problems.append(f"{label}: response contains foreign {leaked}")
    assert not problems, f"{len(problems)} isolation problems:\n" + "\n".join(problems[:40])
    positions = sum(len(f.positions) for f in fields)
    assert calls >= positions * len(foreign_ids) >= len(MUST_SWEEP) * 20

    after_all = await snapshot(
        sessions, watched_users, watched_profiles | {uuid.UUID(attacker_other)}
    )
    assert after_all == before_all, "foreign rows changed during the sweep"

    # --- positive control: the same calls with the attacker's own fresh ids get through
    succeeded: set[str] = set()
    for swept in fields:
        for position in swept.positions:
            table = infer_table(position.path, swept.name)
            fresh = await seed_profile(sessions, attacker, home)
            fresh.ids["profiles"] = [await attacker.create_profile(_marker())]
            fresh.ids["users"] = [attacker.id]
            own_id = fresh.first(table) if table else None
            if own_id is None:
                continue
            value = [own_id] if position.is_list else own_id
            result = await call(swept, {position.path: value}, fresh)
            where = f"{swept.name}{list(position.path)} with own {table} id"
            assert not set(result.codes) & ID_LOOKUP_CODES, f"{where}: {result.body}"
            if not result.errors and (result.data or {}).get(swept.name) is not None:
                succeeded.add(swept.name)
    assert succeeded >= MUST_SWEEP, f"own-id calls failed for {MUST_SWEEP - succeeded}"

    # The attacker's own changes above never touched the victim either.
    assert await snapshot(sessions, watched_users, watched_profiles) == before_victim
