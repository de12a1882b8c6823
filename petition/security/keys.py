"""The keys our links and form tokens are signed with: SECRET_KEY signs, and while it is being
rotated, the keys in SECRET_KEY_FALLBACKS are still accepted (as Flask does for sessions)."""

from __future__ import annotations

from flask import current_app


def signing_keys() -> tuple[str, ...]:
    """Oldest first, the current key last (itsdangerous signs with the last, checks them all)."""
    config = current_app.config
    return (*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"])
