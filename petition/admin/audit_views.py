"""The audit log, newest first. There is no way to change or delete an entry from the app."""

from __future__ import annotations

from flask import render_template, request

from petition.admin import bp
from petition.admin.access import admin_only
from petition.services import audit


@bp.get("/audit")
@admin_only
def audit_log() -> str:
    action = request.args.get("action") or None
    page = audit.entries(action, request.args.get("page", 1, type=int))
    return render_template("admin/audit.html", page=page, action=action, actions=audit.actions())
