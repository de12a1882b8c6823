"""Delivering the outbox: small claims, a hold kept while sending, each message once.

A worker takes a few due messages at a time (transactional mail first), holding them for
OUTBOX_LEASE_SECONDS (petition.mail.holds): before each send it makes sure it still holds the
message, and a message whose hold passed to another worker is left to that worker. Each message
is marked as soon as it has gone. If the database goes away mid-batch, the worker remembers
what it sent and what it still held, and settles both as soon as the database answers again,
so the rest goes out within seconds, not at the end of a lease.
"""

from __future__ import annotations

import logging
import random
import secrets
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import Row, Table, bindparam, delete, exists, select, update
from sqlalchemy.exc import SQLAlchemyError

from petition.database import execute_alone
from petition.extensions import db
from petition.mail import bounces, suppression
from petition.mail.holds import KEEPER, RENEW_AFTER, Batch, renew
from petition.mail.message import Email, build_email
from petition.mail.outbox import KINDS
from petition.mail.sent_log import log_sent
from petition.mail.transport import MailConnection, PermanentFailure
from petition.models import Lane, OutboxMessage, utcnow
from petition.ops import metrics

log = logging.getLogger("petition.mail")

OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]
# How often a worker sending bulk mail looks for transactional mail that has come in.
TRANSACTIONAL_CHECK_SECONDS = 0.5
# How long to wait to connect, and for each answer up to the message's data, before trying
# again later; and for the answer to the data itself, which, once sent, may have been taken
# (RFC 5321's ten minutes: a retry after giving up early would send it twice). A send may take
# longer than a hold: the hold is kept while it waits (petition.mail.holds).
SMTP_TIMEOUT_SECONDS = 30.0
SMTP_DATA_TIMEOUT_SECONDS = 600.0


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    dropped: int = 0

    def __bool__(self) -> bool:
        return bool(self.sent or self.deferred or self.failed or self.dropped)

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.deferred += other.deferred
        self.failed += other.failed
        self.dropped += other.dropped


