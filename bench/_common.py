"""Shared set-up for the benchmark scripts (not a test module).

Each script creates a throw-away PostgreSQL database (``editai_bench_<random>``) on the
server named by ``EDITAI_BENCH_POSTGRES_URL`` (default: the test server,
``postgres@127.0.0.1:5432``), migrates it, seeds it through a *system* session, and drops
it at the end, whatever happened.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from editai.app import create_app
from editai.auth.tokens import mint_token
from editai.clips.models import Clip, ClipAspect, ClipStatus
from editai.db import migrate
from editai.db.engine import create_engine
from editai.db.tenancy import SessionFactory
from editai.logging import configure_logging
from editai.profiles.models import Profile, User
from editai.profiles.repository import name_key
from editai.projects.models import Project, ProjectStatus
from editai.segments.models import Segment, SegmentKind
from editai.settings import Environment, Settings

# One schema fingerprint for the suite and the benchmarks: the suite's (tests/databases.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.databases import schema_fingerprint as schema_fingerprint

ADMIN_URL = os.environ.get(
    "EDITAI_BENCH_POSTGRES_URL",
    os.environ.get(
        "EDITAI_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    ),
)
# Long enough for production's start-up checks (>= 32 characters).
BENCH_JWT_SECRET = "bench-jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
BENCH_SECRET_KEY = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


# --------------------------------------------------------------------------- databases


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_postgres_database(prefix: str = "editai_bench") -> str:
    """Create an empty database; return its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        conn = await asyncpg.connect(_dsn(ADMIN_URL), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        raise SystemExit(f"PostgreSQL not reachable at {ADMIN_URL}: {exc}") from exc
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    conn = await asyncpg.connect(_dsn(ADMIN_URL), timeout=5)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await conn.close()


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for the duration of the block."""
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@contextmanager
def scratch_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="editai-bench-") as tmp:
        yield Path(tmp)


def make_settings(tmp: Path, database_url: str, **overrides: object) -> Settings:
    """Settings like the test suite's (``tests/conftest.py``), with bench secrets."""
    values: dict[str, object] = {
        "env": Environment.test,
        "data_dir": tmp,
        "media_root": tmp / "media",
        "database_url": database_url,
        "jwt_secret": SecretStr(BENCH_JWT_SECRET),
        "secret_key": SecretStr(BENCH_SECRET_KEY),
        "auto_migrate": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@asynccontextmanager
async def migrated_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The app's engine (``create_engine``) on a database migrated to head."""
    engine = create_engine(settings, settings.database_url)
    try:
        await migrate.upgrade(engine)
        yield engine
    finally:
        await engine.dispose()


def build_app(settings: Settings, engine: AsyncEngine) -> Starlette:
    return create_app(settings, engine=engine)


def sessions_for(engine: AsyncEngine, settings: Settings) -> SessionFactory:
    return SessionFactory(engine, settings.db_tenant_role)


# --------------------------------------------------------------------------- seeding


@dataclass
class SeededProfile:
    id: uuid.UUID
    project_ids: list[uuid.UUID] = field(default_factory=list)


@dataclass
class SeededUser:
    id: uuid.UUID
    email: str
    token: str
    profiles: list[SeededProfile] = field(default_factory=list)

    def headers(self, profile: SeededProfile) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Profile-Id": str(profile.id)}


_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def deterministic_ids(key: str) -> Callable[[], uuid.UUID]:
    """Random-looking UUIDs, the same sequence for the same ``key`` in any process."""
    rng = random.Random(key)
    return lambda: uuid.UUID(int=rng.getrandbits(128), version=4)


async def seed_user(
    sessions: SessionFactory,
    settings: Settings,
    projects_per_profile: Sequence[int],
    *,
    clips_per_project: int = 3,
    segments_per_project: int = 4,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> SeededUser:
    """One user with one profile per entry of ``projects_per_profile`` (the first is default).

    Every project has distinct ``created_at`` (newest-first order is deterministic), a
    source video, ``clips_per_project`` clips and ``segments_per_project`` segments. Every
    row's id comes from ``new_id``: with ``deterministic_ids`` two databases get the same rows.
    """
    user_id = new_id()
    email = f"bench-{user_id.hex[:8]}@example.test"
    user = SeededUser(user_id, email, mint_token(settings, str(user_id), email, 3600 * 4))
    rows: list[Any] = [User(id=user_id, email=email)]
    for p_index, project_count in enumerate(projects_per_profile):
        profile = SeededProfile(new_id())
        name = f"Bench profile {p_index}"
        rows.append(
            Profile(
                id=profile.id,
                user_id=user_id,
                name=name,
                name_key=name_key(name),
                is_default=p_index == 0,
            )
        )
        for i in range(project_count):
            project_id = new_id()
            created = _EPOCH + timedelta(minutes=i)
            profile.project_ids.append(project_id)
            rows.append(
                Project(
                    id=project_id,
                    profile_id=profile.id,
                    name=f"Project {i:03d}",
                    description="seeded by bench",
                    status=ProjectStatus.ACTIVE,
                    created_at=created,
                    updated_at=created,
                    source_path=f"{profile.id}/{project_id}/source.mp4",
                    source_filename="source.mp4",
                    source_duration_seconds=120.0 + i,
                    source_width=1920,
                    source_height=1080,
                    source_fps=30.0,
                    source_size_bytes=50_000_000,
                    source_video_codec="h264",
                    source_audio_codec="aac",
                    source_uploaded_at=created,
                )
            )
            for c in range(clips_per_project):
                rows.append(
                    Clip(
                        id=new_id(),
                        profile_id=profile.id,
                        project_id=project_id,
                        variant_index=c,
                        start_seconds=10.0 * c,
                        end_seconds=10.0 * c + 8.0,
                        aspect=ClipAspect.R9_16,
                        status=ClipStatus.READY,
                        created_at=created + timedelta(seconds=c),
                        updated_at=created + timedelta(seconds=c),
                    )
                )
            kinds = list(SegmentKind)
            for s in range(segments_per_project):
                rows.append(
                    Segment(
                        id=new_id(),
                        profile_id=profile.id,
                        project_id=project_id,
                        kind=kinds[s % len(kinds)],
                        start_seconds=5.0 * s,
                        end_seconds=5.0 * s + 4.5,
                        score=0.5,
                        created_at=created,
                        updated_at=created,
                    )
                )
        user.profiles.append(profile)
    async with sessions.system_transaction() as session:
        # Parents first: profiles need the user, projects the profile, children the project.
        for kind in (User, Profile, Project, Clip, Segment):
            session.add_all([r for r in rows if isinstance(r, kind)])
            await session.flush()
    return user


# --------------------------------------------------------------------------- media


async def make_test_video(path: Path, seconds: int, width: int = 1280, height: int = 720) -> None:
    """A real H.264/AAC MP4 at 30 fps made with the bundled FFmpeg: four scenes (testsrc2,
    SMPTE bars, testsrc, rgbtestsrc) and a 330 Hz tone with a few silent stretches."""
    from editai.media.binaries import find_binaries
    from editai.media.ffmpeg import run_ffmpeg

    quarter = seconds / 4
    args: list[str] = []
    for picture in ("testsrc2", "smptebars", "testsrc", "rgbtestsrc"):
        args += ["-f", "lavfi", "-i", f"{picture}=size={width}x{height}:rate=30:duration={quarter}"]
    silent = "+".join(
        f"between(t,{seconds * a:.2f},{seconds * b:.2f})"
        for a, b in ((0.2, 0.25), (0.52, 0.58), (0.83, 0.87))
    )
    args += [
        "-f", "lavfi", "-i", f"sine=frequency=330:sample_rate=48000:duration={seconds}",
        "-filter_complex",
        f"[0:v][1:v][2:v][3:v]concat=n=4:v=1:a=0[v];[4:a]volume='if({silent},0,1)':eval=frame[a]",
        "-map", "[v]", "-map", "[a]",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "26", "-pix_fmt", "yuv420p",
        "-g", "60", "-c:a", "aac", "-b:a", "128k", str(path),
    ]  # fmt: skip
    await run_ffmpeg(find_binaries(), args)


# --------------------------------------------------------------------------- SQL capture


@dataclass
class StatementLog:
    statements: list[str] = field(default_factory=list)
    # Per statement: "hit" / "miss" (SQLAlchemy's compiled cache), "raw" (driver SQL),
    # or "uncached" (no cache key / caching disabled: compiled on every execution).
    cache: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.statements)

    def count(self, cache_state: str) -> int:
        return self.cache.count(cache_state)


def _cache_state(context: Any) -> str:
    stats: str = context._get_cache_stats() if context is not None else "raw sql"
    if stats.startswith("cached"):
        return "hit"
    if stats.startswith("generated"):
        return "miss"
    if stats.startswith("raw"):
        return "raw"
    return "uncached"


@contextmanager
def capture_statements(engine: AsyncEngine) -> Iterator[StatementLog]:
    """Every statement the engine sends to the driver while the block runs."""
    log = StatementLog()

    def before_cursor_execute(
        _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        log.statements.append(statement)
        log.cache.append(_cache_state(context))

    event.listen(engine.sync_engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield log
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before_cursor_execute)


_PARAM_RUN = re.compile(r"(\$\d+::UUID|\$\d+|\?)(,\s*(\$\d+::UUID|\$\d+|\?)){3,}")
# A long select list (no nested SELECT/FROM inside it) up to its FROM.
_SELECT_LIST = re.compile(r"SELECT ((?:(?!SELECT |FROM ).){40,}?) FROM ")


def short_sql(statement: str, width: int = 240) -> str:
    """One line: collapsed whitespace, long IN lists and select lists abbreviated."""
    text = " ".join(statement.split())
    text = _PARAM_RUN.sub(lambda m: f"{m.group(1)}, ...", text)
    text = _SELECT_LIST.sub("SELECT ... FROM ", text)
    return text if len(text) <= width else text[: width - 3] + "..."


def quiet_logs(level: str = "WARNING") -> None:
    """Route the app's structlog output through stdlib logging at ``level`` (no access log)."""
    configure_logging(level)


def machine_note() -> str:
    """CPUs and load: benchmark figures mean little without them."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average (1/5/15 min) {load}"


def now() -> float:
    return time.perf_counter()


# --------------------------------------------------------------------------- processes


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, all its threads (``/proc/<pid>/stat``)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Fields after the command name, which is in parentheses and may hold spaces.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def peak_rss_bytes(pid: int) -> int:
    """The process's peak resident set size (``VmHWM``), since start or the last reset."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def reset_peak_rss(pid: int) -> bool:
    """Start ``VmHWM`` again from the current RSS (proc(5), ``clear_refs`` 5); False if refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --------------------------------------------------------------------------- baselines

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Checkout:
    """A commit checked out in a temporary git worktree."""

    commit: str
    subject: str
    root: Path

    @property
    def short(self) -> str:
        return self.commit[:7]

    @property
    def src(self) -> Path:
        return self.root / "src"


def _git(*args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def resolve_commit(ref: str) -> tuple[str, str]:
    """The full hash and subject of ``ref``; exits with git's message if it is no commit."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    return commit, _git("log", "-1", "--format=%s", commit)


def describe_work_tree() -> str:
    """HEAD's short hash, and whether the code (src/, migrations) differs from it."""
    head = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--", "src", "alembic", "alembic.ini")
    return f"{head} + uncommitted changes" if dirty else head


@contextmanager
def git_checkout(ref: str, parent: Path) -> Iterator[Checkout]:
    """``ref`` checked out (detached) in a new worktree under ``parent``, removed afterwards.

    Only the worktree's own files and its entry in ``.git/worktrees`` are touched: the
    main work tree, its index and its branches are left alone.
    """
    commit, subject = resolve_commit(ref)
    root = parent / f"worktree-{commit[:7]}"
    _git("worktree", "add", "--detach", "--quiet", str(root), commit)
    try:
        yield Checkout(commit, subject, root)
    finally:
        result = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(root)],
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:  # e.g. removed by hand: forget its entry all the same
            shutil.rmtree(root, ignore_errors=True)
            subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "prune"], check=False)


# Everything a migration decides that a query can notice: columns, keys and indexes,
# enums, row-level security, policies, grants, functions, and the Alembic revision.
