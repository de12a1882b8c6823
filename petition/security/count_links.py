"""The link back to the petition after confirming or withdrawing: it carries, signed and for ten
minutes, the count that reader just made, so the page they open next shows it (the stored
count, and every cache of the page, may be a few seconds behind). Nobody can make one up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from petition.security.keys import signing_keys

SALT = "seen-count"
MAX_AGE = 600


@dataclass(frozen=True)
class Seen:
    count: int
    pending: int  # awaiting confirmation, beside the count
    signed: bool  # the reader's signature is counted (False: they just withdrew it)
    at: datetime


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(list(signing_keys()), salt=SALT)


def seen_token(slug: str, count: int, pending: int, signed: bool) -> str:
    return _serializer().dumps({"s": slug, "n": count, "p": pending, "y": signed})


def seen_in(token: str | None, slug: str) -> Seen | None:
    """What a link back to `slug` says, or None when it is not one of ours, is for another
    petition or is over ten minutes old."""
    if not token or len(token) > 300:
        return None
    try:
        value: Any
        value, at = _serializer().loads(token, max_age=MAX_AGE, return_timestamp=True)
        if value["s"] != slug:
            return None
        return Seen(int(value["n"]), int(value["p"]), bool(value["y"]), at.astimezone(UTC))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
