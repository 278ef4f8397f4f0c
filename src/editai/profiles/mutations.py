"""Profile mutations: one unit of work each."""

from __future__ import annotations

import strawberry

from editai.graphql.context import Info
from editai.graphql.ids import parse_id
from editai.graphql.inputs import given
from editai.jobs.service import cancel_jobs_of_profile
from editai.profiles.service import ProfileChanges, ProfileService, profile_target
from editai.profiles.types import CreateProfileInput, Profile, UpdateProfileInput


def _service(info: Info) -> ProfileService:
    return ProfileService(info.context.session, info.context.settings.secret_key.get_secret_value())


@strawberry.type
class ProfileMutation:
    @strawberry.mutation
    async def create_profile(self, info: Info, input: CreateProfileInput) -> Profile:
        info.context.principal()
        changes = ProfileChanges(
            name=input.name,
            description=input.description,
            tts_provider=input.tts_provider,
            tts_voice_id=input.tts_voice_id,
            postiz_api_url=input.postiz_api_url,
            postiz_api_key=input.postiz_api_key,
            elevenlabs_api_key=input.elevenlabs_api_key,
            gemini_api_key=input.gemini_api_key,
        )
        async with info.context.unit_of_work():
            profile = await _service(info).create(changes)
        return Profile.from_model(profile)

    @strawberry.mutation
    async def update_profile(
        self, info: Info, id: strawberry.ID, input: UpdateProfileInput
    ) -> Profile:
        info.context.principal()
        profile_id = parse_id(id, "Profile")
        changes = ProfileChanges(
            name=given(input.name),
            description=given(input.description),
            tts_provider=given(input.tts_provider),
            tts_voice_id=given(input.tts_voice_id),
            postiz_api_url=given(input.postiz_api_url),
            postiz_api_key=given(input.postiz_api_key),
            elevenlabs_api_key=given(input.elevenlabs_api_key),
            gemini_api_key=given(input.gemini_api_key),
        )
        async with info.context.unit_of_work(profile_target(profile_id)):
            profile = await _service(info).update(profile_id, changes)
        return Profile.from_model(profile)

    @strawberry.mutation(description="Makes this profile the default, atomically.")
    async def set_default_profile(self, info: Info, id: strawberry.ID) -> Profile:
        info.context.principal()
        profile_id = parse_id(id, "Profile")
        async with info.context.unit_of_work(profile_target(profile_id)):
            profile = await _service(info).set_default(profile_id)
        return Profile.from_model(profile)

    @strawberry.mutation(description="Deletes a non-default profile and everything in it.")
    async def delete_profile(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        info.context.principal()
        profile_id = parse_id(id, "Profile")
        runtime, user_id = info.context.services, info.context.principal().user_id

        async with info.context.db():
            await _service(info).ensure_deletable(profile_id)
        # Its running jobs stop first, in a transaction of that profile's own (a job queued
        # meanwhile finds its profile gone and fails readably).
        await cancel_jobs_of_profile(runtime.sessions, runtime.events, profile_id, user_id)
        async with info.context.unit_of_work():
            deleted = await _service(info).delete(profile_id)
        # Files go once the rows are gone for good (after the commit).
        await runtime.storage.after_commit(runtime.storage.remove_profile(deleted))
        return strawberry.ID(str(deleted))
