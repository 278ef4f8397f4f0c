from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified caller: who the token says, after its signature and claims checked out."""

    user_id: uuid.UUID
    email: str | None = None


@dataclass(frozen=True, slots=True)
class ProfileContext:
    """The profile a request works in, already checked to belong to the principal."""

    profile_id: uuid.UUID
    user_id: uuid.UUID
