"""Counting without a hot row: every state change appends to a journal folded in by batches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, false
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
    # The entry that records a signature being made (not moving): counted in the hourly figures.
    new_signature: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # On a "receipt" entry: the receipt entering (+1) or leaving (-1) the count.
    receipt_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PetitionHour(Base):
    """What happened to a petition in one hour: signatures made, and the change in confirmed
    ones (confirmations less withdrawals and invalidations). Folded in from the journal, so the
    charts and the open data never scan the signatures."""

    __tablename__ = "petition_hours"

    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    signed: Mapped[int] = mapped_column(Integer, default=0)
    confirmed: Mapped[int] = mapped_column(Integer, default=0)


class PetitionCountryCount(Base):
    """Confirmed signatures of a petition from one country."""

    __tablename__ = "petition_country_counts"

    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    confirmed_count: Mapped[int] = mapped_column(Integer, default=0)