class RateLimiter:
    """A token bucket shared by a worker's threads: at most `rate` messages a second."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)  # at most a second's worth at once
        self._clock = clock
        self._tokens = self.capacity
        self._at = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def batch_size(self, limit: int) -> int:
        """How many messages to take for the next second of sending (at least one)."""
        return max(1, min(limit, int(self.capacity)))

    def wait(self) -> float:
        """Take a token, first waiting as long as needed; how long that was."""
        with self._lock:
            self._refill()
            self._tokens -= 1
            delay = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if delay:
            time.sleep(delay)
        return delay


@dataclass
class Drop:
    """A message not to send after all (the signer stopped updates, the mailing was stopped)."""

    reason: str


@dataclass
class Outgoing:
    """What a message will say and to whom, rendered only when it is sent."""

    to_address: str
    subject: str
    context: dict[str, Any]
    unsubscribe_url: str | None = None
    # On the suppression list, and sent anyway (a reader asked for it just now).
    suppressed: bool = False


class Deliverer:
    """Sends due mail; one per thread (it keeps what it must settle after a database fault).

    Once `stop` is set (the worker is asked to stop, e.g. for a deploy), it finishes the
    message it is sending and hands the rest of its batch back, due at once: nothing is cut off
    mid-send (to go twice once its hold ends), and nothing waits for a hold to end.
    """

    def __init__(
        self, bulk_rate: RateLimiter | None = None, stop: threading.Event | None = None
    ) -> None:
        self.bulk_rate = bulk_rate
        self.stop = stop or threading.Event()
        self._unsettled: list[Batch] = []

    def deliver_due(self, limit: int | None = None) -> DeliveryReport:
        """One batch of transactional mail; when that lane is clear, a batch of follow-up mail
        (receipts); when that is clear too, a batch of bulk mail."""
        config = current_app.config
        limit = limit or config["MAIL_BATCH_SIZE"]
        self._settle()
        report = DeliveryReport()
        taken = self._deliver(Lane.TRANSACTIONAL, limit, report)
        if taken < limit and not self.stop.is_set():
            taken += self._deliver(Lane.FOLLOW_UP, limit - taken, report)
        if taken < limit and not self.stop.is_set():
            bulk = self.bulk_rate.batch_size(limit) if self.bulk_rate else limit
            self._deliver(Lane.BULK, bulk, report)
        return report

    def _deliver(self, lane: Lane, limit: int, report: DeliveryReport) -> int:
        token = secrets.token_hex(16)
        try:
            batch = _claim(lane, limit, token)
        except SQLAlchemyError:
            # The claim may have been committed with no answer coming back: hand back
            # whatever that token holds once the database answers again.
            db.session.rollback()
            self._unsettled.append(Batch(token, lane, [], set(), 0.0))
            raise
        if batch is None:
            return 0
        try:
            self._send(batch, report)
        except SQLAlchemyError:
            db.session.rollback()
            self._unsettled.append(batch)
            raise
        return len(batch.rows)

    def _send(self, batch: Batch, report: DeliveryReport) -> None:
        outgoing = _prepare(batch.rows)
        # Mail nobody is waiting for makes way for mail somebody is; mailings keep a rate too.
        gives_way = batch.lane != Lane.TRANSACTIONAL
        bulk = batch.lane == Lane.BULK
        looked = time.monotonic()
        try:
            with (
                KEEPER.keeping(batch, db.engine, _lease()),
                MailConnection(
                    current_app.config["MAIL_URL"], SMTP_TIMEOUT_SECONDS, SMTP_DATA_TIMEOUT_SECONDS
                ) as connection,
            ):
                for row in batch.rows:
                    if self.stop.is_set():
                        break  # the rest of the batch is released below
                    if gives_way:
                        if bulk and self.bulk_rate:
                            self.bulk_rate.wait()
                        if time.monotonic() - looked >= TRANSACTIONAL_CHECK_SECONDS:
                            looked = time.monotonic()
                            if _transactional_waiting():
                                break  # the rest of the batch is released below
                    _renew_if_due(batch)
                    if row.id not in batch.held:
                        continue  # another worker holds it now
                    self._send_one(connection, batch, row, outgoing[row.id], report)
        except (OSError, smtplib.SMTPException) as exc:
            # The server is unreachable, or hung up: what is not sent yet waits for a retry.
            log.warning("mail server unavailable, will retry: %s", exc)
            for row in batch.rows:
                if row.id in batch.held:
                    _defer(batch, row, exc)
                    report.deferred += 1
        _release(batch)

    def _send_one(
        self,
        connection: MailConnection,
        batch: Batch,
        row: Row[Any],
        outgoing: Outgoing | Drop,
        report: DeliveryReport,
    ) -> None:
        if isinstance(outgoing, Drop):
            _drop(batch, row)
            report.dropped += 1
            return
        try:
            email = _build(row, outgoing)
        except Exception as exc:  # a template or data bug: no retry would fix it
            log.exception("mail %s (%s) could not be rendered", row.id, row.kind)
            _fail(batch, row, outgoing.to_address, f"internal error: {exc!r}")
            report.failed += 1
            return
        try:
            connection.send(email)
        except PermanentFailure as exc:
            log.warning("mail %s refused for good; address suppressed: %s", row.id, exc)
            _fail(batch, row, outgoing.to_address, str(exc), suppress=True)
            report.failed += 1
        except smtplib.SMTPResponseException as exc:
            # Refused for now (4xx), or for a reason that is not the reader's (a 5xx about us
            # or the message): this one waits for a retry; the connection is still good.
            if exc.smtp_code >= 500:
                log.warning(
                    "mail %s refused, not for its address; will retry: %s", row.id, _reason(exc)
                )
            _defer(batch, row, exc)
            report.deferred += 1
        else:
            batch.unmarked.add(row.id)
            log_sent(row.id, row.created_at)  # for `flask mark-sent` after a restore
            _mark_sent(batch, row, outgoing)
            batch.unmarked.discard(row.id)
            report.sent += 1

    def _settle(self) -> None:
        """After a database fault: mark what was sent, hand back what was still held."""
        while self._unsettled:
            batch = self._unsettled[0]
            if batch.unmarked:
                db.session.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id.in_(batch.unmarked), OUTBOX.c.sent_at.is_(None))
                    .values(sent_at=utcnow(), claim=None, context=None, last_error=None)
                )
            _release(batch, everything=True)
            self._unsettled.pop(0)


def deliver_due(limit: int | None = None) -> DeliveryReport:
    """Send what is due now, transactional mail first (one batch; call again for more)."""
    return Deliverer().deliver_due(limit)


def _lease() -> float:
    return float(current_app.config["OUTBOX_LEASE_SECONDS"])


def _still_due(now: datetime) -> tuple[Any, ...]:
    return (
        OUTBOX.c.sent_at.is_(None),
        OUTBOX.c.failed_at.is_(None),
        OUTBOX.c.next_attempt_at <= now,
    )


CLAIMED = (
    OUTBOX.c.id,
    OUTBOX.c.kind,
    OUTBOX.c.to_address,
    OUTBOX.c.subject,
    OUTBOX.c.context,
    OUTBOX.c.signature_id,
    OUTBOX.c.mailing_id,
    OUTBOX.c.attempts,
    OUTBOX.c.created_at,
)


def _claim(lane: Lane, limit: int, token: str) -> Batch | None:
    """Take up to `limit` due messages of a lane; None when there are none."""
    started = time.monotonic()
    statement = claim_statement(lane, limit, token, utcnow(), _lease())
    rows = db.session.execute(statement).all()
    if not rows:
        db.session.rollback()
        return None
    db.session.commit()
    rows.sort(key=lambda row: row.id)
    return Batch(token, lane, rows, {row.id for row in rows}, started)


def claim_statement(lane: Lane, limit: int, token: str, now: datetime, lease: float) -> Any:
    """The claim, whatever the planner thinks of the queue.

    On PostgreSQL the pick is a MATERIALIZED CTE (`… LIMIT n FOR UPDATE SKIP LOCKED`) that the
    update joins: it runs once, so a claim takes at most its batch. It walks the partial index of
    messages still due, in due order, and never reads a sent row or one another worker holds.
    """
    pick = (
        select(OUTBOX.c.id)
        .where(OUTBOX.c.lane == lane, *_still_due(now))
        .order_by(OUTBOX.c.next_attempt_at)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        picked = pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        claim = update(OUTBOX).where(OUTBOX.c.id == picked.c.id)
    else:  # one writer at a time: nobody can take the rows between the pick and the update
        claim = update(OUTBOX).where(OUTBOX.c.id.in_(pick.scalar_subquery()))
    lease_ends = now + timedelta(seconds=lease)
    return claim.values(claim=token, next_attempt_at=lease_ends).returning(*CLAIMED)


def _renew_if_due(batch: Batch) -> None:
    """Make sure the batch still holds its messages, renewing the hold now and then."""
    lease = _lease()
    if time.monotonic() - batch.renewed < RENEW_AFTER * lease:
        return
    with batch.renewing:
        renew(batch, db.session.connection(), lease)
        db.session.commit()


def _transactional_waiting() -> bool:
    found = db.session.scalar(
        select(exists().where(OUTBOX.c.lane == Lane.TRANSACTIONAL, *_still_due(utcnow())))
    )
    db.session.rollback()
    return bool(found)


def _prepare(rows: list[Row[Any]]) -> dict[int, Outgoing | Drop]:
    """Who each message goes to and what it says; a few queries for the whole batch.

    Most messages were written in full when queued. Some are decided as they are sent, by the
    service that owns them: campaign mail (does the signer still want it?), privacy links (is
    there anything to show?), a signer's second go (what is their signature now?).
    """
    # The services that own these kinds of email, and call us to send them.
    from petition.services import mailings, privacy, signing

    prepared: dict[int, Outgoing | Drop] = {}
    for resolve in (mailings.outgoing, privacy.outgoing, signing.outgoing):
        prepared.update(resolve(rows))
    for row in rows:
        if row.id not in prepared:
            prepared[row.id] = Outgoing(
                row.to_address or "", row.subject or "", dict(row.context or {})
            )
    blocked = suppression.suppressed(
        o.to_address for o in prepared.values() if isinstance(o, Outgoing)
    )
    for row in rows:
        outgoing = prepared[row.id]
        if isinstance(outgoing, Outgoing) and outgoing.to_address in blocked:
            kind = KINDS.get(row.kind)
            if kind and kind.despite_suppression:
                outgoing.suppressed = True
            else:
                prepared[row.id] = Drop("the address refused mail before")
    db.session.rollback()
    return prepared


def _build(row: Row[Any], outgoing: Outgoing) -> Email:
    if row.kind not in KINDS:
        raise LookupError(f"no such kind of email: {row.kind!r}")
    returns_to = None
    if current_app.config["MAIL_BOUNCE_ADDRESS"]:
        returns_to = bounces.return_path(outgoing.to_address, KINDS[row.kind].lane)
    return build_email(
        message_id=row.id,
        kind=row.kind,
        to_address=outgoing.to_address,
        subject=outgoing.subject,
        context=outgoing.context,
        unsubscribe_url=outgoing.unsubscribe_url,
        envelope_sender=returns_to,
    )


def _finish(batch: Batch, row: Row[Any], outcome: str, **values: object) -> None:
    """Record what became of a message, in a statement of its own (one round trip each)."""
    metrics.MAIL.labels(batch.lane.name.lower(), outcome).inc()
    params = {f"set_{column}": value for column, value in values.items()}
    params.update(message_id=row.id, held_by=batch.token)
    execute_alone(_outcome(tuple(sorted(values))), params)
    batch.held.discard(row.id)


@cache
def _outcome(columns: tuple[str, ...]) -> Any:
    """The UPDATE recording a message's outcome in `columns`, built once per set of columns
    (hundreds a second: building and re-keying a statement costs more than sending it)."""
    return (
        update(OUTBOX)
        .where(OUTBOX.c.id == bindparam("message_id"), OUTBOX.c.claim == bindparam("held_by"))
        .values(claim=None, **{column: bindparam(f"set_{column}") for column in columns})
    )


def _mark_sent(batch: Batch, row: Row[Any], outgoing: Outgoing) -> None:
    if outgoing.suppressed:
        suppression.lift(outgoing.to_address)  # it takes mail again
        db.session.commit()
    # The links in a sent message are secrets the signer now holds: we keep no copy.
    _finish(batch, row, "sent", sent_at=utcnow(), context=None, last_error=None)


def _fail(batch: Batch, row: Row[Any], address: str, error: str, suppress: bool = False) -> None:
    if suppress and address:
        suppression.suppress(address, error, KINDS[row.kind].lane if row.kind in KINDS else 0)
        db.session.commit()
    _finish(
        batch,
        row,
        "failed",
        failed_at=utcnow(),
        context=None,
        last_error=error[:500],
        to_address=address,
    )


def _drop(batch: Batch, row: Row[Any]) -> None:
    metrics.MAIL.labels(batch.lane.name.lower(), "dropped").inc()
    db.session.execute(delete(OUTBOX).where(OUTBOX.c.id == row.id, OUTBOX.c.claim == batch.token))
    db.session.commit()
    batch.held.discard(row.id)


def _reason(exc: BaseException) -> str:
    """An SMTP answer as the server gave it ("451 4.7.1 Greylisted"); anything else as it says."""
    if isinstance(exc, smtplib.SMTPResponseException):
        answer = exc.smtp_error
        text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
        return f"{exc.smtp_code} {text}"
    return str(exc)


def _defer(batch: Batch, row: Row[Any], exc: BaseException) -> None:
    attempts = row.attempts + 1
    now = utcnow()
    give_up = row.created_at + timedelta(hours=current_app.config["MAIL_GIVE_UP_HOURS"])
    error = _reason(exc)[:500] or exc.__class__.__name__
    if now >= give_up:
        _fail(batch, row, row.to_address or "", f"gave up after {attempts} attempts: {error}")
        return
    _finish(
        batch,
        row,
        "deferred",
        attempts=attempts,
        next_attempt_at=next_attempt(now, attempts),
        last_error=error,
    )


def _release(batch: Batch, everything: bool = False) -> None:
    """Hand back what the batch still holds, due at once (nothing was attempted).

    After a database fault the batch cannot know what it holds: `everything` its token names.
    """
    if batch.held or everything:
        db.session.execute(
            update(OUTBOX)
            .where(
                OUTBOX.c.claim == batch.token,
                OUTBOX.c.sent_at.is_(None),
                OUTBOX.c.failed_at.is_(None),
            )
            .values(claim=None, next_attempt_at=utcnow())
        )
    db.session.commit()
    batch.held.clear()


def next_attempt(now: datetime, attempts: int) -> datetime:
    """Exponential backoff with jitter, capped so mail flows soon after a server returns."""
    base = current_app.config["MAIL_RETRY_BASE_SECONDS"]
    delay = min(base * 2 ** (attempts - 1), current_app.config["MAIL_RETRY_MAX_SECONDS"])
    # Jitter spreads retries out; it protects nothing, so a plain PRNG is right here.
    return now + timedelta(seconds=delay * random.uniform(0.8, 1.2))  # nosec B311
