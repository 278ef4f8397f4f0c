"""Mutation fields run in document order, one at a time; a failure that nulls ``data``
ends the operation without leaving the later fields' coroutines behind never awaited
(graphql-core 3.2 made them all up front: a RuntimeWarning and, in a server, tracebacks
in its log for every such request; found by the fuzz, tests/robustness)."""

from __future__ import annotations

import gc
import warnings

from tests.api import Api

FAILS_THEN_CREATES = """mutation {
  exportClips(clipIds: []) { id }
  createProject(input: {name: "after the failure"}) { id }
}"""
TWO_IN_ORDER = """mutation {
  first: createProject(input: {name: "one"}) { id name }
  second: updateProject(id: "%s", input: {name: "renamed by the second field"}) { id name }
  third: createProject(input: {name: "three"}) { id name }
}"""
NAMES = "{ projects(first: 50) { edges { node { name } } } }"


async def names(api: Api, token: str) -> list[str]:
    data = (await api.gql(NAMES, token=token)).ok()
    return sorted(edge["node"]["name"] for edge in data["projects"]["edges"])


async def test_a_failed_first_field_ends_the_operation_and_leaves_nothing_unawaited(
    api: Api,
) -> None:
    user = await api.new_user()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = await user.gql(FAILS_THEN_CREATES)
        gc.collect()  # a dropped coroutine warns when it is collected
    assert result.body["data"] is None
    assert result.codes == ["BAD_USER_INPUT"]
    never_awaited = [str(w.message) for w in caught if "never awaited" in str(w.message)]
    assert never_awaited == []
    assert await names(api, user.token) == []  # the later field did not run


async def test_fields_run_one_after_another_in_document_order(api: Api) -> None:
    user = await api.new_user()
    existing = await user.create_project("zero")
    result = await user.gql(TWO_IN_ORDER % existing)
    data = result.ok()
    assert data["first"]["name"] == "one"
    assert data["second"] == {"id": existing, "name": "renamed by the second field"}
    assert data["third"]["name"] == "three"
    assert await names(api, user.token) == ["one", "renamed by the second field", "three"]
