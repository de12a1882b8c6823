"""Mail: how each lane is doing, what failed and why, and the suppression list."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response as BaseResponse

from petition.admin import bp
from petition.admin.access import actor, admin_only
from petition.admin.forms import SuppressionForm
from petition.services import outbox_status


@bp.get("/mail")
@admin_only
def mail_status() -> Any:
    total, suppressed = outbox_status.suppressions()
    return render_template(
        "admin/mail.html",
        lanes=outbox_status.lanes(),
        failed=outbox_status.failed(),
        suppressed=suppressed,
        suppressed_total=total,
        mailings=outbox_status.mailings(),
        form=SuppressionForm(),
    )


@bp.post("/mail/suppressions/lift")
@admin_only
def mail_lift_suppression() -> BaseResponse:
    form = SuppressionForm()
    if form.validate_on_submit():
        lifted = outbox_status.lift_suppression(form.email.data, actor())
        if lifted:
            flash(f"{form.email.data} takes campaign mail again.")
        else:
            flash(f"{form.email.data} was not on the suppression list.", "error")
    else:
        flash("Enter the email address to take off the list.", "error")
    return redirect(url_for("admin.mail_status", _anchor="suppressed"), 303)
