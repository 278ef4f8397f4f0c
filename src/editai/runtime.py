"""Process-wide objects, built once at start-up and shared by the server and the worker.

Nothing here holds tenant state: sessions are created per request/job from ``sessions``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from editai.db.tenancy import SessionFactory
from editai.jobs.events import JobEventBus, create_event_bus
from editai.jobs.queue import JobQueue
from editai.media.binaries import Binaries, find_binaries
from editai.media.storage import MediaStorage, build_storage
from editai.settings import Settings

if TYPE_CHECKING:
    from editai.analysis.status import GeminiStatusChecker


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory = field(init=False)
    events: JobEventBus = field(init=False)
    storage: MediaStorage = field(init=False)
    queue: JobQueue = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = SessionFactory(self.engine, self.settings.db_tenant_role)
        self.events = create_event_bus(self.engine.url.render_as_string(hide_password=False))
        self.storage = build_storage(self.settings)
        self.queue = JobQueue(
            self.sessions,
            self.events,
            claim_order=self.settings.job_claim_order,
            max_running_per_profile=self.settings.job_max_running_per_profile,
        )

    @cached_property
    def binaries(self) -> Binaries:
        """Resolved on first use, so a server that never runs FFmpeg does not need it."""
        return find_binaries(self.settings.ffmpeg_path, self.settings.ffprobe_path)

    @cached_property
    def gemini_status(self) -> GeminiStatusChecker:
        """The cached check of the global Gemini key (``geminiStatus``), one per process."""
        from editai.analysis.status import GeminiStatusChecker

        return GeminiStatusChecker(self.settings)
