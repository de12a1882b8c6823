"""Two-step verification for staff: after the password, a code from an authenticator app.

Codes are the standard time-based ones (RFC 6238: six digits, a new one every 30 seconds) that
any authenticator app makes from a secret shared once through a QR code. A code is accepted
for the step before and after the current one (clocks drift), and never twice.
"""

from __future__ import annotations

import hmac
import secrets
import time

import pyotp
import segno
from sqlalchemy import or_, select, update

from petition.extensions import db
from petition.models import AdminUser
from petition.services import audit
from petition.services.accounts import WRONG_PASSWORD, check_password
from petition.services.audit import Actor
from petition.services.errors import InvalidInput

ISSUER = "Refugees Welcome admin"
STEP_SECONDS = 30
WRONG_CODE = "That code is not right. Enter the 6 digits your app shows now"
clock = time.time  # the time codes are checked against (tests set it)


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def setup_address(secret: str, email: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_code_svg(address: str) -> str:
    return segno.make(address, error="m").svg_inline(
        scale=5,
        border=4,
        omitsize=True,
        dark="#000",
        light="#fff",
        svgclass="qr",
        title="QR code to scan",
    )


def _step_of(secret: str, code: str) -> int | None:
    """The time step whose code this is (now, or one step either side), if any."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = int(clock()) // STEP_SECONDS
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def turn_on(user: AdminUser, secret: str, code: str, password: str, ip_address: str | None) -> None:
    """Start asking this user for codes, once they show their app makes the right ones and
    their password (a session left open cannot lock its owner out).

    Every other session of theirs ends: whoever else held one has no code.
    """
    errors = {}
    if not check_password(user, password):
        errors["password"] = WRONG_PASSWORD
    step = _step_of(secret, code)
    if step is None:
        errors["code"] = WRONG_CODE
    if errors:
        db.session.rollback()
        raise InvalidInput(errors)
    user.totp_secret = secret
    user.totp_last_step = step
    user.session_token = secrets.token_hex(32)
    audit.record(Actor(user.email, user.id, ip_address), "two_factor_on")
    db.session.commit()


def turn_off(user: AdminUser, password: str, ip_address: str | None) -> None:
    """Stop asking for codes; the password is asked again, so an unattended session cannot."""
    if not check_password(user, password):
        db.session.rollback()
        raise InvalidInput({"password": WRONG_PASSWORD})
    _forget(user)
    audit.record(Actor(user.email, user.id, ip_address), "two_factor_off")
    db.session.commit()


def reset(email: str) -> bool:
    """For staff who lost their authenticator: the command line turns verification off."""
    user = db.session.scalar(select(AdminUser).where(AdminUser.email == email.strip().lower()))
    if user is None or user.totp_secret is None:
        db.session.rollback()
        return False
    _forget(user)
    audit.record(Actor("command line"), "two_factor_reset", user.email)
    db.session.commit()
    return True


def _forget(user: AdminUser) -> None:
    user.totp_secret = None
    user.totp_last_step = None


def check_code(user: AdminUser, code: str, ip_address: str | None) -> bool:
    """Whether this is a right code not used before; a wrong one is audited."""
    step = _step_of(user.totp_secret or "", code) if user.totp_secret else None
    # Each step's code works once, even when two requests bring it at the same moment.
    used = (
        step is not None
        and db.session.execute(
            update(AdminUser)
            .where(
                AdminUser.id == user.id,
                or_(AdminUser.totp_last_step.is_(None), AdminUser.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )
    if not used:
        audit.record(
            Actor(user.email, user.id, ip_address), "sign_in_failed", None, {"step": "code"}
        )
    db.session.commit()
    return used
