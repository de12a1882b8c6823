"""Signing in and out."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from petition.admin import bp
from petition.admin.access import safe_next
from petition.admin.forms import ActionForm, LoginForm
from petition.extensions import limiter
from petition.services import accounts

LOGIN_LIMIT = "5 per minute; 30 per hour"


def _account_key() -> str:
    return "account:" + (request.form.get("email") or "").strip().lower()[:254]


def _failed(response: Response) -> bool:
    """Only failed attempts use up the allowance."""
    return response.status_code != 303


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"], deduct_when=_failed)
@limiter.limit(LOGIN_LIMIT, key_func=_account_key, methods=["POST"], deduct_when=_failed)
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")), 303)
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data, request.remote_addr)
        if user is not None:
            login_user(user)
            return redirect(safe_next(request.args.get("next")), 303)
        # The same words whether the account exists or not.
        form.password.errors.append("Email address or password is not right")
    status = 422 if form.errors else 200
    return render_template("admin/login.html", form=form), status


@bp.post("/logout")
def logout() -> Response:
    if ActionForm().validate_on_submit():
        accounts.end_sessions(current_user._get_current_object(), request.remote_addr)
        logout_user()
        flash("You have signed out.")
    return redirect(url_for("admin.login"), 303)
