"""transcribeVideo through GraphQL on both databases, with the embedded worker running the
real FFmpeg and the real model on known speech (tests/transcripts/speech.py)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.costs.models import ApiCost
from editai.transcripts.models import Transcript
from editai.transcripts.whisper_child import __name__ as CHILD_MODULE
from tests.analysis.test_gemini_analysis import ANALYZE
from tests.api import TestUser as User  # aliased: pytest would try to collect it
from tests.pipeline.conftest import GENERATE, JOB_FIELDS, UPLOAD, Env, open_env
from tests.processes import ProcessExit, pids_referencing, process_cmdline
from tests.transcripts.speech import SpeechSpec
from tests.transcripts.test_speech import WER_BOUND
from tests.transcripts.wer import word_error_rate

TRANSCRIBE = (
    "mutation($p: ID!, $input: TranscribeVideoInput) "
    f"{{ transcribeVideo(projectId: $p, input: $input) {{ {JOB_FIELDS} }} }}"
)
CANCEL = f"mutation($id: ID!) {{ cancelJob(id: $id) {{ {JOB_FIELDS} }} }}"
RETRY = f"mutation($id: ID!) {{ retryJob(id: $id) {{ {JOB_FIELDS} }} }}"
TRANSCRIPT = """
query($p: ID!) { project(id: $p) { transcript {
  language durationSeconds model text
  segments { startSeconds endSeconds text words { text startSeconds endSeconds } }
  words { text startSeconds endSeconds probability }
} } }
"""


@pytest.fixture
async def env(engine: AsyncEngine, tmp_path: Path) -> AsyncIterator[Env]:
    async with open_env(engine, tmp_path, worker_poll_seconds=0.2) as opened:
        yield opened


async def transcript_of(user: User, project_id: str) -> dict[str, Any] | None:
    data = (await user.gql(TRANSCRIPT, {"p": project_id})).ok()
    transcript: dict[str, Any] | None = data["project"]["transcript"]
    return transcript


async def stored_rows(env: Env, project_id: str) -> list[Transcript]:
    async with env.runtime.sessions.system() as session:
        rows = await session.scalars(
            select(Transcript).where(Transcript.project_id == uuid.UUID(project_id))
        )
        return list(rows.all())


async def running_transcriber(env: Env, project_id: str, job_id: str, within: float = 60.0) -> int:
    """The pid of the job's transcriber child, once it runs."""
    temp_dir = env.storage.job_temp_dir(uuid.UUID(project_id), uuid.UUID(job_id))
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for pid in pids_referencing(str(temp_dir)):
            if CHILD_MODULE in process_cmdline(pid):
                return pid
        await asyncio.sleep(0.02)
    raise AssertionError(f"no transcriber for job {job_id} after {within}s")


