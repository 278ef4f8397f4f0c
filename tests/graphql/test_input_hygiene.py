"""Input hygiene (graphql/input_hygiene.py) and the rules for malformed ids and cursors.

Every string argument, literal or variable, at any depth, is refused with BAD_USER_INPUT
naming its path when it holds a character the database cannot store (NUL, a lone
surrogate) or exceeds the general cap; nothing is written. Malformed ids answer
NOT_FOUND, malformed cursors BAD_USER_INPUT, everywhere. On both backends.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from graphql import GraphQLError, build_schema, parse, validate
from sqlalchemy import func, select

from editai.db.tenancy import SessionFactory
from editai.graphql.input_hygiene import (
    StringLiteralRule,
    first_variable_problem,
    format_path,
    input_hygiene,
    string_problem,
)
from editai.graphql.schema import build_schema as build_api_schema
from editai.jobs.models import Job
from editai.profiles.models import Profile
from editai.projects.models import Project
from editai.publishing.models import Publication
from editai.settings import Settings
from editai.tts.models import Voiceover
from tests.api import Api, GraphQLResult

if TYPE_CHECKING:
    from tests.api import TestUser

CAP = Settings().max_string_length
NUL = "a\x00b"
TOO_LONG = "x" * (CAP + 1)
HIGH_SURROGATE = "a\ud800"
LOW_SURROGATE = "\udfffz"
# Bad values and the words their error message must contain.
BAD_VALUES = [
    (NUL, "U+0000"),
    ("\x00", "U+0000"),
    ("é\x00", "U+0000"),  # the non-ASCII path of the check
    (HIGH_SURROGATE, "U+D800"),
    (LOW_SURROGATE, "U+DFFF"),
    (TOO_LONG, f"at most {CAP} characters"),
]


def _literal(value: str) -> str:
    """A GraphQL string literal: JSON's escapes are GraphQL's (\\u0000 included)."""
    return json.dumps(value)


# --- the checks themselves ---------------------------------------------------------


def test_string_problem_accepts_what_the_databases_store() -> None:
    for good in ["", "plain", "tab\tnew\nline", "ünïcödé", "😀", "\ufffe", "\x7f\x01", "x" * CAP]:
        assert string_problem(good, CAP) is None, repr(good)
    for bad, words in BAD_VALUES:
        problem = string_problem(bad, CAP)
        assert problem is not None, bad[:10]
        assert words in problem, (bad[:10], problem)


def test_variable_paths_at_any_depth() -> None:
    variables = {
        "ok": "fine",
        "input": {"name": "fine", "items": [{"tags": ["a", "b", NUL]}]},
        "n": 3,
        "upload": object(),  # an Upload is no string: left alone
    }
    assert first_variable_problem(variables, CAP) == (
        "input.items[0].tags[2]",
        "must not contain U+0000 (NUL)",
    )
    assert first_variable_problem({"a": [1, 2.5, None, True, {"b": "ok"}]}, CAP) is None
    assert format_path(["clipIds", 1]) == "clipIds[1]"


def test_deep_variables_do_not_exhaust_the_stack() -> None:
    deep: Any = NUL
    for _ in range(50_000):
        deep = [deep]
    found = first_variable_problem({"v": deep}, CAP)
    assert found is not None
    assert found[0] == "v" + "[0]" * 50_000


TOY_SCHEMA = build_schema(
    """
    input Tag { label: String! }
    input Item { name: String, tags: [Tag!] }
    type Query { f(input: Item, ids: [ID!], s: String): Int }
    """
)


def _literal_errors(document: str) -> list[GraphQLError]:
    rule = type("Rule", (StringLiteralRule,), {"max_length": CAP})
    return validate(TOY_SCHEMA, parse(document), [rule])


def test_literal_paths_at_any_depth() -> None:
    errors = _literal_errors(
        "query($v: String = " + _literal(NUL) + ") { f("
        f'input: {{name: "ok", tags: [{{label: "ok"}}, {{label: {_literal(NUL)}}}]}}, '
        f'ids: ["ok", {_literal(TOO_LONG)}], s: """block\u0000""") }}'
    )
    assert [e.extensions for e in errors] == [
        {"code": "BAD_USER_INPUT", "field": "$v"},
        {"code": "BAD_USER_INPUT", "field": "input.tags[1].label"},
        {"code": "BAD_USER_INPUT", "field": "ids[1]"},
        {"code": "BAD_USER_INPUT", "field": "s"},
    ]
    assert errors[1].message == "input.tags[1].label must not contain U+0000 (NUL)"
    assert _literal_errors('{ f(input: {name: "ok", tags: [{label: "ü"}]}, s: "😀") }') == []


def test_the_rule_class_is_built_once_so_the_validation_cache_hits() -> None:
    factory = input_hygiene(Settings())
    assert factory().rule is factory().rule


async def test_subscriptions_are_checked_too() -> None:
    """Strawberry's subscription path ends the operation with the error raised in on_execute."""
    schema = build_api_schema(Settings())
    stream = await schema.subscribe(
        "subscription($id: ID) { jobUpdated(id: $id) { id } }", variable_values={"id": NUL}
    )
    assert not isinstance(stream, GraphQLError)
    results = [r async for r in stream]  # type: ignore[union-attr]
    assert len(results) == 1
    (error,) = results[0].errors or []
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": "id"}


