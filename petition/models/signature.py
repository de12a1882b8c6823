"""The signature aggregate: a signature, the tokens mailed to its signer, the consent shown."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petition.models.base import Base, BigId, UTCDateTime, utcnow
from petition.models.campaign import Petition, enum_column


class SignatureState(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    INVALIDATED = "invalidated"
    WITHDRAWN = "withdrawn"


class ConsentWording(Base):
    """The exact words a signer saw beside the updates checkbox, kept for as long as any answer."""

    __tablename__ = "consent_wordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Signature(Base):
    __tablename__ = "signatures"
    __table_args__ = (
        # One signature per person per petition, whatever spelling of their address they type.
        UniqueConstraint("petition_id", "canonical_email"),
        Index("ix_signatures_petition_id_state_created_at", "petition_id", "state", "created_at"),
        Index("ix_signatures_state_created_at", "state", "created_at"),
        # Only rows still holding an IP address: small, and what the retention job scans.
        Index(
            "ix_signatures_created_at_with_ip",
            "created_at",
            postgresql_where=text("ip_address IS NOT NULL"),
            sqlite_where=text("ip_address IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Indexed by the composite index and the unique constraint, both led by petition_id.
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"))
    state: Mapped[SignatureState] = mapped_column(
        enum_column(SignatureState, "state"), default=SignatureState.PENDING
    )
    # Personal data: nullable so that an erasure request can remove it and keep the count.
    name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    canonical_email: Mapped[str | None] = mapped_column(String(254), index=True)
    postcode: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2))
    consent_updates: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_wording_id: Mapped[int | None] = mapped_column(
        ForeignKey("consent_wordings.id"), index=True
    )
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the signer stopped campaign updates (consent_updates is then false).
    consent_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(120), default="petition")
    referrer_host: Mapped[str | None] = mapped_column(String(255))
    utm_source: Mapped[str | None] = mapped_column(String(100))
    utm_medium: Mapped[str | None] = mapped_column(String(100))
    utm_campaign: Mapped[str | None] = mapped_column(String(100))
    ip_address: Mapped[str | None] = mapped_column(String(45), index=True)
    duplicate_notices: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invalidated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invalidation_reason: Mapped[str | None] = mapped_column(String(200))
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    petition: Mapped[Petition] = relationship()
    consent_wording: Mapped[ConsentWording | None] = relationship()


class TokenPurpose(enum.StrEnum):
    CONFIRM = "confirm"
    WITHDRAW = "withdraw"


class SignatureToken(Base):
    """A link mailed to a signer. Only a hash is kept: the database alone cannot act for them."""

    __tablename__ = "signature_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    signature_id: Mapped[int] = mapped_column(
        ForeignKey("signatures.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[TokenPurpose] = mapped_column(enum_column(TokenPurpose, "purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    signature: Mapped[Signature] = relationship()
