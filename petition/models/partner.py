"""Partners: the charities and community groups that run the campaign with us, their API keys,
the question they ask signers beside ours, and where we tell them what happened (webhooks).

A partner sees only the signers who signed through it and said yes to its own question.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petition.models.base import Base, BigId, UTCDateTime, partial_index, utcnow

ENGLISH = "en"  # the language staff write a partner's question in first


class Partner(Base):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    website: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # Whether signers are asked the partner's own question (its latest English wording) beside
    # ours; in another language, the wording named here ({"uk": wording id}), else the English.
    asks_opt_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    question_translations: Mapped[dict[str, int]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    keys: Mapped[list[PartnerKey]] = relationship(
        back_populates="partner", order_by="PartnerKey.id"
    )
    wordings: Mapped[list[PartnerWording]] = relationship(order_by="PartnerWording.id")
    endpoints: Mapped[list[WebhookEndpoint]] = relationship(order_by="WebhookEndpoint.id")

    @property
    def question(self) -> PartnerWording | None:
        """The words signers are asked now, in English, or None if the partner asks nothing."""
        english = [w for w in self.wordings if w.language == ENGLISH]
        return english[-1] if self.asks_opt_in and english else None

    def question_in(self, language: str) -> PartnerWording | None:
        """The words signers reading `language` are asked now: that language's wording where
        staff wrote one, else the English (None if the partner asks nothing)."""
        english = self.question
        wanted = (self.question_translations or {}).get(language)
        if english is None or wanted is None:
            return english
        return next((w for w in self.wordings if w.id == wanted), english)


class PartnerWording(Base):
    """The exact words of a partner's opt-in question: a new row when they change, each kept
    for as long as any answer to it."""

    __tablename__ = "partner_wordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    language: Mapped[str] = mapped_column(String(8), default=ENGLISH, server_default=ENGLISH)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartnerKey(Base):
    """An API key: shown once, stored as its SHA-256; read, or read and write; revocable."""

    __tablename__ = "partner_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The key's first characters, so staff and the partner can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)
    # Signatures it records count as confirmed, with no email from us: the partner confirmed
    # them itself. Given only by staff on purpose (audited).
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    partner: Mapped[Partner] = relationship(back_populates="keys")


class WebhookEndpoint(Base):
    """Where a partner hears about its signers: signed with the endpoint's own secret."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    # Failed deliveries in a row; at the limit the endpoint is turned off and staff are told.
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One event for one endpoint, committed with the change it tells of, so none is lost; sent
    by the worker, retried with growing pauses until the endpoint answers 2xx."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        partial_index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            where="delivered_at IS NULL AND failed_at IS NULL",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    # The event's own id, the same on every attempt: receivers drop what they have seen.
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it is next due; a worker holding it moves this to the end of its lease.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(500), default="")

    endpoint: Mapped[WebhookEndpoint] = relationship()