# --- through the API, on both backends --------------------------------------------


async def _footprint(sessions: SessionFactory, user: TestUser) -> dict[str, int]:
    """Rows the user owns, table by table."""
    profiles = [uuid.UUID(p) for p in (user.default_profile_id, *user.profile_ids)]
    async with sessions.system() as session:
        counts = {
            "profiles": await session.scalar(
                select(func.count())
                .select_from(Profile)
                .where(Profile.user_id == uuid.UUID(user.id))
            )
        }
        for model in (Project, Job, Publication, Voiceover):
            counts[model.__tablename__] = await session.scalar(
                select(func.count()).select_from(model).where(model.profile_id.in_(profiles))
            )
    return {name: int(n or 0) for name, n in counts.items()}


@dataclass(frozen=True)
class Case:
    """One argument of one field: ``document(value)`` puts ``value`` into it as a literal,
    ``variables(value)`` as a variable of ``variable_document``. ``good`` is the answer to
    ``good_value``: the request gets past the hygiene (None: it succeeds)."""

    name: str
    path: str
    variable_document: str
    variables: Callable[[dict[str, str], str], dict[str, Any]]
    document: Callable[[dict[str, str], str], str]
    good: str | None = None  # None: succeeds
    good_value: str = "ok"


def _publish(ids: dict[str, str], content: str, integration: str) -> str:
    return (
        f'mutation {{ publishClips(clipIds: ["{ids["clip"]}"], '
        f'integrationIds: ["chan-1", {integration}], content: {content}, mode: NOW) {{ id }} }}'
    )


