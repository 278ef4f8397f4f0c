"""Users, profiles and projects made through the API of a running server.

Every name a profile owns carries that profile's marker (``<marker>:...``), so that a
client can tell from any answer whose data it is, without asking the database.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from editai.auth.tokens import mint_token
from editai.media.binaries import find_binaries
from editai.settings import Settings
from tests.media.videos import STILL, make_video
from tests.robustness.client import Answer, bearer, post, post_upload

CREATE_PROFILE = "mutation($input: CreateProfileInput!) { createProfile(input: $input) { id } }"
CREATE_PROJECT = "mutation($input: CreateProjectInput!) { createProject(input: $input) { id } }"
UPLOAD = (
    "mutation($projectId: ID!, $file: Upload!) "
    "{ uploadSourceVideo(projectId: $projectId, file: $file) { id } }"
)
GENERATE = (
    "mutation($projectId: ID!) { generateRawClips(projectId: $projectId, "
    "input: {variantCount: 2, clipSeconds: 1.0}) { id } }"
)
JOB = "query($id: ID!) { job(id: $id) { status error } }"
CLIPS = "query($id: ID!) { project(id: $id) { clips { edges { node { id } } } } }"


@dataclass
class Tenant:
    """One profile of one user, as a client of that profile sees it."""

    user_id: str
    token: str
    profile_id: str
    marker: str
    is_default: bool
    project_ids: list[str] = field(default_factory=list)
    clip_ids: list[str] = field(default_factory=list)

    def headers(self, *, explicit: bool = True) -> dict[str, str]:
        """With ``explicit=False`` a default profile is reached without X-Profile-Id."""
        if not explicit and self.is_default:
            return bearer(self.token)
        return bearer(self.token, self.profile_id)

    def seeded_ids(self) -> list[str]:
        return [self.profile_id, *self.project_ids, *self.clip_ids]

    def owns_name(self, name: object) -> bool:
        return isinstance(name, str) and name.startswith(f"{self.marker}:")


@dataclass
class World:
    tenants: list[Tenant]

    def ids(self) -> list[str]:
        return [i for t in self.tenants for i in t.seeded_ids()]

    def of_user(self, user_id: str) -> list[Tenant]:
        return [t for t in self.tenants if t.user_id == user_id]


def ok(answer: Answer, what: str) -> dict[str, object]:
    assert answer.status == 200, f"{what}: {answer.short()}"
    assert not answer.errors, f"{what}: {answer.short()}"
    assert isinstance(answer.data, dict), f"{what}: {answer.short()}"
    return answer.data


async def seed_world(
    client: httpx.AsyncClient,
    settings: Settings,
    *,
    users: int,
    profiles_per_user: int,
    projects_per_profile: int,
) -> World:
    """``users`` users, each with its default profile plus ``profiles_per_user - 1`` more,
    each profile with ``projects_per_profile`` projects named with its marker."""
    tenants: list[Tenant] = []
    for u in range(users):
        user_id = str(uuid.uuid4())
        token = mint_token(settings, user_id, f"robust-{u}@example.test")
        me = ok(await post(client, "{ currentProfile { id } }", headers=bearer(token)), "me")
        default_id = str(me["currentProfile"]["id"])  # type: ignore[index]
        tenants.append(Tenant(user_id, token, default_id, f"u{u}p0", True))
        for p in range(1, profiles_per_user):
            made = ok(
                await post(
                    client,
                    CREATE_PROFILE,
                    {"input": {"name": f"u{u}p{p}:profile"}},
                    bearer(token),
                ),
                "createProfile",
            )
            profile_id = str(made["createProfile"]["id"])  # type: ignore[index]
            tenants.append(Tenant(user_id, token, profile_id, f"u{u}p{p}", False))
    for tenant in tenants:
        for n in range(projects_per_profile):
            made = ok(
                await post(
                    client,
                    CREATE_PROJECT,
                    {"input": {"name": f"{tenant.marker}:project {n}"}},
                    tenant.headers(),
                ),
                "createProject",
            )
            tenant.project_ids.append(str(made["createProject"]["id"]))  # type: ignore[index]
    return World(tenants)


async def small_video(folder: Path) -> bytes:
    """A 4 s 320x180 H.264/AAC video (FFmpeg's lavfi, made in ``folder``), so that jobs
    have real work."""
    return (await make_video(find_binaries(), STILL, folder)).read_bytes()


async def add_video_and_clips(
    client: httpx.AsyncClient, tenant: Tenant, video: bytes, *, within: float = 60.0
) -> None:
    """Upload ``video`` into the tenant's first project and cut clips from it (a real job
    on the server's embedded worker), so that clip ids exist for the fuzz to use."""
    project_id = tenant.project_ids[0]
    ok(
        await post_upload(
            client,
            UPLOAD,
            {"projectId": project_id},
            "file",
            ("still.mp4", video, "video/mp4"),
            tenant.headers(),
        ),
        "upload",
    )
    started = ok(await post(client, GENERATE, {"projectId": project_id}, tenant.headers()), "gen")
    job_id = started["generateRawClips"]["id"]  # type: ignore[index]
    deadline = time.monotonic() + within
    while True:
        job = ok(await post(client, JOB, {"id": job_id}, tenant.headers()), "job")["job"]
        status = job["status"]  # type: ignore[index]
        if status == "SUCCEEDED":
            break
        assert status in {"QUEUED", "RUNNING"}, f"clip job ended {job}"
        assert time.monotonic() < deadline, f"clip job not done in {within} s: {job}"
        await asyncio.sleep(0.1)
    clips = ok(await post(client, CLIPS, {"id": project_id}, tenant.headers()), "clips")
    edges = clips["project"]["clips"]["edges"]  # type: ignore[index]
    tenant.clip_ids += [e["node"]["id"] for e in edges]
    assert tenant.clip_ids, "the clip job made no clips"
