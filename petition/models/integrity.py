"""What the public integrity report is made of: tallies of events the counts do not show, the
receipts that went into and out of the count, the digests published over them, and the daily
figures by country behind the open data."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from petition.models.base import Base, BigId, UTCDateTime, partial_index, utcnow


class PetitionTally(Base):
    """A running total of one kind of event on a petition, folded in from the count journal:
    duplicates turned away, reminders sent and confirmed, invalidations by category."""

    __tablename__ = "petition_tallies"

    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class PetitionCountryDay(Base):
    """The change in a petition's confirmed signatures from one country on one day (UTC)."""

    __tablename__ = "petition_country_days"

    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    confirmed: Mapped[int] = mapped_column(Integer, default=0)


class CountDigest(Base):
    """One published link of a petition's hash chain: the receipts that entered (+) and left (-)
    the count since the previous digest, hashed with the previous digest's hash. Never edited."""

    __tablename__ = "count_digests"
    __table_args__ = (UniqueConstraint("petition_id", "number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, 3… per petition
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added: Mapped[int] = mapped_column(Integer)
    removed: Mapped[int] = mapped_column(Integer)
    counted: Mapped[int] = mapped_column(Integer)  # receipts in the count after this digest
    previous: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))


class ReceiptEntry(Base):
    """A receipt entering (+1) or leaving (-1) a petition's count, appended in the order it
    happened; a digest takes every entry not yet published."""

    __tablename__ = "receipt_entries"
    __table_args__ = (
        Index("ix_receipt_entries_receipt_hash", "receipt_hash"),
        Index("ix_receipt_entries_digest_id", "digest_id"),
        partial_index(
            "ix_receipt_entries_unpublished", "petition_id", "id", where="digest_id IS NULL"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"))
    receipt_hash: Mapped[str] = mapped_column(String(64))
    delta: Mapped[int] = mapped_column(Integer)
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("count_digests.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
