"""Events partners hear about, at their webhook endpoints: queued in the transaction of the
change they tell of (so none is lost), sent by the worker, signed, retried until answered.

Each POST carries the event as JSON and `X-Petition-Signature: t=<unix time>,v1=<hex>`, where
v1 is HMAC-SHA256 of "<t>.<body>" under the endpoint's secret (Stripe's scheme); a receiver
recomputes it, checks t is recent, and drops an event id it has seen (`X-Petition-Event-Id`:
an event is retried until a 2xx, so it may arrive again after an answer that was lost).
Personal data goes only where the signer said yes to that partner's own question.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import secrets
import socket
import threading
import time
from contextlib import suppress
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update

from petition.extensions import db
from petition.models import Signature, WebhookDelivery, WebhookEndpoint, utcnow
from petition.services import audit
from petition.services.audit import SYSTEM, Actor
from petition.services.errors import NotFound
from petition.services.names import given_and_family

log = logging.getLogger("petition.webhooks")

EVENTS = ("signature.confirmed", "signature.withdrawn", "person.erased", "petition.milestone")
TIMEOUT_SECONDS = 5
LEASE = timedelta(minutes=2)
BATCH = 20
# Pauses between attempts: 30 s, 1 min, 2 min … up to 6 hours; given up after a day and more.
FIRST_PAUSE = timedelta(seconds=30)
LONGEST_PAUSE = timedelta(hours=6)
ATTEMPTS = 12
# An endpoint that has failed this many attempts in a row is turned off (and staff told).
DISABLE_AFTER = 30


def signature_event(event: str, signature: Signature, status: str) -> None:
    """Queue a signature's event for its partner's endpoints (none if it came directly)."""
    if signature.partner_id is None:
        return
    data: dict[str, Any] = {
        "identifiers": [f"refugees_welcome:{signature.id}"],
        "petition": signature.petition.slug,
        "status": status,
        "action_date": iso(signature.created_at),
        "confirmed_date": iso(signature.confirmed_at),
    }
    if signature.partner_consented_at is not None and signature.email:
        given, family = given_and_family(signature.name)
        data["person"] = {
            "given_name": given,
            "family_name": family,
            "email_addresses": [{"address": signature.email, "primary": True}],
            "postal_addresses": [
                {"postal_code": signature.postcode or "", "country": signature.country}
            ],
        }
    enqueue(signature.partner_id, event, data)


def enqueue(partner_id: int | None, event: str, data: dict[str, Any]) -> int:
    """Queue `event` for each working endpoint of a partner (every partner's for None), in the
    caller's transaction. How many were queued."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.disabled_at.is_(None))
    if partner_id is not None:
        query = query.where(WebhookEndpoint.partner_id == partner_id)
    endpoints = db.session.scalars(query).all()
    now = utcnow()
    for endpoint in endpoints:
        event_id = f"evt_{secrets.token_hex(12)}"
        db.session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event=event,
                event_id=event_id,
                payload={"id": event_id, "type": event, "created": iso(now), "data": data},
                created_at=now,
                next_attempt_at=now,
                attempts=0,
            )
        )
    return len(endpoints)


def sign(secret: str, body: bytes, at: int) -> str:
    """The X-Petition-Signature header for `body` sent at unix time `at`."""
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def deliver_due(limit: int = BATCH) -> int:
    """Send what is due (leased first, so two workers never send the same one); how many
    were answered 2xx."""
    now = utcnow()
    # A turned-off endpoint's events wait, in case staff turn it on again.
    working = select(WebhookEndpoint.id).where(WebhookEndpoint.disabled_at.is_(None))
    due = select(WebhookDelivery.id).where(
        WebhookDelivery.delivered_at.is_(None),
        WebhookDelivery.failed_at.is_(None),
        WebhookDelivery.next_attempt_at <= now,
        WebhookDelivery.endpoint_id.in_(working),
    )
    ids = db.session.scalars(
        due.order_by(WebhookDelivery.next_attempt_at).limit(limit).with_for_update(skip_locked=True)
    ).all()
    if not ids:
        db.session.rollback()
        return 0
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids))
        .values(next_attempt_at=now + LEASE)
    )
    db.session.commit()
    delivered = 0
    for delivery_id in ids:
        delivered += _attempt(delivery_id)
    return delivered


