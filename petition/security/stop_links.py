"""The link in every campaign update that stops them: signed, so no row is kept per email.

Update emails go to thousands of signers at once; each carries its signer's own link, made
when the message is sent. The link names a signature and can do one thing only — stop its
updates — so it never expires.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from petition.security.keys import signing_keys

SALT = "stop-updates"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(list(signing_keys()), salt=SALT)


def stop_token(signature_id: int) -> str:
    return _serializer().dumps(signature_id)


def signature_in(token: str) -> int | None:
    """The signature a stop link names, or None when the link is not one of ours."""
    if not token or len(token) > 100:
        return None
    try:
        value = _serializer().loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
