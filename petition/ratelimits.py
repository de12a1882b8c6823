"""Rate limits shared by every entry point that does the same thing."""

from __future__ import annotations

from flask import current_app

from petition.extensions import limiter


def _sign_limit() -> str:
    return current_app.config["SIGN_RATE_LIMIT"]


# One budget per IP address for signing, whether through the page, the widget or the API.
sign_limit = limiter.shared_limit(_sign_limit, scope="sign")


def _donate_limit() -> str:
    return current_app.config["DONATE_RATE_LIMIT"]


donate_limit = limiter.shared_limit(_donate_limit, scope="donate")
