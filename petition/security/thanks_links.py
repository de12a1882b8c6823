"""The link to the thanks page after signing: it carries, signed and for an hour, the address
partly hidden (so its owner can spot a typo) and what lets them replace the signature with one
at the right address. It holds nothing that tells whether the address had signed before."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from petition.security.keys import signing_keys

SALT = "thanks"
MAX_AGE = 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(list(signing_keys()), salt=SALT)


def thanks_token(shown_address: str, email_hash: str, at: datetime) -> str:
    return _serializer().dumps({"m": shown_address, "h": email_hash, "t": at.isoformat()})


def thanks_in(token: str | None) -> tuple[str, str, datetime] | None:
    """(shown address, email hash, when) from a thanks link, or None when it is not one of
    ours or is over an hour old."""
    if not token or len(token) > 500:
        return None
    try:
        value: Any = _serializer().loads(token, max_age=MAX_AGE)
        return str(value["m"]), str(value["h"]), datetime.fromisoformat(value["t"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
