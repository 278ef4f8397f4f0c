"""exportClips with word-by-word captions, through the GraphQL API with a real worker and
FFmpeg, on PostgreSQL and SQLite.

The uploaded source is black and silent, so every bright pixel of an export is caption
(or title) text; the highlight colour is pure green. VOICEOVER captions use the
voice-over rows of test_export_voiceover (a tone with word timings, stored as the
synthesize job stores it); TRANSCRIPT captions use a transcript row stored through
TranscriptRepository, with times in seconds of the source.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.clips.captions import TRANSCRIPT_GONE
from editai.media.binaries import Binaries
from editai.transcripts.repository import TranscriptRepository
from tests.api import GraphQLResult
from tests.api import TestUser as User  # aliased: pytest would try to collect it
from tests.media.captions_frames import black_video, bounding_box, bright, frame_at, near
from tests.pipeline.conftest import EXPORT, GENERATE, Env, open_env
from tests.pipeline.test_bad_input import refused
from tests.pipeline.test_export_voiceover import ONE_CLIP, add_voiceover

SIZE = (640, 360)
SOURCE_SECONDS = 6.0
GREEN = (0, 255, 0)
STYLE = {"highlightColor": "#00FF00", "fontSize": 40}


@pytest.fixture(scope="module")
async def black(binaries: Binaries, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("captions-source")
    path = await black_video(binaries, folder / "black.mp4", *SIZE, SOURCE_SECONDS)
    return path.read_bytes()


async def one_clip(env: Env, user: User, video: bytes) -> tuple[str, dict[str, Any]]:
    project_id = await env.project_with_video(user, video, name="Black")
    await env.run_job(user, GENERATE, {"p": project_id, "input": ONE_CLIP})
    [clip] = await env.clips(user, project_id)
    return project_id, clip


async def add_transcript(
    env: Env, user: User, project_id: str, words: list[tuple[str, float, float]]
) -> None:
    """A transcript as transcribeVideo stores it (times in seconds of the source)."""
    profile = uuid.UUID(user.default_profile_id)
    async with env.runtime.sessions.tenant_transaction(profile, None) as session:
        await TranscriptRepository(session).replace(
            uuid.UUID(project_id),
            language="en",
            duration_seconds=SOURCE_SECONDS,
            model="test",
            segments=[{"text": " ".join(w for w, _, _ in words), "start": 0.0, "end": 6.0}],
            words=[{"text": t, "start": s, "end": e, "probability": 0.9} for t, s, e in words],
        )


async def export(
    env: Env, user: User, project_id: str, clip_id: str, folder: Path, **given: Any
) -> Path:
    variables = {"ids": [clip_id], "input": {"height": SIZE[1], **given}}
    run = await env.run_job(user, EXPORT, variables)
    assert run.job["result"] == {"exported_clip_ids": [clip_id]}
    [after] = await env.clips(user, project_id)
    assert after["status"] == "EXPORTED"
    return await env.download(after["downloadUrl"], folder, "captioned.mp4")


async def test_voiceover_captions_follow_the_voices_word_timings(
    env: Env, black: bytes, binaries: Binaries, tmp_path: Path
) -> None:
    user = await env.api.new_user()
    project_id, clip = await one_clip(env, user, black)
    voice = await add_voiceover(env, binaries, user.default_profile_id, project_id)
    # The voice starts 1 s into the clip: "Hello" 1.3-1.7 s, "%{pts}:'x'" 1.7-2.3 s.
    out = await export(
        env,
        user,
        project_id,
        clip["id"],
        tmp_path,
        voiceoverId=voice.id,
        voiceoverStartSeconds=1.0,
        subtitleText="A title",
        captions={"source": "VOICEOVER", "style": STYLE},
    )
    top, bottom = slice(0, SIZE[1] // 3), slice(SIZE[1] // 2, SIZE[1])
    before = await frame_at(binaries, out, 0.8, SIZE)
    assert bright(before)[top].sum() > 100  # the title moved to the top, shown throughout
    assert not bright(before)[bottom].any()  # no caption (nor phrase) before the voice speaks
    boxes = []
    for at in (1.5, 2.0):
        box = bounding_box(near(await frame_at(binaries, out, at, SIZE), GREEN)[bottom])
        assert box is not None, f"no highlighted word at {at} s"
        boxes.append(box)
    # "Hello" first, then the (wider) second word to its right; its braces are drawn as
    # text, not taken for an ASS override block.
    assert boxes[0][2] < boxes[1][0]
    assert boxes[1][2] - boxes[1][0] > boxes[0][2] - boxes[0][0]
    assert env.temp_files() == []


async def test_transcript_captions_show_the_clips_own_words(
    env: Env, black: bytes, binaries: Binaries, tmp_path: Path
) -> None:
    user = await env.api.new_user()
    project_id, clip = await one_clip(env, user, black)
    start = clip["startSeconds"]
    # Clip times: "first" 0.8 s, "second" 1.4 s, "third" 2.1 s; one word after the clip.
    await add_transcript(
        env,
        user,
        project_id,
        [
            ("first", start + 0.8, start + 1.2),
            ("second", start + 1.4, start + 1.9),
            ("third", start + 2.1, start + 2.5),
            ("outside", start + 4.5, start + 5.0),
        ],
    )
    out = await export(
        env,
        user,
        project_id,
        clip["id"],
        tmp_path,
        captions={"source": "TRANSCRIPT", "style": {**STYLE, "highlightMode": "REVEAL"}},
    )
    assert not bright(await frame_at(binaries, out, 0.5, SIZE)).any()  # before the first word
    counts, boxes = [], []
    for at in (1.0, 1.6, 2.3):
        frame = await frame_at(binaries, out, at, SIZE)
        counts.append(int(bright(frame).sum()))
        box = bounding_box(near(frame, GREEN))
        assert box is not None, f"no highlighted word at {at} s"
        boxes.append(box)
    assert counts[0] < counts[1] < counts[2], counts  # words appear as they are spoken
    assert boxes[0][2] < boxes[1][0]
    assert boxes[1][2] < boxes[2][0]
    # Past the clip's words (and the caption's linger), nothing: "outside" is not in it.
    assert not bright(await frame_at(binaries, out, 3.6, SIZE)).any()


async def test_caption_refusals_write_nothing(env: Env, black: bytes, binaries: Binaries) -> None:
    owner = await env.api.new_user()
    stranger = await env.api.new_user()
    project_id, clip = await one_clip(env, owner, black)
    foreign_project, foreign_clip = await one_clip(env, stranger, black)
    await add_transcript(env, stranger, foreign_project, [("x", 1.0, 2.0)])

    def export(ids: list[str], **given: Any) -> Callable[[], Awaitable[GraphQLResult]]:
        return lambda: owner.gql(EXPORT, {"ids": ids, "input": {"height": 360, **given}})

    def styled(**style: Any) -> Callable[[], Awaitable[GraphQLResult]]:
        return export([clip["id"]], captions={"source": "VOICEOVER", "style": style})

    bad_styles = {
        "fontSize": {"fontSize": 7},
        "fontSize over a quarter of the height": {"fontSize": 91},
        "textColor": {"textColor": "white"},
        "highlightColor": {"highlightColor": "#00FF0"},
        "outlineColor": {"outlineColor": "#00GG00"},
        "outlineWidth": {"outlineWidth": 21},
        "marginPercent": {"marginPercent": -1},
        "maxWordsPerLine": {"maxWordsPerLine": 0},
        "maxLines": {"maxLines": 5},
    }
    for label, style in bad_styles.items():
        await refused(env, "BAD_USER_INPUT", styled(**style), label)
        result = await styled(**style)()
        field = result.errors[0]["extensions"]["field"]
        assert field == f"captions.style.{label.split()[0]}", result
        assert "between" in result.errors[0]["message"] or "#RRGGBB" in result.errors[0]["message"]
    await refused(
        env,
        "BAD_USER_INPUT",
        export([clip["id"]], captions={"source": "VOICEOVER"}),
        "VOICEOVER without a voice-over",
    )
    no_transcript = export([clip["id"]], captions={"source": "TRANSCRIPT"})
    await refused(env, "BAD_USER_INPUT", no_transcript, "TRANSCRIPT without a transcript")
    assert "run transcribeVideo first" in (await no_transcript()).errors[0]["message"]
    # Another profile's clip is not found, even though its project has a transcript.
    await refused(
        env,
        "NOT_FOUND",
        export([foreign_clip["id"]], captions={"source": "TRANSCRIPT"}),
        "another user's clip",
    )
    # Controls: source NONE needs nothing; a voice-over makes VOICEOVER valid.
    run = await env.run_job(owner, EXPORT, export_vars(clip["id"], {"source": "NONE"}))
    assert run.job["status"] == "SUCCEEDED"
    voice = await add_voiceover(env, binaries, owner.default_profile_id, project_id)
    given = {"voiceoverId": voice.id, "captions": {"source": "VOICEOVER"}}
    run = await env.run_job(owner, EXPORT, {"ids": [clip["id"]], "input": given})
    assert run.job["status"] == "SUCCEEDED"


def export_vars(clip_id: str, captions: dict[str, Any]) -> dict[str, Any]:
    return {"ids": [clip_id], "input": {"height": 240, "captions": captions}}


async def test_transcript_deleted_before_the_job_runs_fails_readably(
    engine: AsyncEngine, black: bytes, tmp_path: Path
) -> None:
    async with open_env(engine, tmp_path, embedded_worker=False) as env:
        user = await env.api.new_user()
        async with env.worker_running():
            project_id, clip = await one_clip(env, user, black)
        await add_transcript(env, user, project_id, [("word", clip["startSeconds"] + 1, 99.0)])
        job = await env.start(user, EXPORT, export_vars(clip["id"], {"source": "TRANSCRIPT"}))
        assert job["status"] == "QUEUED"
        profile = uuid.UUID(user.default_profile_id)
        async with env.runtime.sessions.tenant_transaction(profile, None) as session:
            assert await TranscriptRepository(session).delete_for_project(uuid.UUID(project_id))

        async with env.worker_running():
            run = await env.wait(user, job["id"])
        assert run.job["status"] == "FAILED"
        assert run.job["error"] == TRANSCRIPT_GONE
        assert run.job["attempts"] == 1  # a permanent failure: not retried
        [after] = await env.clips(user, project_id)
        assert after["status"] == "READY"
        assert not [p for p in env.media_files() if "exports" in p.parts]
        assert env.temp_files() == []
