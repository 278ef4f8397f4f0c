"""The one settings object. Every knob is an ``EDITAI_*`` environment variable."""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class ClaimOrder(StrEnum):
    """Which queued job a worker takes next (jobs/claims.py)."""

    fair = "fair"  # across profiles: fewest running, then least recently served
    fifo = "fifo"  # the oldest runnable job, whoever queued it (the order before issue 11)


class InsecureSettingsError(RuntimeError):
    """Raised at start-up when production would run with unsafe defaults."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EDITAI_", env_file=".env", extra="ignore")

    env: Environment = Environment.development
    data_dir: Path = Path("./var")
    # Empty means the embedded default: a SQLite file under ``data_dir``.
    database_url: str = ""
    media_root: Path | None = None
    # The PostgreSQL role every tenant transaction switches to (``SET LOCAL ROLE``):
    # not the table owner, not superuser, no BYPASSRLS, so row-level security holds.
    db_tenant_role: str = "editai_tenant"
    # Apply migrations at start-up. Default: on for the embedded SQLite database; on
    # PostgreSQL run `editai migrate` once per deploy instead (many processes start).
    auto_migrate: bool | None = None
    db_pool_size: int = 10
    db_pool_pre_ping: bool = False
    db_pool_recycle_seconds: int = 1800
    # The longest a request waits for a pooled connection, and (SQLite) for the write
    # lock, before it answers "database busy": one stuck operation stalls others at most
    # this long.
    db_pool_timeout_seconds: float = 10.0
    sqlite_busy_timeout_seconds: float = 5.0
    db_echo: bool = False

    jwt_secret: SecretStr | None = None
    jwt_jwks_url: str | None = None
    jwt_audience: str = "authenticated"
    jwt_issuer: str | None = None
    jwt_leeway_seconds: int = 30
    # Verified tokens kept (until each one's exp) so a client's next request skips the
    # signature check; 0 turns the cache off.
    verified_token_cache_size: int = Field(default=10_000, ge=0)
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["HS256", "RS256", "ES256"])
    jwks_cache_seconds: int = 300
    auth_disabled: bool = False
    dev_user_id: str = "00000000-0000-0000-0000-000000000001"
    dev_user_email: str = "dev@editai.local"

    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)

    graphiql_enabled: bool | None = None
    # GET /metrics (editai/metrics.py): on unless production; with a token, only for
    # `Authorization: Bearer <token>` (then on in production too).
    metrics_enabled: bool | None = None
    metrics_token: SecretStr | None = None
    # An `editai worker` process serves its own metrics on this port (off when unset).
    worker_metrics_port: int | None = None
    introspection_enabled: bool | None = None
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    # Every String/ID argument, anywhere in the input (graphql/input_hygiene.py): well
    # above the longest per-field limit (voice-over text, post content: 5000 characters).
    max_string_length: int = 10_000
    max_page_size: int = 100
    # Breadth (graphql/query_cost.py): the objects an operation can return at most, with
    # a list that has no `first` counted as this many items. Refused above the budget;
    # the cost is in the answer's extensions when asked (header X-Query-Cost: report),
    # or always with report_query_cost.
    max_query_cost: int = 5000
    query_cost_list_size: int = 20
    report_query_cost: bool = False
    # Persisted queries (persisted_queries/service.py): Apollo's automatic persisted
    # queries, stored in the database for every process, at most this many and this
    # long; or, with persisted_queries_only, only the manifest's operations run.
    persisted_queries_max: int = 10_000
    persisted_query_max_bytes: int = 100_000
    persisted_queries_manifest: Path | None = None
    persisted_queries_only: bool = False
    # An operation still running after this long is cancelled (its transaction rolled
    # back, its connection released) and answered with an error.
    operation_timeout_seconds: float = 60.0

    # Media and FFmpeg
    temp_dir: Path | None = None
    ffmpeg_path: str | None = None
    ffprobe_path: str | None = None
    max_upload_bytes: int = 4 * 1024**3
    media_url_ttl_seconds: int = 3600
    # Where media lives: ``local`` (media_root, the embedded default) or ``s3`` (any
    # S3-compatible store; servers and workers then share nothing but it and PostgreSQL).
    storage: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None  # unset: AWS S3 itself
    # The store's address as clients see it, for download URLs (servers may reach it by an
    # internal name); unset: s3_endpoint_url.
    s3_public_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    # Unset: botocore's own chain (AWS_* environment, instance role, web identity).
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    s3_key_prefix: str = ""  # every key under it, e.g. "editai/": several apps, one bucket
    # Files larger than this go up in parts of this size (S3's minimum part is 5 MiB).
    s3_multipart_chunk_bytes: int = Field(default=8 * 1024**2, ge=5 * 1024**2)
    s3_max_attempts: int = Field(default=3, ge=1)  # per request, by the client itself
    s3_connect_timeout_seconds: float = 5.0
    s3_read_timeout_seconds: float = 60.0
    # The sweeper removes objects no row names once they are older than this: longer than
    # any job runs, so a running job's outputs (stored before its commit) are never taken.
    media_orphan_grace_seconds: float = Field(default=24 * 3600, ge=60)

    # Jobs
    embedded_worker: bool = True
    worker_concurrency: int = 2
    worker_poll_seconds: float = 1.0
    job_heartbeat_seconds: float = 2.0
    job_stale_after_seconds: float = 30.0
    job_max_attempts: int = 3
    job_retry_base_seconds: float = 2.0
    # Fair: one profile's backlog delays another profile's job by at most one job slot.
    job_claim_order: ClaimOrder = ClaimOrder.fair
    # At most this many RUNNING jobs per profile across all workers (unset: no cap).
    job_max_running_per_profile: int | None = Field(default=None, ge=1)
    # Bytes of media (source videos, clips, exports, voice-overs) one profile may keep
    # (unset: no quota). Uploads that would pass it and media jobs at it are refused.
    profile_storage_quota_bytes: int | None = Field(default=None, ge=0)

    # External services. A profile's own keys (stored encrypted) win over these global
    # ones; with no key at all the offline defaults keep working: local TTS, local analysis.
    provider_timeout_seconds: float = 60.0
    # A 429 is retried after the wait the server asks for (Retry-After), at most this long
    # per wait and this many times; a longer ask fails the call (the job retries later).
    provider_max_retries: int = 4
    provider_max_retry_wait_seconds: float = 120.0

    # Text to speech. LOCAL is eSpeak NG from the espeakng-loader wheel: no key, no network.
    tts_default_provider: str = "LOCAL"
    local_tts_voice: str = "en-us"
    elevenlabs_api_key: SecretStr | None = None
    elevenlabs_base_url: str = "https://api.elevenlabs.io"
    elevenlabs_model_id: str = "eleven_multilingual_v2"
    elevenlabs_output_format: str = "mp3_44100_128"
    elevenlabs_default_voice_id: str = "21m00Tcm4TlvDq8ikWAM"
    elevenlabs_usd_per_1k_characters: float = 0.30
    edge_tts_default_voice: str = "en-US-AriaNeural"
    # Connect to this host:port instead of Microsoft's endpoint (a relay, or a test
    # double); the TLS name checked stays speech.platform.bing.com.
    edge_tts_connect_to: str | None = None
    # Extra CA bundle trusted for the Edge TTS connection (a TLS-inspecting proxy's CA).
    edge_tts_ca_file: Path | None = None
    max_voiceover_characters: int = 5000

    # Video analysis: LOCAL (FFmpeg scene/silence/loudness) or GEMINI.
    gemini_api_key: SecretStr | None = None
    gemini_base_url: str = "https://generativelanguage.googleapis.com"
    gemini_model: str = "gemini-2.5-flash"
    gemini_usd_per_1m_input_tokens: float = 0.30
    gemini_usd_per_1m_output_tokens: float = 2.50
    gemini_status_cache_seconds: float = 60.0
    gemini_file_poll_seconds: float = 2.0
    gemini_file_wait_seconds: float = 600.0

    # Local transcription (faster-whisper, Whisper base int8, from the model wheels).
    # The joined, verified model lives under this folder (default: <venv>/share/editai/models).
    model_cache_dir: Path | None = None
    transcription_threads: int = Field(default=0, ge=0, le=64)  # 0: every core
    # Greedy decoding: as accurate as beam 5 on the test speech, faster (bench/README.md).
    transcription_beam_size: int = Field(default=1, ge=1, le=10)

    # Publishing through Postiz (public API). A profile's URL and key win over these.
    postiz_api_url: str | None = None
    postiz_api_key: SecretStr | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    # How long an idle keep-alive connection stays open. Longer than clients' own idle
    # expiry (httpx 5 s, aiohttp 15 s) and load balancers' (60 s): when the server closes
    # first, a request the client sends at that moment meets a reset (uvicorn's 5 s
    # default equals httpx's, and under load that race lost requests).
    http_keep_alive_seconds: int = Field(default=65, ge=1, le=3600)
    log_level: str = "INFO"
    log_json: bool | None = None

    @model_validator(mode="after")
    def _fill_derived(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{(self.data_dir / 'editai.db').as_posix()}"
        if self.media_root is None:
            self.media_root = self.data_dir / "media"
        if self.temp_dir is None:
            self.temp_dir = self.data_dir / "tmp"
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.production

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def auto_migrate_on_start(self) -> bool:
        return self.auto_migrate if self.auto_migrate is not None else self.is_sqlite

    @property
    def graphiql(self) -> bool:
        return (
            self.graphiql_enabled if self.graphiql_enabled is not None else not self.is_production
        )

    @property
    def metrics(self) -> bool:
        if self.metrics_enabled is not None:
            return self.metrics_enabled
        return not self.is_production or self.metrics_token is not None

    @property
    def introspection(self) -> bool:
        if self.introspection_enabled is not None:
            return self.introspection_enabled
        return not self.is_production

    @property
    def logs_as_json(self) -> bool:
        return self.log_json if self.log_json is not None else self.is_production

    @property
    def temp_root(self) -> Path:
        assert self.temp_dir is not None  # filled by the validator
        return self.temp_dir

    @property
    def media_dir(self) -> Path:
        assert self.media_root is not None  # filled by the validator
        return self.media_root

    def check_startup(self) -> None:
        """Refuse configurations that must never serve traffic."""
        problems: list[str] = []
        if self.auth_disabled and self.env is not Environment.development:
            problems.append("EDITAI_AUTH_DISABLED=true is only allowed when EDITAI_ENV=development")
        if self.is_production:
            if self.secret_key.get_secret_value() == DEV_SECRET_KEY:
                problems.append("EDITAI_SECRET_KEY must be set in production")
            elif len(self.secret_key.get_secret_value()) < 32:
                problems.append("EDITAI_SECRET_KEY must be at least 32 characters")
            if self.jwt_secret is None and not self.jwt_jwks_url:
                problems.append(
                    "EDITAI_JWT_SECRET or EDITAI_JWT_JWKS_URL must be set in production"
                )
            if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < 32:
                problems.append("EDITAI_JWT_SECRET must be at least 32 characters in production")
            if self.is_sqlite:
                problems.append("production needs PostgreSQL (EDITAI_DATABASE_URL)")
        if self.persisted_queries_only and self.persisted_queries_manifest is None:
            # Allow-list mode with no list: nothing could run.
            problems.append(
                "EDITAI_PERSISTED_QUERIES_ONLY=true needs EDITAI_PERSISTED_QUERIES_MANIFEST"
            )
        if self.storage == "s3" and not self.s3_bucket:
            problems.append("EDITAI_STORAGE=s3 needs EDITAI_S3_BUCKET")
        if problems:
            raise InsecureSettingsError("; ".join(problems))

    def ensure_dev_jwt_secret(self) -> bool:
        """In development with no JWT secret, create one under the data dir.

        Returns True when a secret was created or loaded from the data dir.
        """
        if (
            self.jwt_secret is not None
            or self.jwt_jwks_url
            or self.env is not Environment.development
        ):
            return False
        path = self.data_dir / "jwt-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        self.jwt_secret = SecretStr(path.read_text().strip())
        return True


@lru_cache
def get_settings() -> Settings:
    return Settings()
