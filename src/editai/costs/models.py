from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from editai.db.base import Base, IdMixin, ProfileScoped, utcnow


class ApiCost(IdMixin, ProfileScoped, Base):
    """One paid call. Survives its profile (profile_id becomes NULL: "Legacy")."""

    __tablename__ = "api_costs"
    __profile_ondelete__ = "SET NULL"
    __table_args__ = (Index("ix_api_costs_profile_created", "profile_id", "created_at"),)

    job_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    provider: Mapped[str] = mapped_column(String(50))
    operation: Mapped[str] = mapped_column(String(100))
    units: Mapped[str] = mapped_column(String(50))
    quantity: Mapped[float]
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(14, 6))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
