"""Talking to Stripe: one client per app, short timeouts, safe retries (idempotency keys)."""

from __future__ import annotations

from typing import Any

import stripe
from flask import current_app


def card_payments_enabled() -> bool:
    return bool(current_app.config["STRIPE_SECRET_KEY"])


def client() -> stripe.StripeClient:
    """The app's Stripe client; STRIPE_API_BASE points it somewhere else (tests)."""
    existing = current_app.extensions.get("stripe_client")
    if existing is not None:
        return existing
    config = current_app.config
    base = config["STRIPE_API_BASE"]
    made = stripe.StripeClient(
        config["STRIPE_SECRET_KEY"],
        base_addresses={"api": base} if base else None,
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=(3.05, 15)),
    )
    current_app.extensions["stripe_client"] = made
    return made


def create_checkout(params: dict[str, Any], idempotency_key: str) -> tuple[str, str]:
    """Create a Checkout Session; returns its id and the URL to send the donor to."""
    session = client().v1.checkout.sessions.create(
        params=params,  # type: ignore[arg-type]
        options={"idempotency_key": idempotency_key},
    )
    if not session.url:
        raise stripe.StripeError("Stripe returned a Checkout Session without a URL")
    return session.id, session.url


def verify(payload: bytes, signature: str | None) -> None:
    """Raise stripe.SignatureVerificationError unless Stripe signed this body recently."""
    stripe.WebhookSignature.verify_header(
        payload,
        signature,
        current_app.config["STRIPE_WEBHOOK_SECRET"],
        stripe.Webhook.DEFAULT_TOLERANCE,
    )
