"""How the outbox is doing, per lane: for staff (the mail page) and for monitoring."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from petition.extensions import db
from petition.mail import suppression
from petition.models import Lane, Mailing, OutboxMessage, Suppression, utcnow
from petition.models.outbox import LANES_IN_ORDER
from petition.services import audit
from petition.services.addresses import canonical_email, masked_email
from petition.services.audit import Actor

OUTBOX = OutboxMessage.__table__


@dataclass(frozen=True)
class LaneStatus:
    lane: Lane
    due: int  # waiting to be sent now
    retrying: int  # refused for a while: waiting for their next attempt
    in_flight: int  # held by a worker
    oldest_due: datetime | None  # when the longest-waiting due message was queued
    sent_last_day: int
    failed_last_week: int
    # Why one of those retrying was refused (a relay refusing everyone shows here first).
    retry_reason: str | None = None

    @property
    def label(self) -> str:
        return self.lane.label


def lanes(now: datetime | None = None) -> list[LaneStatus]:
    now = now or utcnow()
    waiting = (OUTBOX.c.sent_at.is_(None), OUTBOX.c.failed_at.is_(None))
    rows = {
        lane: (due, retrying, in_flight, oldest)
        for lane, due, retrying, in_flight, oldest in db.session.execute(
            select(
                OUTBOX.c.lane,
                func.count().filter(OUTBOX.c.next_attempt_at <= now),
                func.count().filter(OUTBOX.c.next_attempt_at > now, OUTBOX.c.claim.is_(None)),
                func.count().filter(OUTBOX.c.claim.is_not(None)),
                func.min(OUTBOX.c.created_at).filter(OUTBOX.c.next_attempt_at <= now),
            )
            .where(*waiting)
            .group_by(OUTBOX.c.lane)
        )
    }
    sent = dict(
        db.session.execute(
            select(OUTBOX.c.lane, func.count())
            .where(OUTBOX.c.sent_at >= now - timedelta(days=1))
            .group_by(OUTBOX.c.lane)
        ).all()
    )
    failed = dict(
        db.session.execute(
            select(OUTBOX.c.lane, func.count())
            .where(OUTBOX.c.failed_at >= now - timedelta(days=7))
            .group_by(OUTBOX.c.lane)
        ).all()
    )
    result = []
    for lane in LANES_IN_ORDER:
        due, retrying, in_flight, oldest = rows.get(lane, (0, 0, 0, None))
        reason = _retry_reason(lane, now) if retrying else None
        result.append(
            LaneStatus(
                lane,
                due,
                retrying,
                in_flight,
                oldest,
                sent.get(lane, 0),
                failed.get(lane, 0),
                reason,
            )
        )
    return result


def _retry_reason(lane: Lane, now: datetime) -> str | None:
    """The refusal of the retrying message due last (the queue's index, read backwards)."""
    return db.session.scalar(
        select(OUTBOX.c.last_error)
        .where(
            OUTBOX.c.lane == lane,
            OUTBOX.c.sent_at.is_(None),
            OUTBOX.c.failed_at.is_(None),
            OUTBOX.c.next_attempt_at > now,
            OUTBOX.c.claim.is_(None),
        )
        .order_by(OUTBOX.c.next_attempt_at.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class FailedMessage:
    failed_at: datetime
    lane: Lane
    kind: str
    to_address: str | None
    reason: str | None
    attempts: int


def failed(limit: int = 50) -> list[FailedMessage]:
    """The latest messages that will not be sent, and why."""
    rows = db.session.execute(
        select(
            OUTBOX.c.failed_at,
            OUTBOX.c.lane,
            OUTBOX.c.kind,
            OUTBOX.c.to_address,
            OUTBOX.c.last_error,
            OUTBOX.c.attempts,
        )
        .where(OUTBOX.c.failed_at.is_not(None))
        .order_by(OUTBOX.c.failed_at.desc())
        .limit(limit)
    ).all()
    return [FailedMessage(r[0], Lane(r[1]), *r[2:]) for r in rows]


def suppressions(limit: int = 100) -> tuple[int, list[Suppression]]:
    """How many addresses are suppressed, and the latest of them."""
    total = db.session.scalar(select(func.count()).select_from(Suppression)) or 0
    latest = db.session.scalars(
        select(Suppression).order_by(Suppression.created_at.desc()).limit(limit)
    ).all()
    return total, list(latest)


def lift_suppression(address: str, actor: Actor) -> int:
    """Let an address take campaign mail again (staff checked it works); audited."""
    lifted = suppression.lift(address)
    audit.record(
        actor, "suppression_lifted", masked_email(canonical_email(address)), row_count=lifted
    )
    db.session.commit()
    return lifted


def mailings(limit: int = 20) -> list[Mailing]:
    return list(db.session.scalars(select(Mailing).order_by(Mailing.id.desc()).limit(limit)))
