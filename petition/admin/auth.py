"""Signing in (a password, then a code for those who set up two-step verification) and out."""

from __future__ import annotations

import secrets
import time
from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask_limiter import RequestLimit
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from petition.admin import bp
from petition.admin.access import safe_next
from petition.admin.forms import ActionForm, CodeForm, LoginForm
from petition.extensions import db, limiter
from petition.models import AdminUser
from petition.security.clients import client_key
from petition.services import accounts, two_factor

# Wrong passwords for one account from one address (an IPv6 /64 counts as one address): no
# one can lock staff out from elsewhere. An address trying many accounts is slowed too.
LOGIN_LIMIT = "5 per minute; 30 per hour"
ADDRESS_LIMIT = "20 per minute; 100 per hour"
# Between the password and the code: whose password was right, until when, and where next.
PENDING = "pending_sign_in"
CODE_MINUTES = 5


def _account() -> str:
    return (request.form.get("email") or "").strip().lower()[:254]


def _account_at_address() -> str:
    return f"sign-in:{_account()}:{client_key()}"


def _pending_account_key() -> str:
    return f"account-code:{(session.get(PENDING) or {}).get('user')}"


def attempt_failed(response: Response) -> bool:
    """Only failed attempts use up the allowance."""
    return response.status_code != 303


def _throttled(limit: RequestLimit) -> None:
    """A sign-in refused for too many failures: on the record, and on the Team page."""
    accounts.sign_in_throttled(_account(), request.remote_addr)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(ADDRESS_LIMIT, methods=["POST"], deduct_when=attempt_failed, on_breach=_throttled)
@limiter.limit(
    LOGIN_LIMIT,
    key_func=_account_at_address,
    methods=["POST"],
    deduct_when=attempt_failed,
    on_breach=_throttled,
)
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")), 303)
    form = LoginForm()
    if form.validate_on_submit():
        # Many failures for this account from anywhere: every attempt waits a little (the right
        # password from a new address still gets in; guessing from many gets slower).
        time.sleep(accounts.sign_in_delay(form.email.data))
        user = accounts.authenticate(form.email.data, form.password.data, request.remote_addr)
        if user is not None and user.has_two_factor:
            session[PENDING] = {
                "user": user.id,
                "token": user.session_token,
                "until": time.time() + CODE_MINUTES * 60,
                "next": safe_next(request.args.get("next")),
            }
            return redirect(url_for("admin.login_code"), 303)
        if user is not None:
            return _sign_in(user, safe_next(request.args.get("next")))
        # The same words whether the account exists or not.
        form.password.errors.append("Email address or password is not right")
    status = 422 if form.errors else 200
    return render_template("admin/login.html", form=form), status


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"], deduct_when=attempt_failed)
@limiter.limit(
    LOGIN_LIMIT, key_func=_pending_account_key, methods=["POST"], deduct_when=attempt_failed
)
def login_code() -> Any:
    user = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash("Sign in again: the time to enter a code ran out.")
        return redirect(url_for("admin.login"), 303)
    form = CodeForm()
    if form.validate_on_submit():
        if two_factor.check_code(user, form.code.data, request.remote_addr):
            return _sign_in(user, session.pop(PENDING)["next"])
        form.code.errors.append(two_factor.WRONG_CODE)
    status = 422 if form.errors else 200
    return render_template("admin/login_code.html", form=form, issuer=two_factor.ISSUER), status


def _pending_user() -> AdminUser | None:
    """The account whose password was just right, if that was recent and still stands."""
    pending = session.get(PENDING)
    if not pending or pending.get("until", 0) < time.time():
        return None
    user = db.session.get(AdminUser, pending.get("user"))
    if user is None or not user.active or not user.has_two_factor:
        return None
    if not secrets.compare_digest(user.session_token, str(pending.get("token"))):
        return None
    return user


def _sign_in(user: AdminUser, next_path: str) -> Response:
    accounts.signed_in(user, request.remote_addr)
    # A new session at sign-in (and with it a new CSRF token): nothing set before, by anyone
    # who could plant a cookie, carries over.
    session.clear()
    login_user(user)
    return redirect(next_path, 303)


@bp.post("/logout")
def logout() -> Response:
    if ActionForm().validate_on_submit():
        accounts.end_sessions(current_user._get_current_object(), request.remote_addr)
        logout_user()
        flash("You have signed out.")
    return redirect(url_for("admin.login"), 303)
