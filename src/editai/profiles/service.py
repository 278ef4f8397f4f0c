"""Profile rules: names, the one default, encrypted provider credentials."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from editai.crypto import encrypt_secret
from editai.db.targets import Target
from editai.errors import BadUserInput, Conflict, NotFound
from editai.profiles.models import Profile
from editai.profiles.repository import ProfileRepository, name_key
from editai.validation import UNSET, clean_description, clean_name

NAME_MAX = 100
DESCRIPTION_MAX = 2000
# Column lengths: profiles.tts_voice_id and voiceovers.voice_id, profiles.postiz_api_url.
MAX_VOICE_ID_CHARS = 200
MAX_URL_CHARS = 500
MAX_API_KEY_CHARS = 1000
PROFILE_NOT_FOUND = "Profile not found"


def profile_target(profile_id: uuid.UUID) -> Target:
    """The profile a write names (checked before the write: db/targets.py). Profiles are
    user-scoped: another user's profile is simply not found here."""
    return Target.of(Profile, profile_id, PROFILE_NOT_FOUND)


class TtsProvider(StrEnum):
    LOCAL = "LOCAL"
    EDGE = "EDGE"
    ELEVENLABS = "ELEVENLABS"


@dataclass
class ProfileChanges:
    name: Any = UNSET
    description: Any = UNSET
    tts_provider: Any = UNSET
    tts_voice_id: Any = UNSET
    postiz_api_url: Any = UNSET
    postiz_api_key: Any = UNSET
    elevenlabs_api_key: Any = UNSET
    gemini_api_key: Any = UNSET


def _clean_url(url: str | None) -> str | None:
    if url is None or not url.strip():
        return None
    if len(url) > MAX_URL_CHARS:
        raise BadUserInput(
            f"Postiz API URL must be at most {MAX_URL_CHARS} characters", field="postizApiUrl"
        )
    parsed = urlparse(url.strip())
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise BadUserInput("Postiz API URL must be an http(s) URL", field="postizApiUrl")
    return url.strip().rstrip("/")


def _clean_optional(value: str | None, field: str, max_len: int) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > max_len:
        raise BadUserInput(f"{field} must be at most {max_len} characters", field=field)
    return value.strip()


class ProfileService:
    def __init__(self, session: AsyncSession, secret_key: str) -> None:
        self.session = session
        self.repo = ProfileRepository(session)
        self.secret_key = secret_key

    async def get(self, profile_id: uuid.UUID) -> Profile:
        profile = await self.repo.get(profile_id)
        if profile is None:
            raise NotFound(PROFILE_NOT_FOUND)
        return profile

    async def create(self, changes: ProfileChanges) -> Profile:
        profile = Profile(is_default=False)
        await self._apply(profile, changes, creating=True)
        self.repo.add(profile)
        await self._flush_checking_name()
        return profile

    async def update(self, profile_id: uuid.UUID, changes: ProfileChanges) -> Profile:
        profile = await self.get(profile_id)
        await self._apply(profile, changes, creating=False)
        await self._flush_checking_name()
        return profile

    async def set_default(self, profile_id: uuid.UUID) -> Profile:
        await self.repo.lock_all_for_user()
        profile = await self.get(profile_id)
        await self.repo.set_default(profile.id)
        await self.session.refresh(profile)
        return profile

    async def ensure_deletable(self, profile_id: uuid.UUID) -> Profile:
        profile = await self.get(profile_id)
        if profile.is_default:
            raise BadUserInput(
                "The default profile cannot be deleted: set another profile as default first"
            )
        return profile

    async def delete(self, profile_id: uuid.UUID) -> uuid.UUID:
        """Delete a non-default profile (checked again: it may have become the default)."""
        profile = await self.ensure_deletable(profile_id)
        self.session.expunge(profile)
        if await self.repo.delete(profile_id) != 1:
            raise NotFound(PROFILE_NOT_FOUND)
        return profile_id

    async def _apply(self, profile: Profile, changes: ProfileChanges, *, creating: bool) -> None:
        if creating or changes.name is not UNSET:
            name = clean_name(changes.name, what="Profile", max_length=NAME_MAX)
            if await self.repo.name_taken(name, excluding=None if creating else profile.id):
                raise Conflict("A profile with this name already exists", field="name")
            profile.name = name
            profile.name_key = name_key(name)
        if changes.description is not UNSET:
            profile.description = clean_description(changes.description, max_length=DESCRIPTION_MAX)
        if changes.tts_provider is not UNSET:
            profile.tts_provider = (
                TtsProvider(changes.tts_provider).value if changes.tts_provider else None
            )
        if changes.tts_voice_id is not UNSET:
            profile.tts_voice_id = _clean_optional(
                changes.tts_voice_id, "ttsVoiceId", MAX_VOICE_ID_CHARS
            )
        if changes.postiz_api_url is not UNSET:
            profile.postiz_api_url = _clean_url(changes.postiz_api_url)
        if changes.postiz_api_key is not UNSET:
            profile.postiz_api_key_encrypted = self._encrypted(
                changes.postiz_api_key, "postizApiKey"
            )
        if changes.elevenlabs_api_key is not UNSET:
            profile.elevenlabs_api_key_encrypted = self._encrypted(
                changes.elevenlabs_api_key, "elevenlabsApiKey"
            )
        if changes.gemini_api_key is not UNSET:
            profile.gemini_api_key_encrypted = self._encrypted(
                changes.gemini_api_key, "geminiApiKey"
            )

    def _encrypted(self, value: str | None, field: str) -> bytes | None:
        """An API key as stored: encrypted; empty or null clears it.

        Keys travel in HTTP headers, which carry only ASCII: a key with anything but
        visible ASCII (a typo'd "é", a pasted space) is refused here, not by the first call
        that would have to send it.
        """
        key = _clean_optional(value, field, MAX_API_KEY_CHARS)
        if key is not None and not all("!" <= char <= "~" for char in key):
            raise BadUserInput(
                f"{field} may hold only visible ASCII characters (no spaces)", field=field
            )
        return encrypt_secret(self.secret_key, key) if key is not None else None

    async def _flush_checking_name(self) -> None:
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as exc:
            # A concurrent request took the name between our check and the insert.
            raise Conflict("A profile with this name already exists", field="name") from exc
