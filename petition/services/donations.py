"""Donations: card payments through Stripe Checkout, counted exactly once; the fundraiser link."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import stripe
from flask import current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from petition.extensions import cache, db
from petition.models import (
    STATUS_RANK,
    Campaign,
    Donation,
    DonationStatus,
    OutboundClick,
    StripeEvent,
    utcnow,
)
from petition.services import stripe_gateway
from petition.services.errors import InvalidInput, ServiceError
from petition.urls import external_url

PRESET_POUNDS = (5, 10, 25, 50)
MIN_MINOR, MAX_MINOR = 100, 1_000_000
AMOUNT = re.compile(r"^\d{1,7}(\.\d{1,2})?$")
SUMMARY_KEY = "donations:v1:summary"


class PaymentsUnavailable(ServiceError):
    """Card payments are switched off, or Stripe could not be reached."""


class BadSignature(ServiceError):
    """A webhook that Stripe did not sign (or signed too long ago)."""


def parse_amount(raw: str | None) -> int:
    """Pounds as typed ("10", "12.50", "£1,000") to pence, within the limits we accept."""
    text = (raw or "").strip().replace("£", "").replace(",", "").strip()
    if not text:
        raise InvalidInput({"amount": "Choose or enter an amount to give"})
    if not AMOUNT.match(text):
        raise InvalidInput({"amount": "Enter an amount in pounds, like 10 or 12.50"})
    try:
        minor = int(Decimal(text) * 100)
    except InvalidOperation:
        raise InvalidInput({"amount": "Enter an amount in pounds, like 10 or 12.50"}) from None
    if minor < MIN_MINOR:
        raise InvalidInput({"amount": "The smallest donation we can take is £1"})
    if minor > MAX_MINOR:
        raise InvalidInput({"amount": "The largest donation we can take online is £10,000"})
    return minor


def start_donation(amount_minor: int, source: str) -> str:
    """Record a pending donation and open a Stripe Checkout Session for it; returns its URL.

    The donation row is committed first, so its id can key the Stripe request: a retry
    (ours, or the Stripe library's own) can never create a second session for it.
    """
    if not stripe_gateway.card_payments_enabled():
        raise PaymentsUnavailable("card payments are not configured")
    donation = Donation(amount_minor=amount_minor, currency="gbp", source=source[:120])
    db.session.add(donation)
    db.session.commit()
    donation_id = donation.id
    params = {
        "mode": "payment",
        "submit_type": "donate",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "gbp",
                    "unit_amount": amount_minor,
                    "product_data": {"name": "Donation to the Refugees Welcome campaign"},
                },
            }
        ],
        "client_reference_id": str(donation_id),
        "metadata": {"donation_id": str(donation_id), "source": source[:120]},
        "payment_intent_data": {"metadata": {"donation_id": str(donation_id)}},
        # Stripe fills in {CHECKOUT_SESSION_ID}: it must reach Stripe unescaped.
        "success_url": external_url("donations.thanks") + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": external_url("donations.donate"),
    }
    try:
        session_id, url = stripe_gateway.create_checkout(params, f"donation-{donation_id}-checkout")
    except stripe.StripeError as exc:
        current_app.logger.warning(
            "Stripe Checkout unavailable for donation %s: %s", donation_id, exc
        )
        raise PaymentsUnavailable(str(exc)) from exc
    db.session.execute(
        update(Donation)
        .where(Donation.id == donation_id)
        .values(stripe_session_id=session_id, updated_at=utcnow())
    )
    db.session.commit()
    return url


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    duplicate: bool
    donation_id: int | None


def handle_webhook(payload: bytes, signature: str | None) -> WebhookResult:
    """Act on one signed Stripe event, once: the event id and its effect commit together."""
    try:
        stripe_gateway.verify(payload, signature)
        event = json.loads(payload)
        event_id, event_type, obj = event["id"], event["type"], event["data"]["object"]
    except (
        stripe.SignatureVerificationError,
        UnicodeDecodeError,
        ValueError,
        KeyError,
        TypeError,
    ) as exc:
        raise BadSignature(str(exc)) from None

    donation = _donation_for(event_type, obj)
    try:
        db.session.execute(
            insert(StripeEvent).values(
                id=event_id,
                type=event_type[:100],
                donation_id=donation.id if donation else None,
                received_at=utcnow(),
            )
        )
    except IntegrityError:
        db.session.rollback()
        return WebhookResult(event_id, True, donation.id if donation else None)
    if donation is not None:
        _apply(donation, event_type, obj)
    db.session.commit()
    cache.delete(SUMMARY_KEY)
    return WebhookResult(event_id, False, donation.id if donation else None)


def _donation_for(event_type: str, obj: dict[str, Any]) -> Donation | None:
    """The donation an event is about, locked for the rest of the transaction."""
    query = select(Donation).with_for_update()
    if event_type.startswith("checkout.session."):
        donation_id = (obj.get("metadata") or {}).get("donation_id") or obj.get(
            "client_reference_id"
        )
        if donation_id and str(donation_id).isdigit():
            found = db.session.scalar(query.where(Donation.id == int(donation_id)))
            if found is not None:
                return found
        return db.session.scalar(query.where(Donation.stripe_session_id == obj.get("id")))
    if event_type == "charge.refunded" and obj.get("payment_intent"):
        return db.session.scalar(query.where(Donation.payment_intent_id == obj["payment_intent"]))
    return None


def _apply(donation: Donation, event_type: str, obj: dict[str, Any]) -> None:
    now = utcnow()
    if event_type.startswith("checkout.session."):
        if obj.get("id") and not donation.stripe_session_id:
            donation.stripe_session_id = obj["id"]
        if obj.get("payment_intent") and not donation.payment_intent_id:
            donation.payment_intent_id = obj["payment_intent"]
    if event_type == "checkout.session.completed":
        # Bank debits and the like complete unpaid; the money comes with a later event.
        if obj.get("payment_status") == "paid":
            _advance(donation, DonationStatus.PAID, now)
    elif event_type == "checkout.session.async_payment_succeeded":
        _advance(donation, DonationStatus.PAID, now)
    elif event_type == "checkout.session.async_payment_failed":
        _advance(donation, DonationStatus.FAILED, now)
    elif event_type == "checkout.session.expired":
        _advance(donation, DonationStatus.EXPIRED, now)
    elif event_type == "charge.refunded":
        refunded = min(int(obj.get("amount_refunded") or 0), donation.amount_minor)
        donation.refunded_minor = max(donation.refunded_minor, refunded)
        if obj.get("refunded") or refunded >= donation.amount_minor:
            _advance(donation, DonationStatus.REFUNDED, now)
    donation.updated_at = now


def _advance(donation: Donation, status: DonationStatus, now: Any) -> None:
    """Move forward only: a late or replayed event never undoes a later state."""
    if STATUS_RANK[status] <= STATUS_RANK[donation.status]:
        return
    donation.status = status
    if status == DonationStatus.PAID:
        donation.paid_at = donation.paid_at or now
    elif status == DonationStatus.REFUNDED:
        donation.refunded_at = now


def summary() -> dict[str, Any]:
    """Paid, unrefunded card donations: how many and how much (cached briefly)."""
    return cache.get(SUMMARY_KEY, current_app.config["COUNT_CACHE_SECONDS"] * 5, _summary)


def _summary() -> dict[str, Any]:
    count, amount = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Donation.amount_minor - Donation.refunded_minor), 0),
        ).where(Donation.status == DonationStatus.PAID)
    ).one()
    return {"count": int(count), "amount_minor": int(amount), "currency": "gbp"}


def donation_for_session(session_id: str) -> Donation | None:
    if not session_id or len(session_id) > 255:
        return None
    return db.session.scalar(select(Donation).where(Donation.stripe_session_id == session_id))


FUNDRAISER_KEY = "campaign:v1:fundraiser"


def fundraiser_url() -> str | None:
    """The campaign's GoFundMe page: the only place the tracked link can lead."""
    ttl = current_app.config["COUNT_CACHE_SECONDS"] * 5
    return cache.get(FUNDRAISER_KEY, ttl, _fundraiser_url) or None


def _fundraiser_url() -> str:
    campaign_url = db.session.scalar(select(Campaign.gofundme_url).order_by(Campaign.id).limit(1))
    return campaign_url or current_app.config["GOFUNDME_URL"] or ""


def accepting_donations() -> bool:
    """Whether a reader has any way to give: by card here, or through the fundraiser.

    Every donate link and ask is shown only when this holds, so none leads to a dead end.
    """
    return stripe_gateway.card_payments_enabled() or fundraiser_url() is not None


def follow_fundraiser_link(source: str) -> str:
    """Count a click on the fundraiser link and return where to send the reader."""
    target = fundraiser_url()
    if target is None:
        raise PaymentsUnavailable("no fundraiser configured")
    db.session.execute(
        insert(OutboundClick).values(target="gofundme", source=source[:120], created_at=utcnow())
    )
    db.session.commit()
    parts = urlsplit(target)
    utm = urlencode(
        {"utm_source": "refugees-welcome", "utm_medium": "referral", "utm_campaign": source[:60]}
    )
    return urlunsplit(parts._replace(query=f"{parts.query}&{utm}" if parts.query else utm))
