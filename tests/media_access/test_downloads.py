"""GET /media/...: signed, expiring URLs, Range requests, and paths that never leave the root."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from sqlalchemy import insert

from editai.clips.models import Clip
from editai.media.downloads import download_url, one_expiry_per_request
from editai.media.storage import StoragePathError
from tests.media_access.conftest import Env, Samples


async def uploaded(env: Env, samples: Samples) -> tuple[str, str]:
    """(download URL, relative path) of a freshly uploaded source video."""
    user = await env.api.new_user()
    project_id = await user.create_project("Downloads")
    result = await env.upload(user, project_id, samples.video)
    url: str = result.ok()["uploadSourceVideo"]["sourceVideo"]["downloadUrl"]
    relative = (await env.project_row(project_id)).source_path
    assert relative is not None
    return url, relative


async def test_download_url_serves_the_file(env: Env, samples: Samples) -> None:
    url, relative = await uploaded(env, samples)
    parts = urlsplit(url)
    assert parts.path == f"/media/{relative}"
    query = parse_qs(parts.query)
    expires = int(query["exp"][0])
    ttl = env.settings.media_url_ttl_seconds
    assert time.time() + ttl - 60 < expires <= time.time() + ttl + 1

    response = await env.client.get(url)

    assert response.status_code == 200
    assert response.content == samples.video
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["cache-control"].startswith("private")
    assert response.headers["content-length"] == str(len(samples.video))

    head = await env.client.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(samples.video))
    assert head.headers["cache-control"].startswith("private")


async def test_range_requests(env: Env, samples: Samples) -> None:
    url, _ = await uploaded(env, samples)
    size = len(samples.video)

    first = await env.client.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206
    assert first.content == samples.video[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{size}"
    assert first.headers["content-length"] == "100"
    assert first.headers["cache-control"].startswith("private")

    middle = await env.client.get(url, headers={"Range": "bytes=1000-1999"})
    assert middle.status_code == 206
    assert middle.content == samples.video[1000:2000]

    tail = await env.client.get(url, headers={"Range": "bytes=-500"})
    assert tail.status_code == 206
    assert tail.content == samples.video[-500:]
    assert tail.headers["content-range"] == f"bytes {size - 500}-{size - 1}/{size}"

    open_ended = await env.client.get(url, headers={"Range": f"bytes={size - 10}-"})
    assert open_ended.status_code == 206
    assert open_ended.content == samples.video[-10:]

    unsatisfiable = await env.client.get(url, headers={"Range": f"bytes={size}-"})
    assert unsatisfiable.status_code == 416
    assert unsatisfiable.headers["content-range"] == f"bytes */{size}"


async def test_tampered_or_expired_urls_are_refused(env: Env, samples: Samples) -> None:
    url, relative = await uploaded(env, samples)
    _, other = await uploaded(env, samples)
    query = parse_qs(urlsplit(url).query)
    exp, sig = query["exp"][0], query["sig"][0]
    expired = env.local.signed_url(relative, 60, now=time.time() - 3600)

    refused = [
        f"/media/{relative}",  # unsigned
        f"/media/{relative}?exp={exp}",
        f"/media/{relative}?sig={sig}",
        f"/media/{other}?exp={exp}&sig={sig}",  # another file, this signature
        f"/media/{relative}?exp={int(exp) + 3600}&sig={sig}",  # later expiry
        f"/media/{relative}?exp={exp}&sig={sig[:-2]}AA",
        f"/media/{relative}?exp={exp}&sig=",
        f"/media/{relative}?exp=soon&sig={sig}",
        f"/media/{relative}x?exp={exp}&sig={sig}",
        expired,
    ]
    for bad in refused:
        response = await env.client.get(bad)
        assert response.status_code in {403, 404}, bad
        assert response.content != samples.video
        assert samples.video[:64] not in response.content
    assert (await env.client.get(url)).status_code == 200  # the genuine one still works


async def test_paths_outside_the_media_root_are_never_served(
    env: Env, samples: Samples, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    storage = env.local
    profile_dir = storage.root / str(uuid.uuid4())
    profile_dir.mkdir(parents=True)
    (profile_dir / "link.mp4").symlink_to(secret)
    (profile_dir / "dirlink").symlink_to(tmp_path, target_is_directory=True)
    depth = len(storage.root.relative_to(tmp_path).parts)
    relative_to_secret = "../" * depth + secret.name  # e.g. ../../secret.txt

    # Even with a valid signature (as if the server had signed them), these never resolve.
    outside = [
        relative_to_secret,
        f"{profile_dir.name}/../{relative_to_secret}",
        str(secret),  # absolute
        f"{profile_dir.name}/link.mp4",  # symlink to a file outside
        f"{profile_dir.name}/dirlink/secret.txt",  # through a symlinked directory
        "",  # the root itself
        ".",
    ]
    for relative in outside:
        with pytest.raises(StoragePathError):
            storage.resolve(relative)
    for relative in [*outside, profile_dir.name]:  # and a directory is not a file
        url = urlsplit(storage.signed_url(relative, 60))
        status, body = await raw_get(env, unquote(url.path), url.query)
        assert status in {403, 404}, (relative, status)
        assert b"top secret" not in body

    # Encoded traversal: the server decodes it before routing; then it is neither signed
    # (the signature is over what the server built) nor inside the root.
    exp = int(time.time()) + 60
    sig = storage._signature(relative_to_secret, exp)
    for raw in [
        f"/media/{quote(relative_to_secret, safe='')}",
        f"/media/{relative_to_secret.replace('..', '%2e%2e')}",
        f"/media/..%2f..%2f{quote(secret.name)}",
        f"/media/{quote(str(secret), safe='')}",
    ]:
        status, body = await raw_get(env, unquote(raw), f"exp={exp}&sig={sig}", raw_path=raw)
        assert status in {403, 404}, raw
        assert b"top secret" not in body
        # Through a real client as well (which may normalize what it can).
        response = await env.client.get(f"{raw}?exp={exp}&sig={sig}")
        assert response.status_code in {403, 404}, raw
        assert b"top secret" not in response.content


async def raw_get(
    env: Env, path: str, query: str, raw_path: str | None = None
) -> tuple[int, bytes]:
    """A GET straight to the ASGI app: the path exactly as given (no client normalization)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": (raw_path or path).encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await env.app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