CASES = [
    Case(
        "createProject.name",
        "input.name",
        "mutation($input: CreateProjectInput!) { createProject(input: $input) { id } }",
        lambda ids, v: {"input": {"name": v}},
        lambda ids, v: f"mutation {{ createProject(input: {{name: {_literal(v)}}}) {{ id }} }}",
    ),
    Case(
        "createProject.description",
        "input.description",
        "mutation($input: CreateProjectInput!) { createProject(input: $input) { id } }",
        lambda ids, v: {"input": {"name": "ok", "description": v}},
        lambda ids, v: (
            'mutation { createProject(input: {name: "ok", '
            f"description: {_literal(v)}}}) {{ id }} }}"
        ),
    ),
    Case(
        "updateProject.name",
        "input.name",
        "mutation($id: ID!, $input: UpdateProjectInput!) "
        "{ updateProject(id: $id, input: $input) { id } }",
        lambda ids, v: {"id": ids["project"], "input": {"name": v}},
        lambda ids, v: (
            f'mutation {{ updateProject(id: "{ids["project"]}", '
            f"input: {{name: {_literal(v)}}}) {{ id }} }}"
        ),
    ),
    Case(
        "createProfile.postizApiKey",
        "input.postizApiKey",
        "mutation($input: CreateProfileInput!) { createProfile(input: $input) { id } }",
        lambda ids, v: {"input": {"name": f"p-{uuid.uuid4().hex[:8]}", "postizApiKey": v}},
        lambda ids, v: (
            f'mutation {{ createProfile(input: {{name: "p-{uuid.uuid4().hex[:8]}", '
            f"postizApiKey: {_literal(v)}}}) {{ id }} }}"
        ),
    ),
    Case(
        "updateProfile.ttsVoiceId",
        "input.ttsVoiceId",
        "mutation($id: ID!, $input: UpdateProfileInput!) "
        "{ updateProfile(id: $id, input: $input) { id } }",
        lambda ids, v: {"id": ids["profile"], "input": {"ttsVoiceId": v}},
        lambda ids, v: (
            f'mutation {{ updateProfile(id: "{ids["profile"]}", '
            f"input: {{ttsVoiceId: {_literal(v)}}}) {{ id }} }}"
        ),
    ),
    Case(
        "synthesizeVoiceover.text",
        "text",
        "mutation($p: ID!, $text: String!) { synthesizeVoiceover(projectId: $p, text: $text) "
        "{ id } }",
        lambda ids, v: {"p": ids["project"], "text": v},
        lambda ids, v: (
            f'mutation {{ synthesizeVoiceover(projectId: "{ids["project"]}", '
            f"text: {_literal(v)}) {{ id }} }}"
        ),
        good="BAD_USER_INPUT",  # blank text, refused by the service: no job is queued
        good_value="   ",
    ),
    Case(
        "synthesizeVoiceover.voiceId",
        "input.voiceId",
        "mutation($p: ID!, $input: SynthesizeVoiceoverInput) "
        '{ synthesizeVoiceover(projectId: $p, text: "hello", input: $input) { id } }',
        lambda ids, v: {"p": ids["project"], "input": {"voiceId": v}},
        lambda ids, v: (
            f'mutation {{ synthesizeVoiceover(projectId: "{ids["project"]}", text: "hello", '
            f"input: {{voiceId: {_literal(v)}}}) {{ id }} }}"
        ),
        good="BAD_USER_INPUT",  # "ok" is no eSpeak voice: refused by the service
    ),
    Case(
        "publishClips.content",
        "content",
        "mutation($clipIds: [ID!]!, $integrationIds: [String!]!, $content: String!) "
        "{ publishClips(clipIds: $clipIds, integrationIds: $integrationIds, content: $content, "
        "mode: NOW) { id } }",
        lambda ids, v: {
            "clipIds": [ids["clip"]],
            "integrationIds": ["chan-1", "chan-2"],
            "content": v,
        },
        lambda ids, v: _publish(ids, _literal(v), '"chan-2"'),
        good="NOT_FOUND",  # no such clip
    ),
    Case(
        "publishClips.integrationIds",
        "integrationIds[1]",
        "mutation($clipIds: [ID!]!, $integrationIds: [String!]!) "
        '{ publishClips(clipIds: $clipIds, integrationIds: $integrationIds, content: "hi", '
        "mode: NOW) { id } }",
        lambda ids, v: {"clipIds": [ids["clip"]], "integrationIds": ["chan-1", v]},
        lambda ids, v: _publish(ids, '"hi"', _literal(v)),
        good="NOT_FOUND",
    ),
    Case(
        "exportClips.clipIds",
        "clipIds[1]",
        "mutation($clipIds: [ID!]!) { exportClips(clipIds: $clipIds) { id } }",
        lambda ids, v: {"clipIds": [ids["clip"], v]},
        lambda ids, v: (
            f'mutation {{ exportClips(clipIds: ["{ids["clip"]}", {_literal(v)}]) {{ id }} }}'
        ),
        good="NOT_FOUND",
    ),
    Case(
        "exportClips.subtitleText",
        "input.subtitleText",
        "mutation($c: [ID!]!, $input: ExportClipsInput) "
        "{ exportClips(clipIds: $c, input: $input) { id } }",
        lambda ids, v: {"c": [ids["clip"]], "input": {"height": 720, "subtitleText": v}},
        lambda ids, v: (
            f'mutation {{ exportClips(clipIds: ["{ids["clip"]}"], '
            f"input: {{height: 720, subtitleText: {_literal(v)}}}) {{ id }} }}"
        ),
        good="NOT_FOUND",
    ),
    Case(
        "project.id",
        "id",
        "query($id: ID!) { project(id: $id) { id } }",
        lambda ids, v: {"id": v},
        lambda ids, v: f"{{ project(id: {_literal(v)}) {{ id }} }}",
        good="NOT_FOUND",
    ),
    Case(
        "projects.after",
        "after",
        "query($after: String) { projects(after: $after) { edges { cursor } } }",
        lambda ids, v: {"after": v},
        lambda ids, v: f"{{ projects(after: {_literal(v)}) {{ edges {{ cursor }} }} }}",
        good="BAD_USER_INPUT",  # "ok" is no cursor
    ),
]