def _attempt(delivery_id: int) -> bool:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    sending = (endpoint.url, body, endpoint.secret, delivery.event, delivery.event_id)
    # No transaction held open while the partner answers (read everything first: after the
    # rollback, touching `endpoint` or `delivery` would load them again in a new one).
    db.session.rollback()
    status, error = _post(*sending)
    delivery = db.session.get(WebhookDelivery, delivery_id)
    endpoint_id = delivery.endpoint_id
    now = utcnow()
    delivery.attempts += 1
    delivery.last_status = status
    delivery.last_error = error[:500]
    this_endpoint = update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
    if status is not None and 200 <= status < 300:
        delivery.delivered_at = now
        db.session.execute(this_endpoint.values(failures=0, last_error=""))
        db.session.commit()
        return True
    # Counted by the database, not read and written back: workers failing against one
    # endpoint at the same moment each count.
    failures = db.session.scalar(
        this_endpoint.values(failures=WebhookEndpoint.failures + 1, last_error=error[:500])
        .returning(WebhookEndpoint.failures)
        .execution_options(synchronize_session=False)
    )
    if delivery.attempts >= ATTEMPTS:
        delivery.failed_at = now
    else:
        pause = min(FIRST_PAUSE * 2 ** (delivery.attempts - 1), LONGEST_PAUSE)
        delivery.next_attempt_at = now + pause
    if failures >= DISABLE_AFTER:
        turned_off = db.session.scalar(
            this_endpoint.where(WebhookEndpoint.disabled_at.is_(None))
            .values(disabled_at=now)
            .returning(WebhookEndpoint.url)
            .execution_options(synchronize_session=False)
        )
        if turned_off is not None:  # by this attempt, not another worker's
            audit.record(
                SYSTEM,
                "webhook_disabled",
                turned_off,
                {"failures": failures, "last_error": error[:500]},
            )
            log.warning("webhook endpoint %s turned off after %s failures", endpoint_id, failures)
    db.session.commit()
    return False


def _post(url: str, body: bytes, secret: str, event: str, event_id: str) -> tuple[int | None, str]:
    """POST one event: the answer's status, and what went wrong (empty on a 2xx).

    The whole exchange gets TIMEOUT_SECONDS, not each read of it: a server that trickles its
    answer out a byte at a time is cut off like one that never answers, so one partner's
    server cannot keep the webhooks waiting longer than that.
    """
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "RefugeesWelcome-Webhooks/1",
        "X-Petition-Event": event,
        "X-Petition-Event-Id": event_id,
        "X-Petition-Signature": sign(secret, body, int(time.time())),
    }
    # Endpoints are https:// (or plain http to this machine), checked when they are added.
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection = kind(parts.hostname or "", parts.port, timeout=TIMEOUT_SECONDS)
    except ValueError as exc:
        return None, str(exc)
    out_of_time = threading.Event()
    cut_off = threading.Timer(TIMEOUT_SECONDS, _hang_up, args=(connection, out_of_time))
    cut_off.start()
    try:
        connection.connect()
        if out_of_time.is_set():  # connecting took all the time there was
            raise TimeoutError
        connection.request("POST", path, body=body, headers=headers)
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        if out_of_time.is_set():
            return None, f"no answer within {TIMEOUT_SECONDS} s"
        return None, str(exc) or exc.__class__.__name__
    finally:
        cut_off.cancel()
        connection.close()
    return status, "" if 200 <= status < 300 else f"HTTP {status}"


def _hang_up(connection: http.client.HTTPConnection, out_of_time: threading.Event) -> None:
    """Time is up: close the connection under whatever read or write is waiting on it."""
    out_of_time.set()
    if connection.sock is not None:
        with suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)


def iso(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def recent_deliveries(endpoint_id: int, limit: int = 20) -> list[WebhookDelivery]:
    """An endpoint's latest deliveries, newest first (its delivery log)."""
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def resend(delivery_id: int, actor: Actor) -> WebhookDelivery:
    """Send an event again, with the same id (a receiver that has it drops it), at once."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    delivery.delivered_at = None
    delivery.failed_at = None
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    audit.record(actor, "webhook_resent", delivery.endpoint.url, {"event": delivery.event_id})
    db.session.commit()
    return delivery


def turn_on(endpoint_id: int, actor: Actor) -> WebhookEndpoint:
    """An endpoint turned off after failing, working again: its waiting events go out."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"no endpoint {endpoint_id}")
    endpoint.disabled_at = None
    endpoint.failures = 0
    audit.record(actor, "webhook_turned_on", endpoint.url)
    db.session.commit()
    return endpoint
