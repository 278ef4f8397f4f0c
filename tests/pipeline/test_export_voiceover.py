"""exportClips with a voice-over, through the GraphQL API with a real worker and FFmpeg,
on PostgreSQL and SQLite.

The voice-over rows and their audio files are put in place the way the synthesize job
leaves them (the app's storage path, a row in a session scoped to the profile): a 2 kHz
tone standing in for speech, with word timings. The clip's own audio is the pipeline
video's 440 Hz tone. Downloaded exports are measured with FFmpeg.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.clips.tasks import VOICEOVER_GONE
from editai.media.binaries import Binaries
from editai.media.ffmpeg import run_ffmpeg
from editai.media.voiceover_mix import ATTACK_SECONDS, RELEASE_SECONDS
from editai.tts.models import Voiceover
from tests.api import GraphQLResult
from tests.api import TestUser as User  # aliased: pytest would try to collect it
from tests.media import measure
from tests.pipeline.conftest import EXPORT, GENERATE, Env, open_env
from tests.pipeline.test_bad_input import refused
from tests.pipeline.videos import PIPELINE

ORIGINAL_HZ, VOICE_HZ = 440, 2000
# Re-encoded (accurate): the clip file is exactly as long as the clip says.
ONE_CLIP = {"variantCount": 1, "clipSeconds": 4, "aspect": "SOURCE", "accurate": True}
# The voice file: 2 s, speaking 0.3-1.3 s.
VOICE_SPEECH = (0.3, 1.3)
VOICE_SECONDS = 2.0
WORDS = [
    {"text": "Hello", "start": 0.3, "end": 0.7},
    {"text": "%{pts}:'x'", "start": 0.7, "end": 1.3},
]


@dataclass
class VoiceoverRow:
    id: str
    path: Path


async def add_voiceover(
    env: Env, binaries: Binaries, profile_id: str, project_id: str
) -> VoiceoverRow:
    """A voice-over as the synthesize job stores it: audio at the storage's path, one row."""
    voiceover_id = uuid.uuid4()
    profile, project = uuid.UUID(profile_id), uuid.UUID(project_id)
    path = env.local.resolve(env.storage.voiceover_key(profile, project, voiceover_id))
    path.parent.mkdir(parents=True, exist_ok=True)
    a, b = VOICE_SPEECH
    expr = f"0.25*sin(2*PI*{VOICE_HZ}*t)*between(t,{a},{b})"
    graph = f"aevalsrc=exprs='{expr}':d={VOICE_SECONDS}:s=48000"
    await run_ffmpeg(
        binaries, ffmpeg.input(graph, f="lavfi").output(str(path), acodec="aac").get_args()
    )
    async with env.runtime.sessions.tenant_transaction(profile, None) as session:
        session.add(
            Voiceover(
                id=voiceover_id,
                project_id=project,
                text="Hello %{pts}:'x'",
                provider="LOCAL",
                voice_id="test",
                characters=16,
                duration_seconds=VOICE_SECONDS,
                media_path=env.local.relative(path),
                size_bytes=path.stat().st_size,
                words=WORDS,
                timings_from_provider=True,
            )
        )
    return VoiceoverRow(str(voiceover_id), path)


async def one_clip(env: Env, user: User, video: bytes) -> tuple[str, dict[str, Any]]:
    project_id = await env.project_with_video(user, video)
    await env.run_job(user, GENERATE, {"p": project_id, "input": ONE_CLIP})
    [clip] = await env.clips(user, project_id)
    return project_id, clip


