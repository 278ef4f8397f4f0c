"""SYNTHESIZE_VOICEOVER: the provider speaks into the job's temp dir, FFmpeg makes AAC of
it, and file and row land together. The voiceover id derives from the job id, so a
re-run after a crash overwrites instead of duplicating."""

from __future__ import annotations

import asyncio
import uuid

from editai.costs.service import CostRecorder
from editai.jobs.models import JobKind
from editai.jobs.registry import JobContext, JobFailedError, JobResult, task
from editai.projects.repository import ProjectRepository
from editai.tts.audio import audio_duration, to_m4a
from editai.tts.models import Voiceover
from editai.tts.providers import MissingApiKeyError, TtsProviderName, create_provider
from editai.tts.repository import VoiceoverRepository
from editai.tts.service import ELEVENLABS_KEY_MISSING
from editai.tts.timings import estimate_words, fit_to_duration


@task(JobKind.SYNTHESIZE_VOICEOVER.value)
async def synthesize_voiceover(ctx: JobContext) -> JobResult:
    payload = ctx.job.payload
    text, voice_id = str(payload["text"]), str(payload["voice_id"])
    provider_name = TtsProviderName(payload["provider"])
    project_id = ctx.job.project_id
    voiceover_id = uuid.uuid5(ctx.job.id, "voiceover")
    async with ctx.transaction() as session:
        project = await ProjectRepository(session).get(project_id) if project_id else None
        done = await VoiceoverRepository(session).get(voiceover_id)
    if done is not None:
        # An earlier attempt stored it and died before the job was marked done: speaking
        # again would bill again and replace the audio under the stored timings.
        return {"voiceover_id": str(voiceover_id)}
    if project is None or project_id is None:
        raise JobFailedError("The project of this job no longer exists")
    settings, binaries, storage = ctx.runtime.settings, ctx.runtime.binaries, ctx.runtime.storage
    try:
        provider = create_provider(provider_name, settings, await ctx.credentials())
    except MissingApiKeyError as exc:  # the key was removed after the job was queued
        raise JobFailedError(ELEVENLABS_KEY_MISSING) from exc

    await ctx.report_progress(0.05)
    work_dir = ctx.temp_dir / "speech"
    await asyncio.to_thread(work_dir.mkdir, parents=True, exist_ok=True)
    speech = await provider.synthesize(text, voice_id, work_dir)
    if speech.billed_characters is not None:
        # Spent even if the rest fails: recorded at once, in its own transaction.
        async with ctx.transaction() as session:
            await CostRecorder(session, settings).elevenlabs_characters(
                speech.billed_characters, job_id=ctx.job.id
            )
    await ctx.report_progress(0.6)

    out = ctx.temp_dir / f"{voiceover_id}.m4a"
    await to_m4a(binaries, speech.audio_path, out)
    duration = await audio_duration(binaries, out)
    if duration <= 0:
        raise JobFailedError("The text gave no audio to speak")
    from_provider = bool(speech.words)
    words = fit_to_duration(
        speech.words if from_provider else estimate_words(text, duration), duration
    )
    await ctx.report_progress(0.9)

    target = storage.voiceover_key(ctx.profile_id, project_id, voiceover_id)
    size = await storage.publish(out, target)
    async with ctx.transaction() as session:
        if await ProjectRepository(session).get(project_id) is None:
            # The store above re-created its folder: remove that, not only the file.
            await storage.remove_project(ctx.profile_id, project_id)
            raise JobFailedError("The project was deleted while its voice-over was being made")
        repo = VoiceoverRepository(session)
        if await repo.get(voiceover_id) is None:  # a concurrent re-run (stale heartbeat) won
            repo.add(
                Voiceover(
                    id=voiceover_id,
                    project_id=project_id,
                    job_id=ctx.job.id,
                    text=text,
                    provider=provider_name.value,
                    voice_id=voice_id,
                    characters=len(text)
                    if speech.billed_characters is None
                    else speech.billed_characters,
                    duration_seconds=round(duration, 3),
                    media_path=target,
                    size_bytes=size,
                    words=[w.as_json() for w in words],
                    timings_from_provider=from_provider,
                )
            )
    return {"voiceover_id": str(voiceover_id)}