async def test_clip_download_url_prefers_the_export(env: Env, samples: Samples) -> None:
    user = await env.api.new_user()
    project_id = await user.create_project("Clips")
    profile_id = uuid.UUID(user.default_profile_id)
    storage = env.local
    clip_ids = [uuid.uuid4() for _ in range(3)]
    rendered = storage.resolve(env.storage.clip_key(profile_id, uuid.UUID(project_id), clip_ids[0]))
    exported = storage.resolve(
        env.storage.export_key(profile_id, uuid.UUID(project_id), clip_ids[1], uuid.uuid4())
    )
    for path, content in ((rendered, samples.video), (exported, samples.video_b)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    rows = [
        (clip_ids[0], storage.relative(rendered), None),
        (clip_ids[1], storage.relative(rendered), storage.relative(exported)),
        (clip_ids[2], None, None),
    ]
    async with env.runtime.sessions.system_transaction() as session:
        for clip_id, media_path, export_path in rows:
            await session.execute(
                insert(Clip).values(
                    id=clip_id,
                    profile_id=profile_id,
                    project_id=uuid.UUID(project_id),
                    start_seconds=0.0,
                    end_seconds=1.0,
                    media_path=media_path,
                    export_path=export_path,
                )
            )

    urls = []
    for clip_id in clip_ids:
        result = await user.gql(
            "query($id: ID!) { clip(id: $id) { downloadUrl } }", {"id": str(clip_id)}
        )
        urls.append(result.ok()["clip"]["downloadUrl"])

    assert urls[2] is None
    assert urlsplit(urls[0]).path == f"/media/{storage.relative(rendered)}"
    assert urlsplit(urls[1]).path == f"/media/{storage.relative(exported)}"
    assert (await env.client.get(urls[0])).content == samples.video
    assert (await env.client.get(urls[1])).content == samples.video_b


async def test_one_file_gets_one_url_throughout_a_request(env: Env, samples: Samples) -> None:
    """Every URL a request signs counts its TTL from the request's start: two fields
    naming one file answer the same URL even when a second ticks between them."""
    url, relative = await uploaded(env, samples)
    with one_expiry_per_request():
        first = download_url(env.runtime, relative)
        await asyncio.sleep(1.05)  # across a second boundary, for certain
        second = download_url(env.runtime, relative)
    assert first == second
    # Outside a request (a job, a script) each URL counts from its own moment.
    await asyncio.sleep(1.05)
    assert download_url(env.runtime, relative) != first
    # And the request-wide URL is a real one.
    assert first is not None
    assert (await env.client.get(first)).status_code == 200
    assert urlsplit(url).path == urlsplit(first).path
