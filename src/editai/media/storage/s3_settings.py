"""The S3 backend's options, taken from Settings (EDITAI_S3_*)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from editai.settings import Settings


@dataclass(frozen=True, slots=True)
class S3Options:
    bucket: str
    endpoint_url: str | None
    public_endpoint_url: str | None
    region: str
    access_key_id: str | None
    secret_access_key: str | None
    addressing_style: str
    key_prefix: str
    multipart_chunk_bytes: int
    max_attempts: int
    connect_timeout_seconds: float
    read_timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Options:
        secret = settings.s3_secret_access_key
        prefix = settings.s3_key_prefix.strip("/")
        return cls(
            bucket=settings.s3_bucket or "",
            endpoint_url=settings.s3_endpoint_url or None,
            public_endpoint_url=settings.s3_public_endpoint_url or None,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret is not None else None,
            addressing_style=settings.s3_addressing_style,
            key_prefix=f"{prefix}/" if prefix else "",
            multipart_chunk_bytes=settings.s3_multipart_chunk_bytes,
            max_attempts=settings.s3_max_attempts,
            connect_timeout_seconds=settings.s3_connect_timeout_seconds,
            read_timeout_seconds=settings.s3_read_timeout_seconds,
        )
