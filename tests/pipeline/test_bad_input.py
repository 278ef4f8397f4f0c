"""Refused job mutations: the DESIGN §6 error code, and nothing written (no jobs rows, no
clips rows, no files), checked through a system session and by walking the data dir."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.api import GraphQLResult
from tests.api import TestUser as User  # aliased: pytest would try to collect it
from tests.pipeline.conftest import EXPORT, EXTRACT, GENERATE, Env, files_under
from tests.pipeline.videos import PIPELINE

GOOD_CLIPS = {"variantCount": 2, "clipSeconds": 3, "aspect": "R9_16", "accurate": True}
FAST_CLIP = {"variantCount": 1, "clipSeconds": 4, "aspect": "SOURCE", "accurate": False}


@dataclass
class World:
    owner: User  # default profile: `own` (with a video) and `empty` (none)
    sibling_profile: str  # the owner's other profile: `sibling` (with a video)
    stranger: User  # another user: `foreign` (with a video)
    own: str
    empty: str
    sibling: str
    foreign: str


async def make_world(env: Env, video: bytes) -> World:
    owner = await env.api.new_user()
    stranger = await env.api.new_user()
    sibling_profile = await owner.create_profile("Second channel")
    return World(
        owner=owner,
        sibling_profile=sibling_profile,
        stranger=stranger,
        own=await env.project_with_video(owner, video, "own"),
        empty=await owner.create_project("empty"),
        sibling=await env.project_with_video(owner, video, "sibling", sibling_profile),
        foreign=await env.project_with_video(stranger, video, "foreign"),
    )


Snapshot = tuple[int, int, list[tuple[Path, int]]]


async def snapshot(env: Env) -> Snapshot:
    jobs, clips = await env.counts()
    files = [(p, p.stat().st_size) for p in files_under(env.settings.data_dir)]
    return jobs, clips, files


async def refused(
    env: Env, code: str, call: Callable[[], Awaitable[GraphQLResult]], what: str
) -> None:
    """``call`` answers exactly one error with ``code`` and changes nothing."""
    before = await snapshot(env)
    result = await call()
    assert result.codes == [code], f"{what}: {result}"
    assert result.data is None, f"{what}: {result}"
    assert await snapshot(env) == before, f"{what} wrote something"


async def test_extract_and_generate_refusals(env: Env, videos: dict[str, bytes]) -> None:
    world = await make_world(env, videos[PIPELINE.name])
    owner = world.owner

    def extract(project_id: str) -> Callable[[], Awaitable[GraphQLResult]]:
        return lambda: owner.gql(EXTRACT, {"p": project_id})

    def generate(project_id: str, **changes: Any) -> Callable[[], Awaitable[GraphQLResult]]:
        return lambda: owner.gql(GENERATE, {"p": project_id, "input": {**GOOD_CLIPS, **changes}})

    not_found = {
        "another user's project": world.foreign,
        "the same user's other profile's project": world.sibling,
        "an unknown id": str(uuid.uuid4()),
        "a malformed id": "not-a-project-id",
    }
    for label, project_id in not_found.items():
        await refused(env, "NOT_FOUND", extract(project_id), f"extractSegments: {label}")
        await refused(env, "NOT_FOUND", generate(project_id), f"generateRawClips: {label}")

    bad_inputs: dict[str, dict[str, Any]] = {
        "variantCount 0": {"variantCount": 0},
        "variantCount -1": {"variantCount": -1},
        "variantCount 10000": {"variantCount": 10_000},
        "clipSeconds 0": {"clipSeconds": 0},
        "clipSeconds negative": {"clipSeconds": -4},
        "clipSeconds longer than the source": {"variantCount": 1, "clipSeconds": 16.5},
        "variantCount x clipSeconds longer than the source": {"variantCount": 5, "clipSeconds": 4},
        "4 x 4.01 s in 16 s": {"variantCount": 4, "clipSeconds": 4.01},
    }
    for label, changes in bad_inputs.items():
        await refused(env, "BAD_USER_INPUT", generate(world.own, **changes), label)
    await refused(env, "BAD_USER_INPUT", extract(world.empty), "extractSegments, no video")
    await refused(env, "BAD_USER_INPUT", generate(world.empty), "generateRawClips, no video")
    await refused(
        env,
        "BAD_USER_INPUT",
        lambda: owner.gql(GENERATE, {"p": world.empty}),
        "generateRawClips, no video, default input",
    )

    # Controls: the same calls succeed where they should (the refusals were about the
    # profile and the input, not the call).
    for user, project_id, profile_id in (
        (owner, world.sibling, world.sibling_profile),
        (world.stranger, world.foreign, None),
    ):
        job = await env.start(user, EXTRACT, {"p": project_id}, profile_id)
        assert (await env.wait(user, job["id"], profile_id=profile_id)).job["status"] == "SUCCEEDED"
    edge = {**GOOD_CLIPS, "variantCount": 4, "clipSeconds": 4}  # exactly fills 16 s
    job = await env.start(owner, GENERATE, {"p": world.own, "input": edge})
    assert (await env.wait(owner, job["id"])).job["status"] == "SUCCEEDED"
    assert len(await env.clips(owner, world.own)) == 4


async def test_export_refusals(env: Env, videos: dict[str, bytes]) -> None:
    world = await make_world(env, videos[PIPELINE.name])
    owner = world.owner
    for user, project_id, profile_id in (
        (owner, world.own, None),
        (owner, world.sibling, world.sibling_profile),
        (world.stranger, world.foreign, None),
    ):
        await env.run_job(user, GENERATE, {"p": project_id, "input": FAST_CLIP}, profile_id)
    [own] = await env.clips(owner, world.own)
    [sibling] = await env.clips(owner, world.sibling, world.sibling_profile)
    [foreign] = await env.clips(world.stranger, world.foreign)
    length = own["durationSeconds"]

    def export(ids: list[str], **given: Any) -> Callable[[], Awaitable[GraphQLResult]]:
        return lambda: owner.gql(EXPORT, {"ids": ids, "input": {"height": 240, **given}})

    not_found = {
        "another user's clip": [foreign["id"]],
        "the same user's other profile's clip": [sibling["id"]],
        "an unknown id": [str(uuid.uuid4())],
        "a malformed id": ["not-a-clip-id"],
        "an own clip and another user's": [own["id"], foreign["id"]],
    }
    for label, ids in not_found.items():
        await refused(env, "NOT_FOUND", export(ids), f"exportClips: {label}")

    def mute(*ranges: tuple[float, float]) -> dict[str, Any]:
        return {"muteRanges": [{"startSeconds": a, "endSeconds": b} for a, b in ranges]}

    bad_inputs: dict[str, tuple[list[str], dict[str, Any]]] = {
        "no clips": ([], {}),
        "odd height": ([own["id"]], {"height": 241}),
        "height 100": ([own["id"]], {"height": 100}),
        "height 5000": ([own["id"]], {"height": 5000}),
        "mute range starting before the clip": ([own["id"]], mute((-0.5, 1.0))),
        "mute range ending after the clip": ([own["id"]], mute((1.0, length + 0.5))),
        "mute range wholly after the clip": ([own["id"]], mute((length + 1, length + 2))),
        "reversed mute range": ([own["id"]], mute((2.0, 1.0))),
        "empty mute range": ([own["id"]], mute((1.0, 1.0))),
        "one good, one reversed mute range": ([own["id"]], mute((0.5, 1.0), (3.0, 2.5))),
        "subtitle of 501 characters": ([own["id"]], {"subtitleText": "x" * 501}),
    }
    for label, (ids, given) in bad_inputs.items():
        await refused(env, "BAD_USER_INPUT", export(ids, **given), f"exportClips: {label}")

    # Control: mute ranges in any order, overlapping, are one valid request (muted as
    # their union), not a job that fails later.
    job = await env.start(
        owner, EXPORT, {"ids": [own["id"]], "input": {"height": 240, **mute((2, 3), (0.5, 2.5))}}
    )
    done = await env.wait(owner, job["id"])
    assert (done.job["status"], done.job["attempts"]) == ("SUCCEEDED", 1), done.job
    assert (await env.clips(owner, world.own))[0]["status"] == "EXPORTED"
