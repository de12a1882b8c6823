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
    # Staff with the admin role (money destinations and personal data are theirs alone).
    is_admin: bool = False


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


def set_fields(target: Any, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Set attributes on `target`; what changed, as old and new values, for the audit log."""
    changed = {}
    for field, value in values.items():
        before = getattr(target, field)
        if before != value:
            changed[field] = {"from": _shown(before), "to": _shown(value)}
            setattr(target, field, value)
    return changed


def _shown(value: Any) -> Any:
    """A value as the audit log keeps it: long text cut short, dates as text."""
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "…"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def entries(action: str | None, page: int) -> Page:
    """The audit log, newest first, optionally one kind of action."""
    query = select(AuditLog).order_by(AuditLog.id.desc())
    if action:
        query = query.where(AuditLog.action == action)
    return paginate(query, page)


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)))
