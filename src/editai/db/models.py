"""Imports every model so ``Base.metadata`` is complete (Alembic, tests, tools)."""

from editai.clips.models import Clip
from editai.costs.models import ApiCost
from editai.db.base import Base
from editai.jobs.models import Job
from editai.persisted_queries.models import PersistedQuery
from editai.profiles.models import Profile, User
from editai.projects.models import Project
from editai.publishing.models import Publication
from editai.segments.models import Segment
from editai.transcripts.models import Transcript
from editai.tts.models import Voiceover

TENANT_TABLES = (
    "projects",
    "clips",
    "segments",
    "jobs",
    "api_costs",
    "publications",
    "voiceovers",
    "transcripts",
)

__all__ = [
    "TENANT_TABLES",
    "ApiCost",
    "Base",
    "Clip",
    "Job",
    "PersistedQuery",
    "Profile",
    "Project",
    "Publication",
    "Segment",
    "Transcript",
    "User",
    "Voiceover",
]
