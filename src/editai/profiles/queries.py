"""Profile queries: parse, call the service, map the result."""

from __future__ import annotations

import strawberry

from editai.graphql.context import Info
from editai.profiles.service import ProfileService
from editai.profiles.types import Profile, User


def _service(info: Info) -> ProfileService:
    return ProfileService(info.context.session, info.context.settings.secret_key.get_secret_value())


@strawberry.type
class ProfileQuery:
    @strawberry.field(description="The signed-in user and their profiles.")
    async def me(self, info: Info) -> User:
        principal = info.context.principal()
        async with info.context.db():
            profiles = await _service(info).repo.list_for_user()
        return User(
            id=strawberry.ID(str(principal.user_id)),
            email=principal.email,
            profiles=[Profile.from_model(p) for p in profiles],
        )

    @strawberry.field(description="The signed-in user's profiles, default first.")
    async def profiles(self, info: Info) -> list[Profile]:
        info.context.principal()
        async with info.context.db():
            profiles = await _service(info).repo.list_for_user()
        return [Profile.from_model(p) for p in profiles]

    @strawberry.field(description="The profile this request works in (X-Profile-Id or default).")
    async def current_profile(self, info: Info) -> Profile:
        profile_ctx = info.context.profile()
        async with info.context.db():
            profile = await _service(info).get(profile_ctx.profile_id)
        return Profile.from_model(profile)
