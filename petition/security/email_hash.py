"""A keyed hash of a canonical email address: recognises a person without keeping the address.

Used where we must remember someone after forgetting who they are: an erased signer who signs
again, an address that refused mail for good. The key is dedicated (not SECRET_KEY) so it can
be rotated on its own: hashes made with a key listed in EMAIL_HASH_KEY_FALLBACKS still match.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app


def _keys() -> list[str]:
    config = current_app.config
    return [config["EMAIL_HASH_KEY"], *config["EMAIL_HASH_KEY_FALLBACKS"]]


def email_hash(canonical: str) -> str:
    """The hash stored from now on (made with the current key)."""
    return _digest(_keys()[0], canonical)


def email_hashes(canonical: str) -> list[str]:
    """Every hash the address may have been stored under (current key first)."""
    return [_digest(key, canonical) for key in _keys()]


def _digest(key: str, canonical: str) -> str:
    return hmac.new(key.encode(), canonical.encode(), hashlib.sha256).hexdigest()