async def test_transcribe_cancel_retry_and_replace_the_source(
    env: Env, speech: SpeechSpec, backend: str
) -> None:
    user = await env.api.new_user()
    video = speech.path.read_bytes()
    project_id = await env.project_with_video(user, video, "Speech")
    assert await transcript_of(user, project_id) is None

    # 1. Transcribed (language detected), with progress from the audio position.
    run = await env.run_job(user, TRANSCRIBE, {"p": project_id}, within=180)
    assert run.job["kind"] == "TRANSCRIBE_VIDEO"
    assert run.job["progress"] == 1.0
    assert run.progress == sorted(run.progress)
    assert run.job["result"]["language"] == "en"
    transcript = await transcript_of(user, project_id)
    assert transcript is not None
    assert (transcript["language"], transcript["model"]) == ("en", "whisper-base-int8")
    assert abs(transcript["durationSeconds"] - speech.duration) < 0.1
    assert word_error_rate(speech.text, transcript["text"]) <= WER_BOUND
    heard = " ".join(w["text"] for w in transcript["words"])
    assert word_error_rate(speech.text, heard) <= WER_BOUND
    assert len(transcript["segments"]) == len(speech.sentences)
    assert sum(len(s["words"]) for s in transcript["segments"]) == len(transcript["words"])
    assert all(0.0 <= w["probability"] <= 1.0 for w in transcript["words"])
    # Free: no cost recorded for local work.
    async with env.runtime.sessions.system() as session:
        costs = await session.scalar(
            select(func.count(ApiCost.id)).where(ApiCost.job_id == uuid.UUID(run.job["id"]))
        )
    assert costs == 0
    [first_row] = await stored_rows(env, project_id)

    # 2. A second run, cancelled while the model works: the child is gone within a second,
    # the job CANCELLED, the first transcript untouched.
    job = await env.start(user, TRANSCRIBE, {"p": project_id, "input": {"language": "EN"}})
    exit_ = ProcessExit(await running_transcriber(env, project_id, job["id"]))
    sent = time.perf_counter()
    cancelled = (await user.gql(CANCEL, {"id": job["id"]})).ok()["cancelJob"]
    assert cancelled["status"] in ("RUNNING", "CANCELLED")
    stopped = await exit_.wait(5) - sent
    print(f"\ncancelJob -> transcriber exit on {backend}: {stopped * 1000:.0f} ms")
    assert stopped < 1.0
    done = await env.wait(user, job["id"])
    assert done.job["status"] == "CANCELLED", done.job
    assert [r.updated_at for r in await stored_rows(env, project_id)] == [first_row.updated_at]

    # 3. Retried: it runs to the end and overwrites the one transcript of the project.
    retried = (await user.gql(RETRY, {"id": job["id"]})).ok()["retryJob"]
    assert retried["status"] == "QUEUED"
    again = await env.wait(user, job["id"], within=180)
    assert again.job["status"] == "SUCCEEDED", again.job
    [row] = await stored_rows(env, project_id)
    assert row.id == first_row.id
    assert row.updated_at > first_row.updated_at
    assert row.language == "en"
    assert env.temp_files() == []

    # 4. A new source video: the transcript described the old audio, so it is gone.
    uploaded = await user.upload(UPLOAD, {"projectId": project_id}, {"file": ("new.mp4", video)})
    assert uploaded.ok()["uploadSourceVideo"]["sourceVideo"] is not None
    assert await transcript_of(user, project_id) is None
    assert await stored_rows(env, project_id) == []


async def test_bad_input_and_other_profiles(
    env: Env, speech: SpeechSpec, silent_video: Path
) -> None:
    user, other = await env.api.new_user(), await env.api.new_user()
    project_id = await env.project_with_video(user, speech.path.read_bytes(), "Speech")
    empty = await user.create_project("No video")
    jobs_before, _ = await env.counts()

    bad_language = await user.gql(TRANSCRIBE, {"p": project_id, "input": {"language": "xx"}})
    assert bad_language.codes == ["BAD_USER_INPUT"]
    assert "language" in bad_language.errors[0]["message"].lower()
    no_source = await user.gql(TRANSCRIBE, {"p": empty})
    assert no_source.codes == ["BAD_USER_INPUT"]
    # Another user's project (and another profile of the same user): NOT_FOUND, even with
    # a bad language (the project is checked first), and its transcript is not readable.
    foreign = await other.gql(TRANSCRIBE, {"p": project_id, "input": {"language": "xx"}})
    assert foreign.codes == ["NOT_FOUND"]
    second_profile = await user.create_profile("Second")
    assert (await user.gql(TRANSCRIBE, {"p": project_id}, profile_id=second_profile)).codes == [
        "NOT_FOUND"
    ]
    assert (await other.gql(TRANSCRIBE, {"p": "not-an-id"})).codes == ["NOT_FOUND"]
    assert (await other.gql(TRANSCRIPT, {"p": project_id})).codes == ["NOT_FOUND"]
    assert (await env.counts())[0] == jobs_before  # nothing enqueued

    # A video without an audio track: nothing to transcribe, said at once.
    silent = await asyncio.to_thread(silent_video.read_bytes)
    mute = await env.project_with_video(user, silent, "Mute")
    no_audio = await user.gql(TRANSCRIBE, {"p": mute})
    assert no_audio.codes == ["BAD_USER_INPUT"]
    assert "audio" in no_audio.errors[0]["message"]


