"""Rate limits shared by every entry point that does the same thing."""

from __future__ import annotations

from flask import current_app, request

from petition.extensions import limiter
from petition.security.email_hash import email_hash
from petition.services.addresses import canonical_email


def _sign_limit() -> str:
    return current_app.config["SIGN_RATE_LIMIT"]


# One budget per IP address for signing, whether through the page, the widget or the API.
sign_limit = limiter.shared_limit(_sign_limit, scope="sign")


def _donate_limit() -> str:
    return current_app.config["DONATE_RATE_LIMIT"]


donate_limit = limiter.shared_limit(_donate_limit, scope="donate")


def _privacy_limit() -> str:
    return current_app.config["PRIVACY_RATE_LIMIT"]


def _privacy_address_limit() -> str:
    return current_app.config["PRIVACY_ADDRESS_RATE_LIMIT"]


def _requested_address() -> str:
    """Requests for one address, however spelled, share a budget (keyed by its hash)."""
    address = request.form.get("email", "")
    return "privacy-address:" + (email_hash(canonical_email(address)) if "@" in address else "-")


# Links to readers' privacy pages: per IP address, and per address asked about (no mail bombs).
privacy_limit = limiter.shared_limit(_privacy_limit, scope="privacy")
privacy_address_limit = limiter.shared_limit(
    _privacy_address_limit, scope="privacy-address", key_func=_requested_address
)


def _verify_limit() -> str:
    return current_app.config["VERIFY_RATE_LIMIT"]


# Checking receipts: cheap, but nobody needs hundreds a minute.
verify_limit = limiter.shared_limit(_verify_limit, scope="verify")


def _partner_limit() -> str:
    return current_app.config["PARTNER_RATE_LIMIT"]


# The partners' API, per IP address (counted before the key is checked, so guessing keys from
# one address is as slow as using one).
partner_limit = limiter.shared_limit(_partner_limit, scope="partner")
