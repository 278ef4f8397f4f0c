"""What a session is for: its tenant scope, and the error for leaving it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


class TenancyViolation(RuntimeError):
    """A session tried to read or write outside its scope. Always a bug; never masked."""


@dataclass(frozen=True, slots=True)
class TenantScope:
    user_id: uuid.UUID | None = None
    profile_id: uuid.UUID | None = None
    system: bool = False

    def describe(self) -> str:
        if self.system:
            return "system"
        return f"user={self.user_id} profile={self.profile_id}"


def is_subclass_of(mapper_cls: type, base: type) -> bool:
    """A mapped class (not an alias or expression) deriving from ``base``."""
    return isinstance(mapper_cls, type) and issubclass(mapper_cls, base)
