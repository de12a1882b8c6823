"""Admin accounts: argon2id passwords, sign-in, and sessions that end on the server."""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from petition.extensions import db
from petition.models import AdminUser, Role, utcnow
from petition.services import audit
from petition.services.addresses import parse_email
from petition.services.audit import Actor
from petition.services.errors import InvalidInput

MIN_PASSWORD_LENGTH = 12
hasher = PasswordHasher()  # argon2id with the library's current recommended costs


@cache
def _dummy_hash() -> str:
    """Checked when the account does not exist, so both cases take the same time.

    Made on first use: hashing takes 64 MB for a moment, which no other process should pay.
    """
    return hasher.hash(secrets.token_hex(16))


def save_admin(email: str, password: str, role: Role) -> tuple[AdminUser, bool]:
    """Create an admin, or reset an existing one's password and role; True if created."""
    try:
        address = parse_email(email, internal=True).address.lower()
    except ValueError as exc:
        raise InvalidInput({"email": f"Not a valid email address: {exc}"}) from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput({"password": f"Use at least {MIN_PASSWORD_LENGTH} characters"})
    user = db.session.scalar(select(AdminUser).where(AdminUser.email == address))
    created = user is None
    if user is None:
        user = AdminUser(email=address)
        db.session.add(user)
    user.password_hash = hasher.hash(password)
    user.role = role
    user.active = True
    user.session_token = secrets.token_hex(32)
    audit.record(
        Actor("command line"),
        "admin_created" if created else "admin_updated",
        address,
        {"role": role.value},
    )
    db.session.commit()
    return user, created


def authenticate(email: str, password: str, ip_address: str | None) -> AdminUser | None:
    """The account for these credentials, or None; the attempt is audited either way."""
    address = email.strip().lower()
    user = db.session.scalar(select(AdminUser).where(AdminUser.email == address))
    try:
        hasher.verify(user.password_hash if user else _dummy_hash(), password)
        ok = user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        audit.record(Actor(address[:254], None, ip_address), "sign_in_failed")
        db.session.commit()
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    user.last_login_at = utcnow()
    audit.record(Actor(user.email, user.id, ip_address), "sign_in")
    db.session.commit()
    return user


def load_session_user(session_id: str) -> AdminUser | None:
    """The user behind a session cookie, if that session has not been ended."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(AdminUser, int(user_id))
    if user is None or not user.active or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def end_sessions(user: AdminUser, ip_address: str | None) -> None:
    """Sign out: a new session token makes every copy of the old cookie worthless."""
    user.session_token = secrets.token_hex(32)
    audit.record(Actor(user.email, user.id, ip_address), "sign_out")
    db.session.commit()
