"""uploadSourceVideo: multipart per spec, probe, project row, files on disk; on both backends."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest

from editai.projects.source_video import display_filename
from tests.media_access.conftest import UPLOAD, Env, Samples, multipart_parts, upload_headers


async def test_upload_stores_probes_and_records(env: Env, samples: Samples) -> None:
    user = await env.api.new_user()
    project_id = await user.create_project("Trip")

    result = await env.upload(user, project_id, samples.video, filename="../../My Trip\u202e.mp4")

    video = result.ok()["uploadSourceVideo"]["sourceVideo"]
    assert video["durationSeconds"] == pytest.approx(2.0, abs=0.1)
    assert (video["width"], video["height"], video["fps"]) == (320, 180, 25.0)
    assert (video["videoCodec"], video["audioCodec"]) == ("h264", "aac")
    assert video["codecs"] == ["h264", "aac"]
    assert video["sizeBytes"] == len(samples.video)
    assert video["filename"] == "My Trip .mp4"  # display only: no path, no control chars
    assert video["downloadUrl"].startswith("/media/")

    row = await env.project_row(project_id)
    assert row.source_filename == "My Trip .mp4"
    assert row.source_size_bytes == len(samples.video)
    assert (row.source_video_codec, row.source_audio_codec) == ("h264", "aac")
    assert (row.source_width, row.source_height, row.source_fps) == (320, 180, 25.0)
    assert row.source_duration_seconds == pytest.approx(2.0, abs=0.1)
    assert row.source_uploaded_at is not None
    # The server built the path: <profile>/<project>/source-<uuid>.mp4, nothing else on disk.
    assert row.source_path is not None
    profile_dir, project_dir, name = row.source_path.split("/")
    assert (profile_dir, project_dir) == (user.default_profile_id, project_id)
    assert name.startswith("source-")
    assert name.endswith(".mp4")
    stored = env.local.resolve(row.source_path)
    assert stored.read_bytes() == samples.video
    assert env.media_files() == [stored]
    assert env.upload_temp_files() == []

    # The project query shows the same, through the same type.
    again = await user.gql(
        "query($id: ID!) { project(id: $id) { sourceVideo { sizeBytes codecs } } }",
        {"id": project_id},
    )
    assert again.ok()["project"]["sourceVideo"] == {
        "sizeBytes": len(samples.video),
        "codecs": ["h264", "aac"],
    }


async def test_replacing_the_source_removes_the_old_file(env: Env, samples: Samples) -> None:
    user = await env.api.new_user()
    project_id = await user.create_project("Replace")
    (await env.upload(user, project_id, samples.video)).ok()
    first = env.local.resolve((await env.project_row(project_id)).source_path or "")

    result = await env.upload(user, project_id, samples.video_b, filename="second.mp4")

    video = result.ok()["uploadSourceVideo"]["sourceVideo"]
    assert (video["width"], video["height"], video["filename"]) == (160, 90, "second.mp4")
    second = env.local.resolve((await env.project_row(project_id)).source_path or "")
    assert second != first
    assert not first.exists()
    assert env.media_files() == [second]
    assert second.read_bytes() == samples.video_b


@pytest.mark.parametrize(
    ("sample", "message"),
    [
        ("audio_only", "no video stream"),
        ("empty", "empty"),
        ("text", "not a decodable video"),
        ("truncated", "not a decodable video"),
        ("corrupt", "not a decodable video"),
    ],
)
async def test_rejects_what_is_not_a_decodable_video(
    env: Env, samples: Samples, sample: str, message: str
) -> None:
    content = {
        "audio_only": samples.audio_only,
        "empty": b"",
        "text": b"just some text, named like a video\n" * 50,
        "truncated": samples.truncated,
        "corrupt": samples.corrupt,
    }[sample]
    user = await env.api.new_user()
    project_id = await user.create_project("Bad input")

    result = await env.upload(user, project_id, content, filename="video.mp4")

    assert result.code == "BAD_USER_INPUT", result
    assert message in result.errors[0]["message"]
    assert result.data is None
    row = await env.project_row(project_id)
    assert (row.source_path, row.source_size_bytes) == (None, None)
    assert env.media_files() == []  # the rejected file was deleted
    assert env.upload_temp_files() == []


async def test_a_rejected_replacement_keeps_the_current_source(env: Env, samples: Samples) -> None:
    user = await env.api.new_user()
    project_id = await user.create_project("Keep")
    (await env.upload(user, project_id, samples.video)).ok()
    before = await env.project_row(project_id)

    assert (await env.upload(user, project_id, samples.truncated)).code == "BAD_USER_INPUT"

    after = await env.project_row(project_id)
    assert after.source_path == before.source_path
    assert env.media_files() == [env.local.resolve(before.source_path or "")]


async def test_foreign_or_unknown_project_is_not_found_and_nothing_is_stored(
    env: Env, samples: Samples
) -> None:
    owner = await env.api.new_user()
    intruder = await env.api.new_user()
    project_id = await owner.create_project("Private")
    other_profile = await owner.create_profile("Second")

    for user, target, profile in [
        (intruder, project_id, None),  # another user's project
        (owner, project_id, other_profile),  # the owner's project, from another profile
        (owner, str(uuid.uuid4()), None),  # no such project
        (owner, "not-an-id", None),
    ]:
        result = await env.upload(user, target, samples.video, profile_id=profile)
        assert result.code == "NOT_FOUND", result
        assert result.errors[0]["message"] == "Project not found"
        assert result.data is None

    assert (await env.project_row(project_id)).source_path is None
    assert env.media_files() == []
    assert env.upload_temp_files() == []


async def test_without_identity_or_profile_the_body_is_not_read(env: Env, samples: Samples) -> None:
    user = await env.api.new_user()
    stranger = await env.api.new_user()
    project_id = await user.create_project("Auth")
    read = 0

    async def body(parts: list[bytes]) -> AsyncIterator[bytes]:
        nonlocal read
        for part in parts:
            read += len(part)
            yield part

    cases = [
        ({}, 401, "UNAUTHENTICATED"),
        ({"Authorization": "Bearer not-a-token"}, 401, "UNAUTHENTICATED"),
        ({"Authorization": f"Bearer {user.token}", "X-Profile-Id": "nope"}, 400, "NOT_FOUND"),
        (
            {"Authorization": f"Bearer {user.token}", "X-Profile-Id": stranger.default_profile_id},
            403,
            "FORBIDDEN",
        ),
    ]
    for headers, status, code in cases:
        read = 0
        parts = multipart_parts(project_id, 2 * 1024 * 1024)
        response = await env.client.post(
            "/graphql", content=body(parts), headers={**upload_headers(""), **headers}
        )
        assert response.status_code == status, (headers, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == code
        assert read < 256 * 1024, "the upload was read before the identity was checked"
    assert env.media_files() == []
    assert env.upload_temp_files() == []


async def test_malformed_multipart_requests_are_client_errors(env: Env, samples: Samples) -> None:
    user = await env.api.new_user()
    project_id = await user.create_project("Malformed")
    headers = {"Authorization": f"Bearer {user.token}", "Apollo-Require-Preflight": "1"}
    operations = json.dumps({"query": UPLOAD, "variables": {"projectId": project_id, "file": None}})
    cases = [
        {"operations": operations, "map": json.dumps({"0": ["variables.nope.deeper"]})},
        {"operations": operations, "map": json.dumps({"1": ["variables.file"]})},
        {"operations": operations, "map": "not json"},
        {"operations": "[1", "map": json.dumps({"0": ["variables.file"]})},
    ]
    for data in cases:
        response = await env.client.post(
            "/graphql", data=data, files={"0": ("a.mp4", samples.video)}, headers=headers
        )
        assert response.status_code == 400, (data, response.text)
    # Two files where the schema takes one.
    response = await env.client.post(
        "/graphql",
        data={"operations": operations, "map": json.dumps({"0": ["variables.file"]})},
        files=[("0", ("a.mp4", samples.video)), ("1", ("b.mp4", samples.video))],
        headers=headers,
    )
    assert response.status_code == 400
    # A form field where the map says a file goes.
    response = await env.client.post(
        "/graphql",
        data={
            "operations": operations,
            "map": json.dumps({"0": ["variables.file"]}),
            "0": "not a file",
        },
        files={"x": ("a.txt", b"x")},
        headers=headers,
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert env.media_files() == []


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (None, None),
        ("", None),
        ("video.mp4", "video.mp4"),
        ("C:\\Users\\me\\Videos\\clip.mov", "clip.mov"),
        ("/etc/passwd", "passwd"),
        ("../../x.mp4", "x.mp4"),
        ("a\x00b\nc\td.mp4", "a b c d.mp4"),
        ("evil\u202egnp.mp4", "evil gnp.mp4"),
        ("  \x07 ", None),
        ("e\u0301.mp4", "\u00e9.mp4"),
        ("x" * 400 + ".mp4", "x" * 255),
    ],
)
def test_display_filename(raw: str | None, shown: str | None) -> None:
    assert display_filename(raw) == shown