async def _send(
    user: TestUser, query: str, variables: dict[str, Any] | None = None
) -> GraphQLResult:
    """POST as a browser's JSON.stringify does: a lone surrogate travels as "\\ud800"
    (httpx would encode the body as UTF-8, which a lone surrogate cannot be)."""
    response = await user.api.client.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables or {}}),
        headers={"Authorization": f"Bearer {user.token}", "Content-Type": "application/json"},
    )
    return GraphQLResult(response.status_code, response.json())


def _assert_refused(result: GraphQLResult, path: str, words: str) -> None:
    assert result.status_code == 200, result
    assert result.code == "BAD_USER_INPUT", result
    error = result.errors[0]
    assert error["extensions"]["field"] == path, result
    assert error["message"].startswith(path), result
    assert words in error["message"], result
    assert not result.data, result


def _is_surrogate(value: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in value)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_bad_strings_are_refused_before_anything_is_written(
    api: Api, sessions: SessionFactory, case: Case
) -> None:
    user = await api.new_user()
    ids = {
        "project": await user.create_project("hygiene"),
        "profile": await user.create_profile(f"second-{uuid.uuid4().hex[:8]}"),
        "clip": str(uuid.uuid4()),  # no such clip: the hygiene answers before any lookup
    }
    read = f"""{{ project(id: "{ids["project"]}") {{ name description }}
                 profiles {{ id name ttsVoiceId hasPostizApiKey }} }}"""
    state = (await user.gql(read)).ok()
    before = await _footprint(sessions, user)

    for value, words in BAD_VALUES:
        _assert_refused(
            await _send(user, case.variable_document, case.variables(ids, value)),
            case.path,
            words,
        )
        literal = await _send(user, case.document(ids, value))
        if _is_surrogate(value):
            # GraphQL's lexer refuses a lone surrogate escape in the document itself.
            assert literal.code == "BAD_USER_INPUT", literal
            assert "Syntax Error" in literal.errors[0]["message"], literal
        else:
            _assert_refused(literal, case.path, words)

    assert await _footprint(sessions, user) == before
    assert (await user.gql(read)).ok() == state

    # The same requests with a harmless value get past the hygiene.
    for result in (
        await _send(user, case.variable_document, case.variables(ids, case.good_value)),
        await _send(user, case.document(ids, case.good_value)),
    ):
        if case.good is None:
            result.ok()
        else:
            assert result.code == case.good, result
            assert "must not contain" not in result.errors[0]["message"], result


async def test_nul_in_a_project_name_is_bad_user_input(api: Api, sessions: SessionFactory) -> None:
    """Regression (issue 7): PostgreSQL answered INTERNAL_SERVER_ERROR
    (CharacterNotInRepertoireError)."""
    user = await api.new_user()
    before = await _footprint(sessions, user)
    result = await user.gql('mutation { createProject(input: {name: "a\\u0000b"}) { id } }')
    _assert_refused(result, "input.name", "U+0000")
    assert await _footprint(sessions, user) == before


async def test_strings_up_to_the_cap_and_any_unicode_are_stored(api: Api) -> None:
    user = await api.new_user()
    description = "ünïcödé 😀 \ufffe tab\t" + "d" * 4000
    result = await user.gql(
        "mutation($input: CreateProjectInput!) "
        "{ createProject(input: $input) { name description } }",
        {"input": {"name": "naïve 😀", "description": description}},
    )
    assert result.ok()["createProject"] == {"name": "naïve 😀", "description": description}


