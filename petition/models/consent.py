"""Consent to campaign updates: the words shown, and each person's answer over time.

Consent belongs to a person (the canonical address, known by its keyed hash), not to one
signature: one "stop" stops every campaign email to them, whichever petition it is about.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from petition.models.base import Base, BigId, UTCDateTime, utcnow


class ConsentWording(Base):
    """The exact words a signer saw beside the updates checkbox, kept for as long as any answer."""

    __tablename__ = "consent_wordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UpdateConsent(Base):
    """Whether a person gets campaign updates now: their latest answer."""

    __tablename__ = "update_consents"

    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    wants_updates: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # How they said so: see ConsentEvent.route.
    route: Mapped[str] = mapped_column(String(32))


class ConsentEvent(Base):
    """One answer, given or taken back, appended and never edited (the history a reader sees)."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), index=True)
    given: Mapped[bool] = mapped_column(Boolean)
    # "signature confirmed", "stop link", "one-click unsubscribe", "withdrawal", "privacy page"
    route: Mapped[str] = mapped_column(String(32))
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signatures.id", ondelete="SET NULL"), index=True
    )
    wording_id: Mapped[int | None] = mapped_column(ForeignKey("consent_wordings.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
