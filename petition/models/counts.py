"""Counting without a hot row: every state change appends to a journal folded in by batches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from petition.models.base import Base, BigId, UTCDateTime, utcnow


class CountJournalEntry(Base):
    """One change to a petition's counts, written in the same transaction as the change."""

    __tablename__ = "count_journal"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2))
    delta: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PetitionCountryCount(Base):
    """Confirmed signatures of a petition from one country."""

    __tablename__ = "petition_country_counts"

    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    confirmed_count: Mapped[int] = mapped_column(Integer, default=0)
