"""Signed, time-limited form tokens: CSRF protection that needs no cookie or session.

A token proves the form was fetched from us recently, for this form and this subject (a
petition). It is not tied to a reader, so pages carrying one can still be cached.
"""

from __future__ import annotations

import enum
from typing import Any

from flask import abort, current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from petition.security.origin import origin_allowed


class TokenCheck(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"form-token:{purpose}")


def issue(purpose: str, subject: str) -> str:
    """A token for `purpose` (e.g. "sign") about `subject` (e.g. a petition slug)."""
    return _serializer(purpose).dumps(subject)


def check(token: str | None, purpose: str, subject: str) -> TokenCheck:
    """Whether a submitted token is genuine, for this subject, and recent enough."""
    if not token or len(token) > 300:
        return TokenCheck.INVALID
    try:
        value = _serializer(purpose).loads(token, max_age=current_app.config["FORM_TOKEN_MAX_AGE"])
    except SignatureExpired:
        return TokenCheck.EXPIRED
    except BadSignature:
        return TokenCheck.INVALID
    return TokenCheck.VALID if value == subject else TokenCheck.INVALID


def guard(purpose: str, subject: str, token: str | None, **origin_rules: Any) -> TokenCheck:
    """Refuse (403) a POST from a foreign page or with a forged token; report an expired one.

    An expired token is the caller's to handle kindly: a reader who left the page open
    overnight should be asked to send the form again, not shown an error.
    """
    if not origin_allowed(**origin_rules):
        abort(403, description="This form can only be sent from our own pages.")
    result = check(token, purpose, subject)
    if result is TokenCheck.INVALID:
        abort(403, description="This form could not be verified. Reload the page and try again.")
    return result
