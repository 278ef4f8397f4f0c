"""Deleting a project or a profile removes its files (after the commit), and only its files."""

from __future__ import annotations

import uuid

from tests.media_access.conftest import Env, Samples


async def test_deleting_projects_and_profiles_removes_their_files(
    env: Env, samples: Samples
) -> None:
    user = await env.api.new_user()
    kept_profile = await user.create_profile("Kept")
    doomed_profile = await user.create_profile("Doomed")
    projects: dict[tuple[str, str], str] = {}
    for profile in (kept_profile, doomed_profile):
        for name in ("one", "two"):
            project_id = await user.create_project(name, profile_id=profile)
            result = await env.upload(user, project_id, samples.video, profile_id=profile)
            result.ok()
            projects[profile, name] = project_id
    # A clip file beside the source, as the jobs write them.
    clip = env.local.resolve(
        env.storage.clip_key(
            uuid.UUID(kept_profile), uuid.UUID(projects[kept_profile, "one"]), uuid.uuid4()
        )
    )
    clip.parent.mkdir(parents=True)
    clip.write_bytes(b"clip")
    assert len(env.media_files()) == 5

    deleted = await user.gql(
        "mutation($id: ID!) { deleteProject(id: $id) }",
        {"id": projects[kept_profile, "one"]},
        profile_id=kept_profile,
    )
    assert deleted.ok()["deleteProject"] == projects[kept_profile, "one"]
    (await user.gql("mutation($id: ID!) { deleteProfile(id: $id) }", {"id": doomed_profile})).ok()

    remaining = env.media_files()
    assert len(remaining) == 1
    (survivor,) = remaining
    relative = env.local.relative(survivor)
    assert relative.startswith(f"{kept_profile}/{projects[kept_profile, 'two']}/source-")
    assert not (env.settings.media_dir / kept_profile / projects[kept_profile, "one"]).exists()
    assert not (env.settings.media_dir / doomed_profile).exists()
    # The survivor's row and URL still work.
    url = (
        await user.gql(
            "query($id: ID!) { project(id: $id) { sourceVideo { downloadUrl } } }",
            {"id": projects[kept_profile, "two"]},
            profile_id=kept_profile,
        )
    ).ok()["project"]["sourceVideo"]["downloadUrl"]
    assert (await env.client.get(url)).content == samples.video


async def test_a_refused_delete_keeps_the_files(env: Env, samples: Samples) -> None:
    user = await env.api.new_user()
    project_id = await user.create_project("Default profile project")
    (await env.upload(user, project_id, samples.video)).ok()
    intruder = await env.api.new_user()

    refused = await user.gql(
        "mutation($id: ID!) { deleteProfile(id: $id) }", {"id": user.default_profile_id}
    )
    assert refused.code == "BAD_USER_INPUT"  # the default profile
    foreign = await intruder.gql(
        "mutation($id: ID!) { deleteProject(id: $id) }", {"id": project_id}
    )
    assert foreign.code == "NOT_FOUND"

    assert len(env.media_files()) == 1
