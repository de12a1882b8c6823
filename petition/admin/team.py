"""The team: who can sign in to the admin, and taking that away when someone leaves."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from petition.admin import bp
from petition.admin.access import actor, admin_only
from petition.admin.forms import ActionForm
from petition.services import accounts
from petition.services.errors import InvalidInput, NotFound


@bp.get("/team")
@admin_only
def team() -> str:
    return render_template(
        "admin/team.html",
        people=accounts.team(),
        trouble=accounts.sign_in_trouble(),
        action=ActionForm(),
    )


@bp.post("/team/<int:user_id>/remove")
@admin_only
def team_remove(user_id: int) -> Response:
    return _set_access(user_id, False)


@bp.post("/team/<int:user_id>/restore")
@admin_only
def team_restore(user_id: int) -> Response:
    return _set_access(user_id, True)


def _set_access(user_id: int, active: bool) -> Response:
    if ActionForm().validate_on_submit():
        try:
            user = accounts.set_access(user_id, active, actor())
        except NotFound:
            abort(404)
        except InvalidInput as exc:
            flash(" ".join(exc.errors.values()), "error")
        else:
            done = "can sign in again" if active else "can no longer sign in; their sessions ended"
            flash(f"{user.email} {done}.")
    return redirect(url_for("admin.team"), 303)
