"""The link to the thanks page after signing: it carries, signed and for an hour, the address
partly hidden (so its owner can spot a typo) and what lets them replace the signature with one
at the right address. It holds nothing that tells whether the address had signed before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from petition.security.keys import signing_keys

SALT = "thanks"
MAX_AGE = 3600


@dataclass(frozen=True)
class Signed:
    """What the thanks page may show and offer after signing: the address, partly hidden,
    and what finds the signature this signing made, if it made one, for a reader who typed
    the address wrong. The same whether or not the address had signed before."""

    shown_address: str
    email_hash: str
    at: datetime


def _serializer() -> URLSafeTimedSerializer:
    return _serializer_for(signing_keys())


@lru_cache(maxsize=16)
def _serializer_for(keys: tuple[str, ...]) -> URLSafeTimedSerializer:
    # Made once per set of keys: building one (its signers, their key derivation) cost a
    # signing a tenth of a millisecond.
    return URLSafeTimedSerializer(list(keys), salt=SALT)


def token_for(signed: Signed) -> str:
    return _serializer().dumps(
        {"m": signed.shown_address, "h": signed.email_hash, "t": signed.at.isoformat()}
    )


def signed_in(token: str | None) -> Signed | None:
    """What a thanks link says, or None when it is not one of ours or is over an hour old."""
    if not token or len(token) > 500:
        return None
    try:
        value: Any = _serializer().loads(token, max_age=MAX_AGE)
        return Signed(str(value["m"]), str(value["h"]), datetime.fromisoformat(value["t"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
