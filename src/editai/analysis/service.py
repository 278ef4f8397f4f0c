"""Video analysis: validated at once, then done by an ANALYZE_VIDEO job.

LOCAL runs the segment extraction (FFmpeg scene, speech and silence measures); GEMINI
asks Gemini for highlight moments, with the profile's own key or the global one.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from editai.analysis.types import Analyzer
from editai.clips.service import require_source
from editai.errors import BadUserInput
from editai.integrations.credentials import credentials_for
from editai.jobs.models import Job, JobKind
from editai.jobs.service import JobService
from editai.profiles.repository import ProfileRepository
from editai.projects.service import ProjectService
from editai.settings import Settings

NO_GEMINI_KEY = (
    "No Gemini API key: set the profile's geminiApiKey (or the server's "
    "EDITAI_GEMINI_API_KEY), or use the LOCAL analyzer"
)


class AnalysisService:
    def __init__(self, session: AsyncSession, jobs: JobService, settings: Settings) -> None:
        self.session = session
        self.projects = ProjectService(session)
        self.jobs = jobs
        self.settings = settings

    async def analyze(
        self, project_id: uuid.UUID, analyzer: Analyzer, profile_id: uuid.UUID
    ) -> Job:
        # The project first: a foreign or missing id is NOT_FOUND whatever else is wrong.
        project = await self.projects.get(project_id)
        require_source(project)
        if analyzer is Analyzer.GEMINI:
            profile = await ProfileRepository(self.session).get(profile_id)
            if credentials_for(profile, self.settings).gemini_api_key is None:
                raise BadUserInput(NO_GEMINI_KEY, field="analyzer")
        return await self.jobs.enqueue(
            JobKind.ANALYZE_VIDEO, project.id, {"analyzer": analyzer.value}
        )
