"""Plain (synchronous) S3 clients for test set-up and inspection of the store."""

from __future__ import annotations

from typing import Any

import botocore.session  # type: ignore[import-untyped]
import httpx
from botocore.config import Config  # type: ignore[import-untyped]

from tests.s3.seaweed import ACCESS_KEY, SECRET_KEY


def sync_client(endpoint: str, secret: str = SECRET_KEY) -> Any:
    return botocore.session.Session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=secret,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            connect_timeout=2,
            read_timeout=10,
        ),
    )


def keys_in(client: Any, bucket: str) -> list[str]:
    found: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        found += [item["Key"] for item in page.get("Contents", [])]
    return sorted(found)


def open_uploads(client: Any, bucket: str) -> list[str]:
    """Keys of incomplete multipart uploads (each one a leak)."""
    answer = client.list_multipart_uploads(Bucket=bucket)
    return sorted(u["Key"] for u in answer.get("Uploads", []))


async def fetch(url: str, **headers: str) -> httpx.Response:
    """A download as a browser makes it: straight from the store (the URL is absolute)."""
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.get(url, headers=headers)
