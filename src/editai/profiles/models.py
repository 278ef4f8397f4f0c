from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from editai.db.base import Base, IdMixin, TimestampMixin, UserScoped, utcnow


class User(Base):
    """A person, keyed by the JWT ``sub``. Created on first sight of a valid token."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Profile(IdMixin, TimestampMixin, UserScoped, Base):
    """A tenant: a brand or channel of one user."""

    __tablename__ = "profiles"
    # Names are unique per user regardless of case and surrounding spaces.
    __table_args__ = (UniqueConstraint("user_id", "name_key"),)

    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(default=False)
    tts_provider: Mapped[str | None] = mapped_column(String(32))
    tts_voice_id: Mapped[str | None] = mapped_column(String(200))
    postiz_api_url: Mapped[str | None] = mapped_column(String(500))
    # Fernet tokens; the plaintexts never leave the service layer.
    postiz_api_key_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    elevenlabs_api_key_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    gemini_api_key_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)


# Exactly one default profile per user, enforced by the database.
Index(
    "uq_profiles_one_default_per_user",
    Profile.user_id,
    unique=True,
    postgresql_where=text("is_default"),
    sqlite_where=text("is_default"),
)
