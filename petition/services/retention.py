"""Retention: personal data is kept no longer than it is needed.

Each step works in batches of BATCH rows, one transaction each, taking only rows no other
purge holds: a purge after a viral month never holds millions of row locks, and two purges
at once never trip over each other. Counts never move: anonymised signatures keep their state,
country and dates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, delete, func, or_, select, update

from petition.extensions import db
from petition.models import (
    AuditLog,
    OutboxMessage,
    Petition,
    PetitionState,
    Signature,
    SignatureState,
    utcnow,
)
from petition.services import audit, counting
from petition.services.audit import SYSTEM, Actor
from petition.services.privacy import anonymise

BATCH = 1000


@dataclass
class PurgeReport:
    unconfirmed_deleted: int = 0
    withdrawn_anonymised: int = 0
    closed_anonymised: int = 0
    ips_cleared: int = 0
    mail_deleted: int = 0

    def __str__(self) -> str:
        return (
            f"deleted {self.unconfirmed_deleted} unconfirmed signature(s), anonymised "
            f"{self.withdrawn_anonymised} withdrawn and {self.closed_anonymised} of closed "
            f"petitions, cleared {self.ips_cleared} IP address(es), deleted "
            f"{self.mail_deleted} sent email record(s)"
        )


def purge(now: datetime | None = None, actor: Actor = SYSTEM) -> PurgeReport:
    """Apply every retention rule. Safe to run at any time, as often as you like; audited."""
    now = now or utcnow()
    config = current_app.config
    days = lambda name: now - timedelta(days=config[name])  # noqa: E731
    report = PurgeReport()
    report.unconfirmed_deleted = _in_batches(
        select(Signature.id, Signature.petition_id, Signature.country).where(
            Signature.state == SignatureState.PENDING,
            Signature.created_at < days("UNCONFIRMED_RETENTION_DAYS"),
        ),
        _delete_unconfirmed,
        order=Signature.created_at,
    )
    report.withdrawn_anonymised = _in_batches(
        select(Signature.id).where(
            Signature.withdrawn_at < days("WITHDRAWN_RETENTION_DAYS"),
            Signature.erased_at.is_(None),
        ),
        lambda rows: anonymise([row.id for row in rows]),
        order=Signature.withdrawn_at,
    )
    for petition_id in _closed_before(days("CLOSED_RETENTION_DAYS")):
        report.closed_anonymised += _in_batches(
            select(Signature.id).where(
                Signature.petition_id == petition_id, Signature.erased_at.is_(None)
            ),
            lambda rows: anonymise([row.id for row in rows]),
        )
        # Done for good: later purges need not read this petition's signatures again.
        db.session.execute(
            update(Petition)
            .where(Petition.id == petition_id)
            .values(personal_data_removed_at=utcnow())
        )
        db.session.commit()
    report.ips_cleared = _in_batches(
        select(Signature.id).where(
            Signature.created_at < days("IP_RETENTION_DAYS"), Signature.ip_address.is_not(None)
        ),
        _clear_ips,
        order=Signature.created_at,
    )
    mail_cutoff = days("SENT_MAIL_RETENTION_DAYS")
    report.mail_deleted = _in_batches(
        select(OutboxMessage.id).where(
            or_(OutboxMessage.sent_at < mail_cutoff, OutboxMessage.failed_at < mail_cutoff)
        ),
        lambda rows: db.session.execute(
            delete(OutboxMessage).where(OutboxMessage.id.in_([row.id for row in rows]))
        ),
    )
    audit.record(
        actor,
        "purge",
        details={
            "unconfirmed_deleted": report.unconfirmed_deleted,
            "withdrawn_anonymised": report.withdrawn_anonymised,
            "closed_anonymised": report.closed_anonymised,
            "ips_cleared": report.ips_cleared,
            "mail_deleted": report.mail_deleted,
        },
        row_count=report.unconfirmed_deleted
        + report.withdrawn_anonymised
        + report.closed_anonymised
        + report.ips_cleared,
    )
    db.session.commit()
    return report


PURGE_EVERY = timedelta(days=1)


def purge_if_due(now: datetime | None = None) -> PurgeReport | None:
    """Purge if no purge has run in the last day, whichever process ran it; else None."""
    now = now or utcnow()
    last = db.session.scalar(select(func.max(AuditLog.at)).where(AuditLog.action == "purge"))
    db.session.rollback()
    if last is not None and now - last < PURGE_EVERY:
        return None
    return purge(now)


def _in_batches(query: Select[Any], work: Callable[[list[Any]], Any], order: Any = None) -> int:
    """Run `work` on the rows `query` finds, BATCH at a time, committing after each batch.

    Batches are taken in `order` (by default the first column): for a rule with an index of
    its own, that index's column, so that finding nothing to do reads next to nothing
    (ordered by id, PostgreSQL may walk the whole primary key looking for rows that are not
    there).
    """
    done = 0
    order = query.selected_columns[0] if order is None else order
    while True:
        rows = db.session.execute(
            query.order_by(order).limit(BATCH).with_for_update(skip_locked=True)
        ).all()
        if not rows:
            db.session.rollback()
            return done
        work(rows)
        db.session.commit()
        done += len(rows)
        if len(rows) < BATCH:
            return done


def _closed_before(cutoff: datetime) -> list[int]:
    """Petitions whose signing ended before `cutoff` (closed, or past their closing date)."""
    candidates = db.session.scalars(
        select(Petition).where(
            or_(Petition.state == PetitionState.CLOSED, Petition.closes_at < cutoff),
            Petition.personal_data_removed_at.is_(None),
        )
    ).all()
    return [p.id for p in candidates if (ended := p.ended_at()) is not None and ended < cutoff]


def _delete_unconfirmed(rows: list[Any]) -> None:
    delete_unconfirmed(rows, counting.EXPIRED)


def delete_unconfirmed(rows: list[Any], tally: str) -> None:
    """Delete unconfirmed signatures (rows with id, petition_id and country) and the personal
    data of their mail, counting them in `tally`; in the caller's transaction."""
    ids = [row.id for row in rows]
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.signature_id.in_(ids))
        .values(signature_id=None, to_address=None, context=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(delete(Signature).where(Signature.id.in_(ids)))
    changes = Counter((row.petition_id, row.country, SignatureState.PENDING, None) for row in rows)
    counting.record_changes(dict(changes))
    deleted = Counter(row.petition_id for row in rows)
    counting.record_events(
        [counting.event_row(pid, tally, n) for pid, n in sorted(deleted.items())]
    )


def _clear_ips(rows: list[Any]) -> None:
    db.session.execute(
        update(Signature)
        .where(Signature.id.in_([row.id for row in rows]))
        .values(ip_address=None)
        .execution_options(synchronize_session=False)
    )
