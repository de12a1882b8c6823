"""Donations: card payments through Stripe Checkout, counted exactly once; the fundraiser link."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import stripe
from flask import current_app
from sqlalchemy import case, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from petition.database import dialect_insert
from petition.extensions import cache, db
from petition.i18n import gettext as _
from petition.models import (
    STATUS_RANK,
    Donation,
    DonationStatus,
    EarlyRefund,
    StripeEvent,
    utcnow,
)
from petition.services import fundraiser, stripe_gateway
from petition.services.errors import InvalidInput, ServiceError
from petition.urls import external_url

log = logging.getLogger("petition.donations")

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
        raise InvalidInput({"amount": _("Choose or enter an amount to give")})
    if not AMOUNT.match(text):
        raise InvalidInput({"amount": _("Enter an amount in pounds, like 10 or 12.50")})
    try:
        minor = int(Decimal(text) * 100)
    except InvalidOperation:
        raise InvalidInput({"amount": _("Enter an amount in pounds, like 10 or 12.50")}) from None
    if minor < MIN_MINOR:
        raise InvalidInput({"amount": _("The smallest donation we can take is £1")})
    if minor > MAX_MINOR:
        raise InvalidInput({"amount": _("The largest donation we can take online is £10,000")})
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
    db.session.flush()
    # Read before the commit: touched after it, the row would be loaded again in a new
    # transaction, held open while Stripe answers.
    donation_id = donation.id
    db.session.commit()
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


class MalformedEvent(ServiceError):
    """A correctly signed event whose shape is not one Stripe sends: refused, not retried."""


def handle_webhook(payload: bytes, signature: str | None) -> WebhookResult:
    """Act on one signed Stripe event, once: the event id and its effect commit together.

    Events of kinds we do not act on are acknowledged (and logged); events of our kinds whose
    fields are not what Stripe sends are refused with a clear answer, never a 500.
    """
    try:
        stripe_gateway.verify(payload, signature)
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise BadSignature(str(exc)) from None
    event_id, event_type, obj = checked_event(event)
    if event_type not in HANDLED:
        log.info("Stripe event %s of a kind we do not act on: %s", event_id, event_type)

    donation = _donation_for(event_type, obj)
    try:
        db.session.execute(
            insert(StripeEvent).values(
                id=event_id,
                type=event_type,
                donation_id=donation.id if donation else None,
                received_at=utcnow(),
            )
        )
    except IntegrityError:
        db.session.rollback()
        return WebhookResult(event_id, True, donation.id if donation else None)
    if donation is not None:
        _apply(donation, event_type, obj)
    elif event_type == "charge.refunded" and obj.get("payment_intent"):
        _keep_early_refund(obj)
    db.session.commit()
    cache.delete(SUMMARY_KEY)
    return WebhookResult(event_id, False, donation.id if donation else None)


HANDLED = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
        "charge.refunded",
    }
)
EVENT_ID = re.compile(r"^[A-Za-z0-9_]{1,255}$")


def checked_event(event: Any) -> tuple[str, str, dict[str, Any]]:
    """The event's id, type and object, if its shape is one Stripe sends."""
    if not isinstance(event, dict):
        raise MalformedEvent("an event is a JSON object")
    event_id, event_type, data = event.get("id"), event.get("type"), event.get("data")
    if not isinstance(event_id, str) or not EVENT_ID.match(event_id):
        raise MalformedEvent("an event id is up to 255 letters, digits and underscores")
    if not isinstance(event_type, str) or not 0 < len(event_type) <= 100:
        raise MalformedEvent("an event type is a short string")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise MalformedEvent("an event carries data.object")
    obj: dict[str, Any] = data["object"]
    if event_type.startswith("checkout.session."):
        _text_fields(obj, "id", "client_reference_id", "payment_intent", "payment_status")
        metadata = obj.get("metadata")
        if metadata is not None and not (
            isinstance(metadata, dict)
            and all(isinstance(v, str) and len(v) <= 500 for v in metadata.values())
        ):
            raise MalformedEvent("metadata is an object of short strings")
    elif event_type == "charge.refunded":
        _text_fields(obj, "payment_intent")
        refunded = obj.get("amount_refunded")
        if refunded is not None and (
            not isinstance(refunded, int) or isinstance(refunded, bool) or refunded < 0
        ):
            raise MalformedEvent("amount_refunded is a whole number of pence")
        if obj.get("refunded") is not None and not isinstance(obj.get("refunded"), bool):
            raise MalformedEvent("refunded is true or false")
    return event_id, event_type, obj