CLIPS_WITH_TRANSCRIPTS = """
query($p: ID!) { project(id: $p) {
  transcript { words { text startSeconds endSeconds } }
  clips(first: 10) { edges { node {
    startSeconds endSeconds durationSeconds
    transcript { durationSeconds text words { text startSeconds endSeconds }
                 segments { startSeconds endSeconds text } }
  } } }
} }
"""


def in_silence(t: float, speech: SpeechSpec, tolerance: float = 0.15) -> bool:
    """``t`` lies in a known silence: the lead-in, a pause, or the tail (ground truth)."""
    silences = [(0.0, speech.spans[0][0]), *speech.pauses, (speech.spans[-1][1], speech.duration)]
    return any(a - tolerance <= t <= b + tolerance for a, b in silences)


async def test_local_analysis_transcribes_and_clips_start_and_end_at_pauses(
    env: Env, speech: SpeechSpec
) -> None:
    user = await env.api.new_user()
    project_id = await env.project_with_video(user, speech.path.read_bytes(), "Speech")
    analysis = await env.run_job(user, ANALYZE, {"p": project_id}, within=180)
    assert analysis.progress == sorted(analysis.progress)
    assert analysis.job["result"]["transcript"]["language"] == "en"
    assert analysis.job["result"]["segments"] > 0

    generate = {"variantCount": 2, "clipSeconds": 5.0, "aspect": "SOURCE", "accurate": True}
    await env.run_job(user, GENERATE, {"p": project_id, "input": generate}, within=120)
    project = (await user.gql(CLIPS_WITH_TRANSCRIPTS, {"p": project_id})).ok()["project"]
    clips = [edge["node"] for edge in project["clips"]["edges"]]
    assert len(clips) == 2
    words = project["transcript"]["words"]
    for clip in clips:
        start, end = clip["startSeconds"], clip["endSeconds"]
        # Five seconds would cut a sentence wherever they start: the edges moved to pauses.
        assert in_silence(start, speech), (start, speech.pauses)
        assert in_silence(end, speech), (end, speech.pauses)
        assert 0.6 * 5.0 <= clip["durationSeconds"] <= 1.4 * 5.0
        # Clip.transcript: the words inside the clip, times relative to its start.
        inside = [w for w in words if start <= (w["startSeconds"] + w["endSeconds"]) / 2 < end]
        shown = clip["transcript"]
        assert [w["text"] for w in shown["words"]] == [w["text"] for w in inside]
        assert shown["words"], clip
        for relative, absolute in zip(shown["words"], inside, strict=True):
            assert relative["startSeconds"] == pytest.approx(
                max(absolute["startSeconds"] - start, 0.0), abs=2e-3
            )
            assert 0.0 <= relative["startSeconds"] <= relative["endSeconds"]
            assert relative["endSeconds"] <= clip["durationSeconds"] + 1e-3
        # Whole sentences only: each clip's text is one or more of the spoken sentences.
        assert shown["text"].endswith("."), shown["text"]
        assert all(0.0 <= s["startSeconds"] <= s["endSeconds"] for s in shown["segments"])
    edges = sorted((c["startSeconds"], c["endSeconds"]) for c in clips)
    print(f"\nclips {edges}, known pauses {speech.pauses}")
    assert edges[0][1] <= edges[1][0]  # no overlap


async def test_a_transcriber_that_dies_fails_the_job_readably(
    engine: AsyncEngine, tmp_path: Path, speech: SpeechSpec
) -> None:
    """Killed mid-job (the OOM killer, say): the job fails with a message written for the
    user, not a masked internal error, and leaves no transcript and no temp files."""
    async with open_env(engine, tmp_path, worker_poll_seconds=0.2, job_max_attempts=1) as env:
        user = await env.api.new_user()
        project_id = await env.project_with_video(user, speech.path.read_bytes(), "Speech")
        job = await env.start(user, TRANSCRIBE, {"p": project_id})
        os.kill(await running_transcriber(env, project_id, job["id"]), signal.SIGKILL)
        run = await env.wait(user, job["id"])
        assert run.job["status"] == "FAILED", run.job
        assert run.job["error"] == (
            "Transcription failed: the transcriber stopped unexpectedly (exit code -9)"
        )
        assert await transcript_of(user, project_id) is None
        assert env.temp_files() == []
