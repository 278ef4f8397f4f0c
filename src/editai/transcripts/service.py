"""Transcription: validated at once, then done by a TRANSCRIBE_VIDEO job."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from editai.clips.service import require_source
from editai.errors import BadUserInput
from editai.jobs.models import Job, JobKind
from editai.jobs.service import JobService
from editai.projects.service import ProjectService
from editai.transcripts.languages import normalize_language

NO_AUDIO = "The project's source video has no audio track to transcribe"


def parse_language(value: str | None) -> str | None:
    """None (detect), or the Whisper code ``value`` names; anything else is bad input."""
    if value is None:
        return None
    code = normalize_language(value)
    if code is None:
        raise BadUserInput(
            f"Unknown language {value[:20]!r}: use a Whisper language code such as "
            "'en', 'de' or 'es', or null to detect it",
            field="language",
        )
    return code


class TranscriptService:
    def __init__(self, session: AsyncSession, jobs: JobService) -> None:
        self.projects = ProjectService(session)
        self.jobs = jobs

    async def transcribe(self, project_id: uuid.UUID, language: str | None) -> Job:
        # The project first: a foreign or missing id is NOT_FOUND whatever else is wrong.
        project = await self.projects.get(project_id)
        require_source(project)
        if project.source_audio_codec is None:
            raise BadUserInput(NO_AUDIO)
        code = parse_language(language)
        return await self.jobs.enqueue(JobKind.TRANSCRIBE_VIDEO, project.id, {"language": code})