def _text_fields(obj: dict[str, Any], *names: str) -> None:
    for name in names:
        value = obj.get(name)
        if value is not None and not (isinstance(value, str) and len(value) <= 255):
            raise MalformedEvent(f"{name} is a string of up to 255 characters")


def _donation_for(event_type: str, obj: dict[str, Any]) -> Donation | None:
    """The donation an event is about, locked for the rest of the transaction."""
    query = select(Donation).with_for_update()
    if event_type.startswith("checkout.session."):
        donation_id = (obj.get("metadata") or {}).get("donation_id") or obj.get(
            "client_reference_id"
        )
        if donation_id and re.fullmatch(r"[0-9]{1,18}", str(donation_id)):
            found = db.session.scalar(query.where(Donation.id == int(donation_id)))
            if found is not None:
                return found
        return db.session.scalar(query.where(Donation.stripe_session_id == obj.get("id")))
    if event_type == "charge.refunded" and obj.get("payment_intent"):
        return db.session.scalar(query.where(Donation.payment_intent_id == obj["payment_intent"]))
    return None


def _apply(donation: Donation, event_type: str, obj: dict[str, Any]) -> None:
    now = utcnow()
    early: EarlyRefund | None = None
    if event_type.startswith("checkout.session."):
        if obj.get("id") and not donation.stripe_session_id:
            donation.stripe_session_id = obj["id"]
        if obj.get("payment_intent") and not donation.payment_intent_id:
            donation.payment_intent_id = obj["payment_intent"]
            early = db.session.get(EarlyRefund, obj["payment_intent"], with_for_update=True)
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
        _refund(donation, obj.get("amount_refunded") or 0, bool(obj.get("refunded")), now)
    if early is not None:  # a refund that came before this payment's own event
        _refund(donation, early.amount_refunded, early.fully_refunded, now)
        db.session.delete(early)
    donation.updated_at = now


def _refund(donation: Donation, amount: int, fully: bool, now: Any) -> None:
    refunded = min(amount, donation.amount_minor)
    donation.refunded_minor = max(donation.refunded_minor, refunded)
    if fully or refunded >= donation.amount_minor:
        _advance(donation, DonationStatus.REFUNDED, now)


def _keep_early_refund(obj: dict[str, Any]) -> None:
    """A refund of a payment we have not heard of yet: kept until its payment arrives."""
    amount = obj.get("amount_refunded") or 0
    fully = bool(obj.get("refunded"))
    db.session.execute(
        dialect_insert(EarlyRefund)
        .values(
            payment_intent_id=obj["payment_intent"],
            amount_refunded=amount,
            fully_refunded=fully,
            received_at=utcnow(),
        )
        .on_conflict_do_update(
            index_elements=["payment_intent_id"],
            # Stripe's figure is the total refunded so far: the larger one is the later.
            set_={
                "amount_refunded": case(
                    (EarlyRefund.amount_refunded > amount, EarlyRefund.amount_refunded),
                    else_=amount,
                ),
                "fully_refunded": or_(EarlyRefund.fully_refunded, fully),
            },
        )
    )


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


def accepting_donations() -> bool:
    """Whether a reader has any way to give: by card here, or through the fundraiser.

    Every donate link and ask is shown only when this holds, so none leads to a dead end.
    """
    return stripe_gateway.card_payments_enabled() or fundraiser.fundraiser_url() is not None
