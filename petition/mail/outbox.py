"""The outbox: mail is queued inside the caller's transaction and delivered afterwards."""

from __future__ import annotations

import logging
import random
import secrets
import smtplib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from flask import current_app, render_template
from sqlalchemy import event, insert, or_, select, update
from sqlalchemy.orm import Session

from petition.extensions import db
from petition.mail.transport import MailConnection, PermanentFailure
from petition.models import OutboxMessage, utcnow
from petition.security.stop_links import stop_token
from petition.urls import external_url

log = logging.getLogger("petition.mail")

LEASE = timedelta(minutes=5)
INSERT_MESSAGE = insert(OutboxMessage.__table__)
# Kinds sent to every signer who asked for campaign updates. Each carries its signer's link to
# stop them, in the text and in the headers mail programs turn into an "Unsubscribe" button
# (RFC 2369, and RFC 8058's one-click POST).
NEWS = "news"  # petition news that staff choose to email
MAILINGS = frozenset({NEWS})

# Set once mail has been committed, so a waiting deliverer sends it straight away.
mail_waiting = threading.Event()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop("mail_queued", False):
        wake_deliverer()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("mail_queued", None)


def compose_email(template: str, to_address: str, subject: str, **context: Any) -> dict[str, Any]:
    """An outbox row for `emails/<template>.txt` and `.html`, rendered when it is sent."""
    now = utcnow()
    return {
        "kind": template,
        "to_address": to_address,
        "subject": " ".join(subject.split())[:200],
        "context": context,
        "created_at": now,
        "next_attempt_at": now,
        "attempts": 0,
    }


def queue_email(
    template: str,
    to_address: str,
    subject: str,
    *,
    signature_id: int | None = None,
    **context: Any,
) -> None:
    """Put an email in the outbox, in the caller's transaction."""
    row = compose_email(template, to_address, subject, **context)
    db.session.connection().execute(INSERT_MESSAGE, {**row, "signature_id": signature_id})
    mark_queued()


def wake_deliverer() -> None:
    """Tell a waiting deliverer that committed mail is there to send."""
    mail_waiting.set()


def mark_queued() -> None:
    """Wake the deliverer once the caller's transaction commits."""
    db.session.info["mail_queued"] = True


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0

    def __bool__(self) -> bool:
        return bool(self.sent or self.deferred or self.failed)


def deliver_due(limit: int = 20) -> DeliveryReport:
    """Send the mail that is due; safe to run in several processes at once.

    Each process claims a batch for a while (rows another holds are skipped), sends, and marks
    each message sent as soon as it has gone. A process that dies mid-batch leaves its claim to
    expire, and the rest of the batch is sent by whoever comes next.
    """
    report = DeliveryReport()
    claim, messages = _claim(limit)
    if not messages:
        return report
    try:
        with MailConnection(current_app.config["MAIL_URL"]) as connection:
            for message in messages:
                try:
                    connection.send(_to_email(message))
                except PermanentFailure as exc:
                    _mark_failed(message, claim, str(exc))
                    report.failed += 1
                except (OSError, smtplib.SMTPException) as exc:
                    _defer(message, claim, exc)
                    report.deferred += 1
                else:
                    _mark_sent(message, claim)
                    report.sent += 1
    except (OSError, smtplib.SMTPException) as exc:
        # The server is unreachable: everything not yet sent waits for the next attempt.
        log.warning(
            "mail server unavailable, %d message(s) will be retried: %s", len(messages), exc
        )
        for message in messages:
            if message.sent_at is None and message.failed_at is None:
                _defer(message, claim, exc)
                report.deferred += 1
    return report


def _claim(limit: int) -> tuple[str, list[OutboxMessage]]:
    now = utcnow()
    claim = secrets.token_hex(16)
    due = (
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.failed_at.is_(None),
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )
    candidates = (
        select(OutboxMessage.id)
        .where(*due)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(candidates), *due)
        .values(claim=claim, claimed_until=now + LEASE)
    )
    if not result.rowcount:
        db.session.rollback()
        return claim, []
    db.session.commit()
    messages = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.claim == claim).order_by(OutboxMessage.id)
    ).all()
    return claim, list(messages)


def _to_email(message: OutboxMessage) -> EmailMessage:
    config = current_app.config
    sender_name, sender = parseaddr(config["MAIL_FROM"])
    email = EmailMessage()
    email["From"] = Address(display_name=sender_name, addr_spec=sender)
    email["To"] = Address(addr_spec=message.to_address)
    email["Subject"] = message.subject
    email["Date"] = format_datetime(utcnow())
    # The same id on any resend, so a mailbox can drop a duplicate after a crash.
    email["Message-ID"] = f"<outbox.{message.id}@{sender.rpartition('@')[2] or 'localhost'}>"
    email["Auto-Submitted"] = "auto-generated"
    context = dict(message.context or {})
    if message.kind in MAILINGS:
        if message.signature_id is None:
            raise PermanentFailure("the signer's signature is gone")
        stop_url = external_url("public.stop_updates_link", token=stop_token(message.signature_id))
        context["stop_updates_url"] = stop_url
        email["List-Unsubscribe"] = f"<{stop_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(render_template(f"emails/{message.kind}.txt", **context))
    email.add_alternative(
        render_template(f"emails/{message.kind}.html", subject=message.subject, **context),
        subtype="html",
    )
    return email


def _finish(message: OutboxMessage, claim: str, **values: object) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.claim == claim)
        .values(claim=None, claimed_until=None, **values)
    )
    db.session.commit()


def _mark_sent(message: OutboxMessage, claim: str) -> None:
    # The links in a sent message are secrets the signer now holds: we keep no copy.
    _finish(message, claim, sent_at=utcnow(), context=None, last_error=None)


def _mark_failed(message: OutboxMessage, claim: str, error: str) -> None:
    log.error("mail %s refused for good: %s", message.id, error)
    _finish(message, claim, failed_at=utcnow(), context=None, last_error=error[:500])


def _defer(message: OutboxMessage, claim: str, exc: BaseException) -> None:
    attempts = message.attempts + 1
    now = utcnow()
    give_up = message.created_at + timedelta(hours=current_app.config["MAIL_GIVE_UP_HOURS"])
    if now >= give_up:
        _mark_failed(message, claim, f"gave up after {attempts} attempts: {exc}")
        return
    _finish(
        message,
        claim,
        attempts=attempts,
        next_attempt_at=next_attempt(now, attempts),
        last_error=str(exc)[:500] or exc.__class__.__name__,
    )


def next_attempt(now: datetime, attempts: int) -> datetime:
    """Exponential backoff with jitter, capped so mail flows soon after a server returns."""
    base = current_app.config["MAIL_RETRY_BASE_SECONDS"]
    delay = min(base * 2 ** (attempts - 1), current_app.config["MAIL_RETRY_MAX_SECONDS"])
    # Jitter spreads retries out; it protects nothing, so a plain PRNG is right here.
    return now + timedelta(seconds=delay * random.uniform(0.8, 1.2))  # nosec B311