async def test_export_lays_the_voiceover_on_the_clip(
    env: Env, videos: dict[str, bytes], binaries: Binaries, tmp_path: Path
) -> None:
    user = await env.api.new_user()
    project_id, clip = await one_clip(env, user, videos[PIPELINE.name])
    raw = await env.download(clip["downloadUrl"], tmp_path, "raw.mp4")
    voice = await add_voiceover(env, binaries, user.default_profile_id, project_id)
    offset, ducking = 1.0, 18.0
    base = {"height": 240, "voiceoverId": voice.id, "voiceoverStartSeconds": offset}

    async def exported(name: str, **given: Any) -> Path:
        run = await env.run_job(user, EXPORT, {"ids": [clip["id"]], "input": {**base, **given}})
        assert run.job["progress"] == 1.0
        assert run.progress == sorted(run.progress)
        [after] = await env.clips(user, project_id)
        assert after["status"] == "EXPORTED"
        return await env.download(after["downloadUrl"], tmp_path, name)

    titled = await exported("titled.mp4", duckingDb=ducking)
    plain = await exported("plain.mp4", duckingDb=ducking, voiceoverSubtitles=False)

    # --- the output is as long as the clip, with the voice from its offset on ------------
    length = clip["durationSeconds"]
    for path in (titled, plain):
        fmt, streams = await measure.streams(binaries, path)
        assert abs(float(fmt["duration"]) - length) <= 0.05
        assert [s["codec_type"] for s in streams] == ["video", "audio"]
    a, b = (t + offset for t in VOICE_SPEECH)  # speaking 1.3-2.3 s of the clip
    level = await measure.band_level(binaries, titled, 0.1, a - ATTACK_SECONDS - 0.2, ORIGINAL_HZ)
    assert await measure.band_level(binaries, titled, 0.0, offset, VOICE_HZ) < level - 40
    assert await measure.band_level(binaries, titled, a + 0.05, b - a - 0.1, VOICE_HZ) > level - 6

    # --- the clip's own tone is ducked by about 18 dB under the voice, relative to the raw
    # clip (whose level may vary), and comes back after it ---------------------------------
    windows = {
        "before": (0.1, a - ATTACK_SECONDS - 0.2),
        "during": (a + 0.05, b - a - 0.1),
        "after": (b + RELEASE_SECONDS + 0.05, min(length, 4.0) - b - RELEASE_SECONDS - 0.15),
    }
    raw_levels = {
        k: await measure.band_level(binaries, raw, s, d, ORIGINAL_HZ)
        for k, (s, d) in windows.items()
    }
    assert min(raw_levels.values()) > -40, (
        f"the raw clip must have its tone throughout: {raw_levels}"
    )
    out_levels = {
        k: await measure.band_level(binaries, titled, s, d, ORIGINAL_HZ)
        for k, (s, d) in windows.items()
    }
    change = {k: out_levels[k] - raw_levels[k] for k in windows}  # the export's gain
    assert abs((change["before"] - change["during"]) - ducking) <= 1.5, (raw_levels, out_levels)
    assert abs(change["after"] - change["before"]) <= 1.0, (raw_levels, out_levels)

    # --- the phrase is burned in only while it is spoken (1.3-2.3 s) ----------------------
    width, height = 426, 240
    bottom = range(height * 2 // 3, height)

    async def diff(at: float) -> float:
        one = await measure.gray_frame(binaries, titled, at, width, height, tmp_path)
        two = await measure.gray_frame(binaries, plain, at, width, height, tmp_path)
        return measure.region_diff(one, two, width, bottom)

    inside = [await diff(at) for at in (1.5, 2.1)]
    outside = [await diff(at) for at in (0.5, 2.8)]
    assert min(inside) > 3 * max(outside) + 2, (inside, outside)

    # The voice-over's own file is untouched and nothing is left in the temp dir.
    assert voice.path.is_file()
    assert env.temp_files() == []


async def test_voiceover_refusals_write_nothing(
    env: Env, videos: dict[str, bytes], binaries: Binaries
) -> None:
    owner = await env.api.new_user()
    stranger = await env.api.new_user()
    sibling_profile = await owner.create_profile("Second channel")
    project_id, clip = await one_clip(env, owner, videos[PIPELINE.name])
    own = await add_voiceover(env, binaries, owner.default_profile_id, project_id)
    sibling = await add_voiceover(
        env, binaries, sibling_profile, await owner.create_project("s", sibling_profile)
    )
    foreign = await add_voiceover(
        env, binaries, stranger.default_profile_id, await stranger.create_project("f")
    )
    length = clip["durationSeconds"]

    def export(**given: Any) -> Callable[[], Awaitable[GraphQLResult]]:
        variables = {"ids": [clip["id"]], "input": {"height": 240, **given}}
        return lambda: owner.gql(EXPORT, variables)

    not_found = {
        "another user's voice-over": foreign.id,
        "the same user's other profile's voice-over": sibling.id,
        "an unknown id": str(uuid.uuid4()),
        "a malformed id": "not-an-id",
    }
    for label, voiceover_id in not_found.items():
        await refused(env, "NOT_FOUND", export(voiceoverId=voiceover_id), label)
    # The same answer for a foreign id and an unknown one (existence is never disclosed).
    answers = {
        (await export(voiceoverId=i)()).errors[0]["message"]
        for i in (foreign.id, str(uuid.uuid4()))
    }
    assert answers == {"Voiceover not found"}

    bad = {
        "start at the clip's end": {"voiceoverStartSeconds": length},
        "start after the clip's end": {"voiceoverStartSeconds": length + 5},
        "negative start": {"voiceoverStartSeconds": -0.5},
        "ducking over 40 dB": {"duckingDb": 40.5},
        "negative ducking": {"duckingDb": -3},
    }
    for label, changes in bad.items():
        await refused(env, "BAD_USER_INPUT", export(voiceoverId=own.id, **changes), label)
    # A bad ducking value is refused without a voice-over too.
    await refused(env, "BAD_USER_INPUT", export(duckingDb=99), "ducking without a voice-over")

    # Control: the owner's own voice-over with the edge values is accepted and exported.
    edge = {"voiceoverId": own.id, "voiceoverStartSeconds": length - 0.5, "duckingDb": 40}
    run = await env.run_job(owner, EXPORT, {"ids": [clip["id"]], "input": edge})
    assert run.job["result"] == {"exported_clip_ids": [clip["id"]]}
    # The stranger's own voice-over is theirs to use: it does exist.
    assert foreign.path.is_file()


async def test_voiceover_deleted_before_the_job_runs_fails_readably(
    engine: AsyncEngine, videos: dict[str, bytes], binaries: Binaries, tmp_path: Path
) -> None:
    async with open_env(engine, tmp_path, embedded_worker=False) as env:
        user = await env.api.new_user()
        async with env.worker_running():
            project_id, clip = await one_clip(env, user, videos[PIPELINE.name])
        voice = await add_voiceover(env, binaries, user.default_profile_id, project_id)
        job = await env.start(
            user, EXPORT, {"ids": [clip["id"]], "input": {"height": 240, "voiceoverId": voice.id}}
        )
        assert job["status"] == "QUEUED"
        # Deleted while the job waits: the row (through the profile's own session) and its file.
        profile = uuid.UUID(user.default_profile_id)
        async with env.runtime.sessions.tenant_transaction(profile, None) as session:
            await session.execute(delete(Voiceover).where(Voiceover.id == uuid.UUID(voice.id)))
        await env.storage.remove_file(env.local.relative(voice.path))

        async with env.worker_running():
            run = await env.wait(user, job["id"])
        assert run.job["status"] == "FAILED"
        assert run.job["error"] == VOICEOVER_GONE
        assert run.job["attempts"] == 1  # a permanent failure: not retried
        [after] = await env.clips(user, project_id)
        assert after["status"] == "READY"
        assert not [p for p in env.media_files() if "exports" in p.parts]
        assert env.temp_files() == []
