"""Signed, time-limited form tokens: CSRF protection that needs no cookie or session.

A token proves the form was fetched from us recently, for this form and this subject (a
petition). It is not tied to a reader, so pages carrying one can still be cached; and it is
stamped to the minute, so every rendering of a page within a minute is byte for byte the same
and its ETag still answers 304 after a cache has dropped it.
"""

from __future__ import annotations

import enum
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from flask import abort, current_app
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from petition.i18n import gettext as _
from petition.security.keys import signing_keys
from petition.security.origin import origin_allowed


class TokenCheck(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


STAMP_GRAIN_SECONDS = 60


def _clock() -> float:
    return time.time()


class _MinuteSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(_clock()) // STAMP_GRAIN_SECONDS * STAMP_GRAIN_SECONDS


@lru_cache(maxsize=16)
def _serializer(keys: tuple[str, ...], purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(list(keys), salt=f"form-token:{purpose}", signer=_MinuteSigner)


@lru_cache(maxsize=4096)
def _genuine(keys: tuple[str, ...], purpose: str, token: str) -> tuple[str, datetime]:
    """What a token says and when it was issued; raises BadSignature for a forgery.

    Cached: a page is served to many readers from the cache, so the same token comes back
    again and again. Forgeries raise, and are never cached.
    """
    return _serializer(keys, purpose).loads(token, return_timestamp=True)


def issue(purpose: str, subject: str) -> str:
    """A token for `purpose` (e.g. "sign") about `subject` (e.g. a petition slug)."""
    return _serializer(signing_keys(), purpose).dumps(subject)


def check(token: str | None, purpose: str, subject: str) -> TokenCheck:
    """Whether a submitted token is genuine, for this subject, and recent enough."""
    if not token or len(token) > 300:
        return TokenCheck.INVALID
    try:
        value, issued_at = _genuine(signing_keys(), purpose, token)
    except BadSignature:
        return TokenCheck.INVALID
    if value != subject:
        return TokenCheck.INVALID
    age = (datetime.now(UTC) - issued_at).total_seconds()
    if age > current_app.config["FORM_TOKEN_MAX_AGE"]:
        return TokenCheck.EXPIRED
    return TokenCheck.VALID


def guard(purpose: str, subject: str, token: str | None, **origin_rules: Any) -> TokenCheck:
    """Refuse (403) a POST from a foreign page or with a forged token; report an expired one.

    An expired token is the caller's to handle kindly: a reader who left the page open
    overnight should be asked to send the form again, not shown an error.
    """
    if not origin_allowed(**origin_rules):
        abort(403, description=_("This form can only be sent from our own pages."))
    result = check(token, purpose, subject)
    if result is TokenCheck.INVALID:
        abort(403, description=_("This form could not be verified. Reload the page and try again."))
    return result
