"""Your account: change your password, turn two-step verification on or off."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user

from petition.admin import bp
from petition.admin.auth import LOGIN_LIMIT, attempt_failed
from petition.admin.forms import (
    PasswordChangeForm,
    PasswordCheckForm,
    TwoFactorSetupForm,
    attach_errors,
)
from petition.extensions import limiter
from petition.services import accounts, two_factor
from petition.services.errors import InvalidInput

# The secret being set up, kept in the (signed, HttpOnly) admin session until a code proves it.
SETUP = "two_factor_setup"


def _user_key() -> str:
    # Limits are checked before the sign-in check: a stranger has no id (and is sent away).
    return f"account-settings:{getattr(current_user, 'id', None)}"


@bp.route("/account", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, key_func=_user_key, methods=["POST"], deduct_when=attempt_failed)
def account() -> Any:
    """Change the password (POST); see the account's two-step verification."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.change_password(
                user, form.current_password.data, form.new_password.data, request.remote_addr
            )
        except InvalidInput as exc:
            attach_errors(form, exc)
        else:
            login_user(user)  # this session goes on; every other one ended
            flash("Your password is changed. You were signed out everywhere else.")
            return redirect(url_for("admin.account"), 303)
    status = 422 if form.errors else 200
    return render_template("admin/account.html", form=form, turn_off=PasswordCheckForm()), status


@bp.route("/account/two-step", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, key_func=_user_key, methods=["POST"], deduct_when=attempt_failed)
def two_factor_setup() -> Any:
    user = current_user._get_current_object()
    if user.has_two_factor:
        return redirect(url_for("admin.account"), 303)
    secret = session.get(SETUP) or two_factor.new_secret()
    session[SETUP] = secret
    form = TwoFactorSetupForm()
    if form.validate_on_submit():
        try:
            two_factor.turn_on(
                user, secret, form.code.data, form.password.data, request.remote_addr
            )
        except InvalidInput as exc:
            attach_errors(form, exc)
        else:
            session.pop(SETUP, None)
            login_user(user)
            flash("Two-step verification is on. You were signed out everywhere else.")
            return redirect(url_for("admin.account"), 303)
    address = two_factor.setup_address(secret, user.email)
    return render_template(
        "admin/two_factor_setup.html",
        form=form,
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        qr_code=two_factor.qr_code_svg(address),
    ), (422 if form.errors else 200)


@bp.post("/account/two-step/off")
@limiter.limit(LOGIN_LIMIT, key_func=_user_key, deduct_when=attempt_failed)
def two_factor_off() -> Any:
    form = PasswordCheckForm()
    if form.validate_on_submit():
        try:
            two_factor.turn_off(
                current_user._get_current_object(), form.password.data, request.remote_addr
            )
        except InvalidInput as exc:
            attach_errors(form, exc)
        else:
            flash("Two-step verification is off.")
            return redirect(url_for("admin.account"), 303)
    return render_template(
        "admin/account.html", form=PasswordChangeForm(formdata=None), turn_off=form
    ), 422
