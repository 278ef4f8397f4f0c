"""publishClips and the publishing queries refuse bad input with a code and write nothing:
no job, no publication row, no call to Postiz beyond the channel check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.pipeline.conftest import expect
from tests.publishing.conftest import (
    INTEGRATIONS,
    PUBLICATIONS,
    PUBLISH,
    fake_postiz,
    make_clips,
    own_id,
    publish_vars,
    publishing_env,
    row_counts,
)


async def test_bad_input_is_refused_and_writes_nothing(
    engine: AsyncEngine, tmp_path: Path, video: bytes
) -> None:
    async with fake_postiz() as (fake, url), publishing_env(engine, tmp_path, (fake, url)) as env:
        user = await env.api.new_user()
        clips = await make_clips(env, user, video)
        x, linkedin = fake.channel("x")["id"], fake.channel("linkedin")["id"]
        disabled = fake.channel("youtube")["id"]
        soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        far = (datetime.now(UTC) + timedelta(days=400)).isoformat()
        one = clips[:1]
        cases: dict[str, dict[str, Any]] = {
            "no clips": publish_vars([], [x]),
            "clip twice": publish_vars([clips[0], clips[0]], [x]),
            "eleven clips": {**publish_vars(one, [x]), "clipIds": [clips[0]["id"]] * 11},
            "no channels": publish_vars(one, []),
            "channel twice": publish_vars(one, [x, x]),
            "blank channel": publish_vars(one, [" "]),
            "channel id too long": publish_vars(one, ["i" * 201]),
            "21 channels": publish_vars(one, [f"c{i}" for i in range(21)]),
            "empty content": publish_vars(one, [x], content=""),
            "blank content": publish_vars(one, [x], content="  \n "),
            "content too long": publish_vars(one, [x], content="a" * 5001),
            "schedule without date": publish_vars(one, [x], "SCHEDULE"),
            "schedule in the past": publish_vars(one, [x], "SCHEDULE", date=past),
            "schedule too far": publish_vars(one, [x], "SCHEDULE", date=far),
            "now with a date": publish_vars(one, [x], "NOW", date=soon),
            "draft with a date": publish_vars(one, [x], "DRAFT", date=soon),
            "unknown channel": publish_vars(one, [x, "no-such-channel"]),
            "disabled channel": publish_vars(one, [linkedin, disabled]),
        }
        before = await row_counts(env)
        for name, variables in cases.items():
            result = await user.gql(PUBLISH, variables)
            assert result.codes == ["BAD_USER_INPUT"], (name, result)
            assert result.data is None, name
        assert await row_counts(env) == before
        assert fake.uploads == {}
        assert fake.calls("POST", "/posts") == []
        # Only the two channel checks reached Postiz: every other case failed before.
        assert len(fake.calls("GET", "/integrations")) == 2

        # A bad mode is refused by the schema itself.
        bad_mode = await user.gql(PUBLISH, publish_vars(one, [x], "LATER"))
        expect(bad_mode, "BAD_USER_INPUT")
        # Exactly 5000 characters and a date one hour ahead are fine.
        ok = await user.gql(PUBLISH, publish_vars(one, [x], "SCHEDULE", "a" * 5000, soon))
        assert ok.ok()["publishClips"]["kind"] == "PUBLISH_CLIPS"


async def test_foreign_and_unknown_ids_are_not_found(
    engine: AsyncEngine, tmp_path: Path, video: bytes
) -> None:
    async with fake_postiz() as (fake, url), publishing_env(engine, tmp_path, (fake, url)) as env:
        owner = await env.api.new_user()
        owner_clips = await make_clips(env, owner, video, count=1)
        job = await env.run_job(
            owner, PUBLISH, publish_vars(owner_clips, [fake.channel("x")["id"]])
        )
        intruder = await env.api.new_user()
        mine = await make_clips(env, intruder, video, count=1)
        second_profile = await intruder.create_profile("Second")
        x = fake.channel("x")["id"]

        before = await row_counts(env)
        attempts = {
            "another user's clip": publish_vars(owner_clips, [x]),
            "own and foreign": publish_vars([*mine, *owner_clips], [x]),
            "unknown": {**publish_vars(mine, [x]), "clipIds": [own_id()]},
            "malformed": {**publish_vars(mine, [x]), "clipIds": ["not-an-id"]},
        }
        for name, variables in attempts.items():
            result = await intruder.gql(PUBLISH, variables)
            assert result.codes == ["NOT_FOUND"], (name, result)
            assert result.errors[0]["message"] == "Clip not found"
        # The user's own clip, from their other profile.
        cross = await intruder.gql(PUBLISH, publish_vars(mine, [x]), profile_id=second_profile)
        expect(cross, "NOT_FOUND")
        assert await row_counts(env) == before
        assert fake.uploads.keys() == {i for p in fake.posts for i in p.image_ids}

        for filters in ({"jobId": job.job["id"]}, {"clipId": owner_clips[0]["id"]}):
            listed = await intruder.gql(PUBLICATIONS, filters)
            expect(listed, "NOT_FOUND")
        everything = (await intruder.gql(PUBLICATIONS, {})).ok()["publications"]["edges"]
        assert everything == []
        on_clip = await intruder.gql(
            "query($id: ID!) { clip(id: $id) { publications { id } } }",
            {"id": owner_clips[0]["id"]},
        )
        expect(on_clip, "NOT_FOUND")


async def test_without_postiz_settings_nothing_is_called(
    engine: AsyncEngine, tmp_path: Path, video: bytes
) -> None:
    async with fake_postiz() as (fake, url), publishing_env(engine, tmp_path, None) as env:
        user = await env.api.new_user()
        clips = await make_clips(env, user, video, count=1)
        before = await row_counts(env)

        listed = await user.gql(INTEGRATIONS)
        expect(listed, "BAD_USER_INPUT")
        assert "Postiz is not configured for this profile" in listed.errors[0]["message"]
        published = await user.gql(PUBLISH, publish_vars(clips, ["some-channel"]))
        expect(published, "BAD_USER_INPUT")
        assert "Postiz is not configured for this profile" in published.errors[0]["message"]
        assert await row_counts(env) == before

        # A URL without a key is not enough either; with both, the profile works alone.
        half = await user.create_profile("Half", postizApiUrl=url)
        expect(await user.gql(INTEGRATIONS, profile_id=half), "BAD_USER_INPUT")
        assert fake.requests == []
        full = await user.create_profile("Full", postizApiUrl=url, postizApiKey=fake.api_key)
        channels = (await user.gql(INTEGRATIONS, profile_id=full)).ok()["postizIntegrations"]
        assert len(channels) == 3


async def test_postiz_unreachable_is_a_readable_error(
    engine: AsyncEngine, tmp_path: Path, video: bytes
) -> None:
    async with fake_postiz() as (fake, url):
        pass  # stopped: its port now refuses connections
    async with publishing_env(engine, tmp_path, (fake, url)) as env:
        user = await env.api.new_user()
        clips = await make_clips(env, user, video, count=1)
        before = await row_counts(env)
        for result in (
            await user.gql(INTEGRATIONS),
            await user.gql(PUBLISH, publish_vars(clips, ["x"])),
        ):
            assert result.codes == ["INTERNAL_SERVER_ERROR"], result
            assert result.errors[0]["message"] == "Postiz could not be reached (ConnectError)"
        assert await row_counts(env) == before
