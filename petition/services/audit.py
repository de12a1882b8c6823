"""The audit trail: every sign-in, export, invalidation and erasure leaves a row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from petition.database import Page, paginate
from petition.extensions import db
from petition.models import AuditLog, utcnow


@dataclass(frozen=True)
class Actor:
    """Who is acting: an admin (with id), the command line, or the system itself."""

    label: str
    id: int | None = None
    ip_address: str | None = None


SYSTEM = Actor("system")


def record(
    actor: Actor,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    row_count: int | None = None,
) -> AuditLog:
    """Add an audit row to the caller's transaction (the caller commits)."""
    entry = AuditLog(
        at=utcnow(),
        actor_id=actor.id,
        actor=actor.label,
        action=action,
        target=target,
        details=details or {},
        row_count=row_count,
        ip_address=actor.ip_address,
    )
    db.session.add(entry)
    return entry


def entries(action: str | None, page: int) -> Page:
    """The audit log, newest first, optionally one kind of action."""
    query = select(AuditLog).order_by(AuditLog.id.desc())
    if action:
        query = query.where(AuditLog.action == action)
    return paginate(query, page)


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)))
