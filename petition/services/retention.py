"""Retention: personal data is kept no longer than it is needed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from petition.extensions import db
from petition.models import AuditLog, OutboxMessage, Signature, SignatureState, utcnow
from petition.services import audit, counting
from petition.services.audit import SYSTEM, Actor

BATCH = 1000


@dataclass
class PurgeReport:
    unconfirmed_deleted: int = 0
    ips_cleared: int = 0
    mail_deleted: int = 0

    def __str__(self) -> str:
        return (
            f"deleted {self.unconfirmed_deleted} unconfirmed signature(s), cleared "
            f"{self.ips_cleared} IP address(es), deleted {self.mail_deleted} sent email record(s)"
        )


def purge(now: datetime | None = None, actor: Actor = SYSTEM) -> PurgeReport:
    """Delete old unconfirmed signatures, clear old IP addresses, drop old mail records.

    Safe to run at any time and as often as you like; each run is audited.
    """
    now = now or utcnow()
    config = current_app.config
    report = PurgeReport()
    report.unconfirmed_deleted = _delete_unconfirmed(
        now - timedelta(days=config["UNCONFIRMED_RETENTION_DAYS"])
    )
    ip_cutoff = now - timedelta(days=config["IP_RETENTION_DAYS"])
    report.ips_cleared = db.session.execute(
        update(Signature)
        .where(Signature.created_at < ip_cutoff, Signature.ip_address.is_not(None))
        .values(ip_address=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    mail_cutoff = now - timedelta(days=config["SENT_MAIL_RETENTION_DAYS"])
    report.mail_deleted = db.session.execute(
        delete(OutboxMessage).where(
            (OutboxMessage.sent_at < mail_cutoff) | (OutboxMessage.failed_at < mail_cutoff)
        )
    ).rowcount
    audit.record(
        actor,
        "purge",
        details={
            "unconfirmed_deleted": report.unconfirmed_deleted,
            "ips_cleared": report.ips_cleared,
            "mail_deleted": report.mail_deleted,
        },
        row_count=report.unconfirmed_deleted + report.ips_cleared,
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


def _delete_unconfirmed(cutoff: datetime) -> int:
    deleted = 0
    while True:
        rows = db.session.execute(
            select(Signature.id, Signature.petition_id, Signature.country)
            .where(Signature.state == SignatureState.PENDING, Signature.created_at < cutoff)
            .order_by(Signature.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return deleted
        ids = [row.id for row in rows]
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.signature_id.in_(ids))
            .values(signature_id=None, to_address="", context=None)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(delete(Signature).where(Signature.id.in_(ids)))
        changes = Counter(
            (row.petition_id, row.country, SignatureState.PENDING, None) for row in rows
        )
        counting.record_changes(dict(changes))
        deleted += len(ids)
