"""The signature aggregate: a signature and the tokens mailed to its signer."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    cast,
    column,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petition.i18n import N_
from petition.models.base import Base, BigId, UTCDateTime, partial_index, utcnow
from petition.models.campaign import Petition, enum_column

if TYPE_CHECKING:
    from petition.models.consent import ConsentWording
    from petition.models.partner import Partner, PartnerWording


class SignatureState(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    INVALIDATED = "invalidated"
    WITHDRAWN = "withdrawn"


# What a moderator may say about an invalidation in public: the integrity report's categories.
INVALIDATION_CATEGORIES = {
    "duplicate": N_("Duplicate pattern"),
    "disposable": N_("Disposable email domain"),
    "rate": N_("Rate abuse"),
    "other": N_("Other"),
}


class Signature(Base):
    __tablename__ = "signatures"
    __table_args__ = (
        # One signature per person per petition, whatever spelling of their address they type,
        # and even after their personal data is erased (the keyed hash stays).
        UniqueConstraint("petition_id", "email_hash"),
        Index("ix_signatures_petition_id_state_created_at", "petition_id", "state", "created_at"),
        Index("ix_signatures_state_created_at", "state", "created_at"),
        # Only rows still holding an IP address: small, and what the retention job scans.
        partial_index(
            "ix_signatures_created_at_with_ip",
            "created_at",
            where="ip_address IS NOT NULL",
        ),
        # What staff search by, with 10 million signatures as with ten (on PostgreSQL; SQLite
        # makes plain indexes of them): any part of a name (trigrams), an IP range (inet),
        # a postcode's start, an email domain.
        partial_index(
            "ix_signatures_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
            where="name IS NOT NULL",
        ),
        Index(
            "ix_signatures_ip_inet",
            cast(column("ip_address"), INET).label("ip_inet"),
            postgresql_using="gist",
            postgresql_ops={"ip_inet": "inet_ops"},
            postgresql_where=text("ip_address IS NOT NULL"),
            info={"only_on": "postgresql"},
        ).ddl_if(dialect="postgresql"),
        partial_index(
            "ix_signatures_postcode_prefix",
            "postcode",
            postgresql_ops={"postcode": "varchar_pattern_ops"},
            where="postcode IS NOT NULL",
        ),
        partial_index(
            "ix_signatures_email_domain",
            "email_domain",
            where="email_domain IS NOT NULL",
        ),
        # A receipt is looked up by its hash (/verify); only confirmed signatures have one.
        partial_index(
            "ix_signatures_receipt_hash",
            "receipt_hash",
            unique=True,
            where="receipt_hash IS NOT NULL",
        ),
        # Pending signatures not yet reminded: what the reminder job looks through.
        partial_index(
            "ix_signatures_created_at_unreminded",
            "created_at",
            where="state = 'pending' AND reminded_at IS NULL",
        ),
        # The latest confirmed signers who asked to be shown on the petition page.
        partial_index(
            "ix_signatures_shown_confirmed_at",
            "petition_id",
            "confirmed_at",
            where="show_publicly AND state = 'confirmed'",
        ),
        # A partner's signers who said yes to its own question, in the order they signed:
        # what its API key lists (only signatures that came through a partner are in it).
        partial_index(
            "ix_signatures_partner_opted_in",
            "partner_id",
            "petition_id",
            "id",
            where="partner_consented_at IS NOT NULL",
        ),
        # Withdrawn signatures whose details retention has yet to remove: a handful at most.
        partial_index(
            "ix_signatures_withdrawn_at_unerased",
            "withdrawn_at",
            where="withdrawn_at IS NOT NULL AND erased_at IS NULL",
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
    canonical_email: Mapped[str | None] = mapped_column(String(254))
    # The part after @, for staff looking for a wave of signatures from one domain.
    email_domain: Mapped[str | None] = mapped_column(String(253))
    # A keyed hash of the canonical address (security/email_hash.py): it recognises the person
    # without their address, so it outlives erasure.
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    postcode: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2))
    # What was chosen about campaign updates on this signature's form (and confirmed by the
    # owner of the address). Whether they get updates now is the person's (UpdateConsent).
    consent_updates: Mapped[bool] = mapped_column(Boolean, default=False)
    # Not indexed: a handful of wordings, never deleted, and nothing looks signatures up by
    # one; an index would cost every one of millions of inserts.
    consent_wording_id: Mapped[int | None] = mapped_column(ForeignKey("consent_wordings.id"))
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Whether the signer asked for their first name and country to be shown among the recent
    # signers on the petition page (as chosen on the form, and confirmed by the owner).
    show_publicly: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The partner the signature came through (its widget, its link, or its API key), and
    # whether the signer said yes to the partner's own question (its words, and when). A
    # partner sees only its own signers who said yes; ours is a separate question.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    partner_wording_id: Mapped[int | None] = mapped_column(ForeignKey("partner_wordings.id"))
    partner_consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language the signer signed in (petition/i18n.py): every later email speaks it.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    source: Mapped[str] = mapped_column(String(120), default="petition")
    referrer_host: Mapped[str | None] = mapped_column(String(255))
    utm_source: Mapped[str | None] = mapped_column(String(100))
    utm_medium: Mapped[str | None] = mapped_column(String(100))
    utm_campaign: Mapped[str | None] = mapped_column(String(100))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    duplicate_notices: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the signer withdraws, in any state: a signature withdrawn while invalidated stays
    # withdrawn when it is restored.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invalidated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invalidation_reason: Mapped[str | None] = mapped_column(String(200))
    # What kind of problem the moderator saw (INVALIDATION_CATEGORIES): published, unlike the
    # reason, in the integrity report.
    invalidation_category: Mapped[str | None] = mapped_column(String(16))
    # The SHA-256 of the signer's receipt code, set when they confirm (security/receipts.py).
    receipt_hash: Mapped[str | None] = mapped_column(String(64))
    # When the one reminder to confirm was sent.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    petition: Mapped[Petition] = relationship()
    consent_wording: Mapped[ConsentWording | None] = relationship()
    partner: Mapped[Partner | None] = relationship()
    partner_wording: Mapped[PartnerWording | None] = relationship()


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
    # Details the owner of the address typed when signing again (name, country, postcode,
    # updates): confirming with this link records them, not whoever signed first.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    signature: Mapped[Signature] = relationship()