# Per-field limits stay with their services; they too answer before any write.
LIMITS: list[tuple[str, Callable[[dict[str, str]], dict[str, Any]], str]] = [
    (
        "mutation($input: CreateProfileInput!) { createProfile(input: $input) { id } }",
        lambda ids: {"input": {"name": "n" * 101}},
        "name",
    ),
    (
        "mutation($input: CreateProjectInput!) { createProject(input: $input) { id } }",
        lambda ids: {"input": {"name": "n" * 201}},
        "name",
    ),
    (
        "mutation($input: CreateProjectInput!) { createProject(input: $input) { id } }",
        lambda ids: {"input": {"name": "ok", "description": "d" * 5001}},
        "description",
    ),
    (
        "mutation($id: ID!, $input: UpdateProfileInput!) "
        "{ updateProfile(id: $id, input: $input) { id } }",
        lambda ids: {"id": ids["profile"], "input": {"name": "new", "ttsVoiceId": "v" * 201}},
        "ttsVoiceId",
    ),
    (
        "mutation($id: ID!, $input: UpdateProfileInput!) "
        "{ updateProfile(id: $id, input: $input) { id } }",
        lambda ids: {"id": ids["profile"], "input": {"postizApiUrl": "https://x/" + "u" * 500}},
        "postizApiUrl",
    ),
    (
        "mutation($id: ID!, $input: UpdateProfileInput!) "
        "{ updateProfile(id: $id, input: $input) { id } }",
        lambda ids: {"id": ids["profile"], "input": {"geminiApiKey": "k" * 1001}},
        "geminiApiKey",
    ),
    (
        "mutation($id: ID!, $input: UpdateProjectInput!) "
        "{ updateProject(id: $id, input: $input) { id } }",
        lambda ids: {"id": ids["project"], "input": {"name": "new", "description": "d" * 5001}},
        "description",
    ),
    (
        "mutation($p: ID!, $text: String!) { synthesizeVoiceover(projectId: $p, text: $text) "
        "{ id } }",
        lambda ids: {"p": ids["project"], "text": "t" * 5001},
        "text",
    ),
]


async def test_per_field_limits_answer_before_any_write(api: Api, sessions: SessionFactory) -> None:
    user = await api.new_user()
    ids = {
        "project": await user.create_project("limits"),
        "profile": await user.create_profile(f"limits-{uuid.uuid4().hex[:8]}"),
    }
    read = f"""{{ project(id: "{ids["project"]}") {{ name description }}
                 profiles {{ id name ttsVoiceId postizApiUrl hasGeminiApiKey }} }}"""
    before = await _footprint(sessions, user)
    state = (await user.gql(read)).ok()
    for document, variables, field in LIMITS:
        result = await user.gql(document, variables(ids))
        assert result.code == "BAD_USER_INPUT", (field, result)
        assert result.errors[0]["extensions"]["field"] == field, result
    assert await _footprint(sessions, user) == before
    assert (await user.gql(read)).ok() == state


# --- malformed ids and cursors ----------------------------------------------------

MALFORMED_IDS = ["garbage", "", "123", "00000000-0000-0000-0000-00000000000g", "' OR 1=1 --"]

ID_FIELDS = [
    "query($id: ID!) { project(id: $id) { id } }",
    "query($id: ID!) { clip(id: $id) { id } }",
    "query($id: ID!) { job(id: $id) { id } }",
    "query($id: ID!) { voiceover(id: $id) { id } }",
    "query($id: ID) { publications(jobId: $id) { edges { cursor } } }",
    "query($id: ID) { publications(clipId: $id) { edges { cursor } } }",
    'mutation($id: ID!) { updateProject(id: $id, input: {name: "x"}) { id } }',
    "mutation($id: ID!) { deleteProject(id: $id) }",
    'mutation($id: ID!) { updateProfile(id: $id, input: {name: "x"}) { id } }',
    "mutation($id: ID!) { setDefaultProfile(id: $id) { id } }",
    "mutation($id: ID!) { deleteProfile(id: $id) }",
    "mutation($id: ID!) { cancelJob(id: $id) { id } }",
    "mutation($id: ID!) { retryJob(id: $id) { id } }",
    "mutation($id: ID!) { extractSegments(projectId: $id) { id } }",
    "mutation($id: ID!) { generateRawClips(projectId: $id) { id } }",
    "mutation($id: ID!) { analyzeVideo(projectId: $id) { id } }",
    'mutation($id: ID!) { synthesizeVoiceover(projectId: $id, text: "hi") { id } }',
    "mutation($id: ID!) { deleteVoiceover(id: $id) }",
    "mutation($id: ID!) { exportClips(clipIds: [$id]) { id } }",
    'mutation($id: ID!) { publishClips(clipIds: [$id], integrationIds: ["c"], content: "x", '
    "mode: NOW) { id } }",
]


