"""Money: card donations through Stripe, the Stripe events that moved them, fundraiser clicks."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from petition.models.base import Base, BigId, UTCDateTime, utcnow
from petition.models.campaign import enum_column


class DonationStatus(enum.StrEnum):
    PENDING = "pending"
    FAILED = "failed"
    EXPIRED = "expired"
    PAID = "paid"
    REFUNDED = "refunded"


# A donation's status only ever moves to a higher rank, whatever order Stripe's events arrive in.
STATUS_RANK = {
    DonationStatus.PENDING: 0,
    DonationStatus.FAILED: 1,
    DonationStatus.EXPIRED: 1,
    DonationStatus.PAID: 2,
    DonationStatus.REFUNDED: 3,
}


class Donation(Base):
    __tablename__ = "donations"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint(
            "refunded_minor >= 0 AND refunded_minor <= amount_minor", name="refund_in_range"
        ),
        Index("ix_donations_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    amount_minor: Mapped[int] = mapped_column(Integer)  # pence
    currency: Mapped[str] = mapped_column(String(3), default="gbp")
    status: Mapped[DonationStatus] = mapped_column(
        enum_column(DonationStatus, "status"), default=DonationStatus.PENDING
    )
    refunded_minor: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(120), default="donate")
    stripe_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StripeEvent(Base):
    """A Stripe event we have acted on; its id is unique, so a replay changes nothing."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    donation_id: Mapped[int | None] = mapped_column(ForeignKey("donations.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EarlyRefund(Base):
    """A refund Stripe told us about before the payment it refunds: kept, and applied as soon
    as the payment's own event arrives (Stripe does not promise to send events in order)."""

    __tablename__ = "early_refunds"

    payment_intent_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    amount_refunded: Mapped[int] = mapped_column(Integer)
    fully_refunded: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboundClick(Base):
    """A reader sent on to the GoFundMe fundraiser, and from where (no cookie, no identity)."""

    __tablename__ = "outbound_clicks"
    __table_args__ = (Index("ix_outbound_clicks_target_created_at", "target", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    target: Mapped[str] = mapped_column(String(32), default="gofundme")
    source: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
