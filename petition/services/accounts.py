"""Admin accounts: argon2id passwords, sign-in, and sessions that end on the server."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from petition.extensions import db
from petition.models import AdminUser, AuditLog, Role, utcnow
from petition.services import audit
from petition.services.addresses import parse_email
from petition.services.audit import Actor
from petition.services.errors import InvalidInput, NotFound

MIN_PASSWORD_LENGTH = 12
# Messages for people, not passwords (bandit flags any string given to a "password" name).
WRONG_PASSWORD = "That password is not right"  # nosec B105
SAME_PASSWORD = "Choose a password different from the one you have now"  # nosec B105
hasher = PasswordHasher()  # argon2id with the library's current recommended costs


@cache
def _dummy_hash() -> str:
    """Checked when the account does not exist, so both cases take the same time.

    Made on first use: hashing takes 64 MB for a moment, which no other process should pay.
    """
    return hasher.hash(secrets.token_hex(16))


def admin_address(email: str) -> str:
    """An admin's address as it is kept (and typed to sign in); InvalidInput if it is none."""
    try:
        return parse_email(email, internal=True).address.lower()
    except ValueError as exc:
        raise InvalidInput({"email": f"Not a valid email address: {exc}"}) from None


def password_problem(password: str) -> str | None:
    """Why a new password will not do, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters"
    return None


def save_admin(email: str, password: str, role: Role) -> tuple[AdminUser, bool]:
    """Create an admin, or reset an existing one's password and role; True if created."""
    address = admin_address(email)
    problem = password_problem(password)
    if problem:
        raise InvalidInput({"password": problem})
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
    """The account for these credentials, or None (audited).

    Not signed in yet: `signed_in` does that, at once or after a two-step code.
    """
    address = email.strip().lower()
    user = db.session.scalar(select(AdminUser).where(AdminUser.email == address))
    if user is None:
        _verify(_dummy_hash(), password)
    elif check_password(user, password) and user.active:
        db.session.commit()
        return user
    audit.record(Actor(address[:254], None, ip_address), "sign_in_failed")
    db.session.commit()
    return None


# The backoff every attempt on an account waits once it has this many failures in the window,
# doubling with every few more, up to a ceiling.
BACKOFF_AFTER = 10
BACKOFF_WINDOW = timedelta(minutes=15)
BACKOFF_CEILING = 2.0


def sign_in_delay(email: str) -> float:
    """How long an attempt to sign in to this account waits first, after many failures."""
    failures = (
        db.session.scalar(
            select(func.count()).where(
                AuditLog.action == "sign_in_failed",
                AuditLog.actor == email.strip().lower()[:254],
                AuditLog.at >= utcnow() - BACKOFF_WINDOW,
            )
        )
        or 0
    )
    db.session.rollback()
    if failures < BACKOFF_AFTER:
        return 0.0
    return min(BACKOFF_CEILING, 0.25 * 2 ** ((failures - BACKOFF_AFTER) // 5))


def sign_in_throttled(email: str, ip_address: str | None) -> None:
    """Record a sign-in refused for too many failures (an address or an account slowed)."""
    audit.record(Actor(email[:254] or "(no account given)", None, ip_address), "sign_in_throttled")
    db.session.commit()


@dataclass(frozen=True)
class SignInTrouble:
    failed: int
    throttled: int


def sign_in_trouble(hours: int = 24) -> dict[str, SignInTrouble]:
    """Failed and throttled sign-ins per account lately, for the Team page."""
    since = utcnow() - timedelta(hours=hours)
    rows = db.session.execute(
        select(
            AuditLog.actor,
            func.count().filter(AuditLog.action == "sign_in_failed"),
            func.count().filter(AuditLog.action == "sign_in_throttled"),
        )
        .where(AuditLog.action.in_(("sign_in_failed", "sign_in_throttled")), AuditLog.at >= since)
        .group_by(AuditLog.actor)
    ).all()
    return {actor: SignInTrouble(failed, throttled) for actor, failed, throttled in rows}


def check_password(user: AdminUser, password: str) -> bool:
    """Whether this is the user's password (its hash is brought up to date if it is)."""
    if not _verify(user.password_hash, password):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def _verify(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def signed_in(user: AdminUser, ip_address: str | None) -> None:
    user.last_login_at = utcnow()
    audit.record(Actor(user.email, user.id, ip_address), "sign_in")
    db.session.commit()


def change_password(user: AdminUser, current: str, new: str, ip_address: str | None) -> None:
    """A new password; every other session of the user ends (the caller renews its own)."""
    errors = {}
    if not check_password(user, current):
        errors["current_password"] = WRONG_PASSWORD
    problem = password_problem(new)
    if problem:
        errors["new_password"] = problem
    elif new == current:
        errors["new_password"] = SAME_PASSWORD
    if errors:
        db.session.rollback()
        raise InvalidInput(errors)
    user.password_hash = hasher.hash(new)
    user.session_token = secrets.token_hex(32)
    audit.record(Actor(user.email, user.id, ip_address), "password_changed")
    db.session.commit()


def team() -> list[AdminUser]:
    """Everyone with an account, active first."""
    return list(
        db.session.scalars(select(AdminUser).order_by(AdminUser.active.desc(), AdminUser.email))
    )


def set_access(user_id: int, active: bool, actor: Actor) -> AdminUser:
    """Remove someone's access (their sessions end at once) or give it back; never your own."""
    user = db.session.get(AdminUser, user_id)
    if user is None:
        raise NotFound(f"no admin account {user_id}")
    if user.id == actor.id:
        raise InvalidInput({"account": "You cannot remove your own access"})
    if user.active != active:
        user.active = active
        user.session_token = secrets.token_hex(32)
        audit.record(actor, "access_restored" if active else "access_removed", user.email)
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
