"""Mail waiting to be sent, committed with the change that caused it so none is ever lost."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from petition.models.base import Base, BigId, UTCDateTime, partial_index, utcnow
from petition.models.campaign import enum_column


class Lane(enum.IntEnum):
    """Mail queues by urgency: a reader waiting for a link never waits behind a newsletter."""

    TRANSACTIONAL = 0  # confirmations, privacy links: someone is waiting for them
    BULK = 1  # campaign mailings, sent at a relay-friendly rate
    # Receipts: sent as soon as no transactional mail waits, never held to the mailings' rate
    # (one follows every confirmation: on a viral day they come as fast as confirmations do).
    FOLLOW_UP = 2

    @property
    def label(self) -> str:
        return {0: "Transactional", 1: "Bulk", 2: "Follow-up (receipts)"}[self.value]


# The order a worker takes the lanes in (and staff see them).
LANES_IN_ORDER = (Lane.TRANSACTIONAL, Lane.FOLLOW_UP, Lane.BULK)


# Still to be sent (or retried): the only rows a claim ever looks at.
STILL_DUE = "sent_at IS NULL AND failed_at IS NULL"


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        # A claim walks this index in due order and stops at its batch size: sent and failed
        # rows are not in it, and neither are rows leased to a worker (their time lies ahead).
        partial_index(
            "ix_outbox_queue",
            "lane",
            "next_attempt_at",
            where=STILL_DUE,
        ),
        # Records retention deletes after a week: found without reading the queue.
        partial_index(
            "ix_outbox_sent_at",
            "sent_at",
            where="sent_at IS NOT NULL",
        ),
        partial_index(
            "ix_outbox_failed_at",
            "failed_at",
            where="failed_at IS NOT NULL",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lane: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    kind: Mapped[str] = mapped_column(String(32))
    # Mailings leave these empty: the signer's address and the subject come from the signature
    # and the mailing when the message is sent (a 100,000-strong mailing stores its text once).
    to_address: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(200))
    # What the template `emails/<kind>` is rendered with when the message is sent (off the
    # request's path). It holds one-time links, so it is dropped once the message has gone.
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signatures.id", ondelete="SET NULL"), index=True
    )
    mailing_id: Mapped[int | None] = mapped_column(ForeignKey("mailings.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # When the message is next due. A worker that takes it moves this to the end of its lease,
    # so a message in flight is not due, and is due again if its worker disappears.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The worker batch holding the message (a random token), while it holds it.
    claim: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))


class MailingState(enum.StrEnum):
    QUEUEING = "queueing"  # recipients are being added, a chunk at a time
    QUEUED = "queued"  # every recipient is in the outbox
    STOPPED = "stopped"  # staff stopped it: whatever was still queued is not sent


class Mailing(Base):
    """One campaign email to many signers: its text is stored once, its recipients by reference."""

    __tablename__ = "mailings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A news item is emailed at most once. Removing the news stops its mailing.
    news_id: Mapped[int | None] = mapped_column(
        ForeignKey("petition_news.id", ondelete="SET NULL"), unique=True
    )
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    state: Mapped[MailingState] = mapped_column(
        enum_column(MailingState, "state"), default=MailingState.QUEUEING, index=True
    )
    # Recipients are added in signature id order; the last one added so far.
    cursor: Mapped[int] = mapped_column(BigId, default=0)
    queued_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254))
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_by: Mapped[str | None] = mapped_column(String(254))


class Suppression(Base):
    """An address that refused mail for good (a 5xx): no more campaign mail goes to it.

    Kept as a keyed hash of the canonical address, with a masked form for staff to recognise.
    """

    __tablename__ = "mail_suppressions"

    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    masked_address: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(500))
    lane: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
