"""The audit log, newest first. There is no way to change or delete an entry from the app."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import func, select

from petition.admin import bp
from petition.admin.access import admin_only
from petition.extensions import db
from petition.models import AuditLog

PAGE_SIZE = 50


@bp.get("/audit")
@admin_only
def audit_log() -> str:
    action = request.args.get("action") or None
    query = select(AuditLog)
    if action:
        query = query.where(AuditLog.action == action)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    entries = db.session.scalars(
        query.order_by(AuditLog.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    actions = db.session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)).all()
    return render_template(
        "admin/audit.html",
        entries=entries,
        page=page,
        pages=pages,
        action=action,
        actions=actions,
        total=total,
    )
