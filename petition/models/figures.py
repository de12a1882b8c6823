"""Figures for staff that take a while to work out at scale, worked out by the worker and kept
with the moment they were worked out (the dashboard says how old they are)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from petition.models.base import Base, UTCDateTime, utcnow


class Figure(Base):
    __tablename__ = "figures"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A worker working it out again holds it until then, so two workers never both do.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
