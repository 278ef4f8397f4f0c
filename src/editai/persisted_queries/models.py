from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from editai.db.base import Base, utcnow


class PersistedQuery(Base):
    """A document by the sha256 of its exact text, shared by every server process.

    Not tenant data: a document is the shape of a request, the same for every profile
    (like the parse cache); knowing its hash means knowing its text.
    """

    __tablename__ = "persisted_queries"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