async def test_malformed_ids_are_not_found_everywhere(api: Api, sessions: SessionFactory) -> None:
    user = await api.new_user()
    await user.create_project("ids")
    before = await _footprint(sessions, user)
    for document in ID_FIELDS:
        for bad in MALFORMED_IDS:
            result = await user.gql(document, {"id": bad})
            assert result.code == "NOT_FOUND", (document, bad, result)
        # An id as an Int literal is coerced to a string: the same answer.
        literal = document.split("{", 1)[1].rsplit("}", 1)[0].replace("$id", "42")
        head = "mutation" if document.startswith("mutation") else "query"
        result = await user.gql(f"{head} {{{literal}}}")
        assert result.code == "NOT_FOUND", (literal, result)
    # A malformed id next to a valid one in a list: still NOT_FOUND.
    project = await user.create_project("ids-2")
    result = await user.gql(
        "mutation($c: [ID!]!) { exportClips(clipIds: $c) { id } }", {"c": [project, "garbage"]}
    )
    assert result.code == "NOT_FOUND", result
    assert await _footprint(sessions, user) == {**before, "projects": before["projects"] + 1}


async def test_malformed_upload_project_id_is_not_found(api: Api) -> None:
    user = await api.new_user()
    result = await user.upload(
        "mutation($p: ID!, $file: Upload!) { uploadSourceVideo(projectId: $p, file: $file) "
        "{ id } }",
        {"p": "garbage"},
        {"file": ("v.mp4", b"not a video")},
    )
    assert result.code == "NOT_FOUND", result


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


MALFORMED_CURSORS = [
    "garbage",
    "!!!",
    _b64("not json"),
    _b64("[1, 2]"),
    _b64("{}"),
    _b64('["2024-01-01T00:00:00", "00000000-0000-0000-0000-000000000001"]'),  # naive
    _b64('["2024-01-01T00:00:00+00:00", "not-a-uuid"]'),
    _b64('["9999-12-31T23:59:59-23:59", "00000000-0000-0000-0000-000000000001"]'),
    _b64("[" * 2000 + "]" * 2000),  # deeper than the JSON parser's recursion; under the cap
    _b64('["a", "b", "c"]'),
    base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
]

CURSOR_FIELDS = [
    "query($after: String) { projects(first: 5, after: $after) { edges { cursor } } }",
    "query($after: String) { jobs(first: 5, after: $after) { edges { cursor } } }",
    "query($after: String) { publications(first: 5, after: $after) { edges { cursor } } }",
    "query($p: ID!, $after: String) { project(id: $p) "
    "{ clips(first: 5, after: $after) { edges { cursor } } } }",
]


async def test_malformed_cursors_are_bad_user_input(api: Api) -> None:
    user = await api.new_user()
    project = await user.create_project("cursors")
    for document in CURSOR_FIELDS:
        for bad in MALFORMED_CURSORS:
            result = await user.gql(document, {"after": bad, "p": project})
            assert result.code == "BAD_USER_INPUT", (document, bad, result)
            assert result.errors[0]["extensions"]["field"] == "after", result


NESTED_BAD_CURSOR = """
{ projects { edges { node { id
    clips(first: 5, after: "garbage") { edges { node { id } } }
    segments { id } voiceovers { id } } } } }
"""


async def test_nested_bad_cursor_is_bad_user_input_and_the_server_keeps_answering(
    api: Api,
) -> None:
    """Regression (issue 7, found 1 and 2): the query of the report, several times."""
    user = await api.new_user()
    await user.create_project("nested-1")
    await user.create_project("nested-2")
    for _ in range(3):
        result = await user.gql(NESTED_BAD_CURSOR)
        assert result.status_code == 200, result
        assert set(result.codes) == {"BAD_USER_INPUT"}, result
        assert all(e["extensions"]["field"] == "after" for e in result.errors), result
    listed = (await user.gql("{ projects { edges { node { name } } } }")).ok()
    assert {e["node"]["name"] for e in listed["projects"]["edges"]} == {"nested-1", "nested-2"}
