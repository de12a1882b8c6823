"""Writing a new signature with everything it needs, in as few round trips as the database allows.

A new signature comes with two link tokens, a journal entry for the counts and its confirmation
email, all in one transaction. On PostgreSQL that is one statement (data-modifying CTEs),
compiled once by SQLAlchemy and sent through the driver in autocommit; elsewhere, one statement
per table in the session. It is the hottest write there is.

An address that has already signed takes the same statement: the signature's insert does
nothing on the conflict, and a request to tell its owner is queued instead (the worker works out
what to say), with the journal's note of one more turned away. Both answers cost one round trip
and write to the same tables, so timing tells nobody who has signed.
"""

from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any

import psycopg
from flask import current_app
from psycopg.types.json import Json
from sqlalchemy import Table, bindparam, exists, insert, select, union_all
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.exc import DBAPIError, IntegrityError

from petition.extensions import db
from petition.mail import mark_queued, wake_deliverer
from petition.mail.outbox import OUTBOX_COLUMNS
from petition.models import CountJournalEntry, OutboxMessage, Signature, SignatureToken

SIGNATURES: Table = Signature.__table__  # type: ignore[assignment]
TOKENS: Table = SignatureToken.__table__  # type: ignore[assignment]
JOURNAL: Table = CountJournalEntry.__table__  # type: ignore[assignment]
OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]

SIGNATURE_COLUMNS = (
    "state",
    "duplicate_notices",
    "petition_id",
    "name",
    "email",
    "canonical_email",
    "email_hash",
    "email_domain",
    "postcode",
    "country",
    "consent_updates",
    "consent_wording_id",
    "consented_at",
    "show_publicly",
    "language",
    "partner_id",
    "partner_wording_id",
    "partner_consented_at",
    "source",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "ip_address",
    "created_at",
    "updated_at",
)
TOKEN_COLUMNS = ("purpose", "token_hash", "created_at", "expires_at")
JOURNAL_COLUMNS = ("petition_id", "country", "state", "delta", "new_signature", "created_at")
EVENT_COLUMNS = (*JOURNAL_COLUMNS, "receipt_hash")


def _bound(table: Table, prefix: str, columns: tuple[str, ...]) -> list[Any]:
    return [bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in columns]


def _all_at_once() -> Any:
    new = (
        postgresql.insert(SIGNATURES)
        .values(
            dict(zip(SIGNATURE_COLUMNS, _bound(SIGNATURES, "s_", SIGNATURE_COLUMNS), strict=True))
        )
        .on_conflict_do_nothing(index_elements=["petition_id", "email_hash"])
        .returning(SIGNATURES.c.id)
        .cte("new_signature")
    )
    tokens = (
        insert(TOKENS)
        .from_select(
            ["signature_id", *TOKEN_COLUMNS],
            union_all(
                *(select(new.c.id, *_bound(TOKENS, f"t{i}_", TOKEN_COLUMNS)) for i in (1, 2))
            ),
        )
        .cte("new_tokens")
    )
    journal = (
        insert(JOURNAL)
        .from_select(
            list(JOURNAL_COLUMNS),
            select(*_bound(JOURNAL, "j_", JOURNAL_COLUMNS)).select_from(new),
        )
        .cte("new_journal")
    )
    email = (
        insert(OUTBOX)
        .from_select(
            ["signature_id", *OUTBOX_COLUMNS],
            select(new.c.id, *_bound(OUTBOX, "o_", OUTBOX_COLUMNS)),
        )
        .cte("new_email")
    )
    signed_before = ~exists(select(new.c.id))
    notice = (
        insert(OUTBOX)
        .from_select(
            list(OUTBOX_COLUMNS),
            select(*_bound(OUTBOX, "n_", OUTBOX_COLUMNS)).where(signed_before),
        )
        .cte("notice")
    )
    duplicate = (
        insert(JOURNAL)
        .from_select(
            list(EVENT_COLUMNS),
            select(*_bound(JOURNAL, "d_", EVENT_COLUMNS)).where(signed_before),
        )
        .cte("duplicate")
    )
    return select(new.c.id).add_cte(tokens, journal, email, notice, duplicate)


@dataclass(frozen=True)
class NewSignature:
    """The rows of a new signature: written together, or (the address has signed) only
    `notice` (the request to tell its owner) and `duplicate` (the journal's "turned away").
    A signature a trusted partner confirmed itself has no links and no email (`email` None):
    it is confirmed in the same transaction (signing.record_for_partner)."""

    signature: dict[str, Any]
    tokens: list[dict[str, Any]]
    journal: dict[str, Any]
    email: dict[str, Any] | None
    notice: dict[str, Any]
    duplicate: dict[str, Any]


def insert_new_signature(new: NewSignature, commit: bool = True) -> int | None:
    """Insert and commit a new signature's rows; its id, or None when the address had signed.
    With `commit` False the rows wait in the session's transaction for the caller's commit."""
    started = time.perf_counter()
    one_statement = len(new.tokens) == 2 and new.email is not None and not _session_busy()
    if db.engine.dialect.name == "postgresql" and one_statement:
        signature_id = _in_one_statement(_driver_values(new))
    else:
        signature_id = _in_steps(new, commit)
    NEW_SIGNATURE_TIME.even_out(time.perf_counter() - started, new=signature_id is not None)
    return signature_id


class TypicalTime:
    """How long writing a new signature takes here, lately (an exponential moving average).

    Writing a new signature costs the database more than turning a repeat away (five rows and
    their indexes against two rows). The repeat's answer waits out the difference, so the time
    an answer takes says nothing about whether an address has signed. The wait is short (a
    millisecond or two) and only repeats pay it.
    """

    WEIGHT = 0.05  # each new signature moves the average this far towards itself
    MAX_WAIT = 0.05

    def __init__(self) -> None:
        self.seconds: float | None = None

    def even_out(self, took: float, new: bool) -> None:
        if new:
            typical = self.seconds
            self.seconds = took if typical is None else typical + self.WEIGHT * (took - typical)
        elif self.seconds is not None and took < self.seconds:
            time.sleep(min(self.seconds - took, self.MAX_WAIT))


NEW_SIGNATURE_TIME = TypicalTime()


def _in_steps(new: NewSignature, commit: bool = True) -> int | None:
    """The same writes, one statement per table, in the session's transaction."""
    connection = db.session.connection()
    try:
        signature_id = connection.execute(
            insert(SIGNATURES).returning(SIGNATURES.c.id), new.signature
        ).scalar_one()
        if new.tokens:
            connection.execute(
                insert(TOKENS), [{**token, "signature_id": signature_id} for token in new.tokens]
            )
        connection.execute(insert(JOURNAL), new.journal)
        if new.email is not None:
            connection.execute(insert(OUTBOX), {**new.email, "signature_id": signature_id})
    except IntegrityError:
        db.session.rollback()
        db.session.connection().execute(insert(OUTBOX), new.notice)
        db.session.connection().execute(insert(JOURNAL), new.duplicate)
        signature_id = None
    mark_queued()
    if commit:
        db.session.commit()
    return signature_id


def _session_busy() -> bool:
    """True when this request's session holds an open transaction the insert must join."""
    return db.session.registry.has() and db.session().in_transaction()


@cache
def _statement() -> tuple[bytes, tuple[str, ...]]:
    """The one statement as PostgreSQL text with its own placeholders ($1, $2, …), already
    encoded, and the parameters' names in that order: the driver sends it as it is."""
    compiled = _all_at_once().compile(dialect=PGDialect_psycopg(paramstyle="numeric_dollar"))
    return compiled.string.encode(), tuple(compiled.positiontup or ())


def _driver_values(new: NewSignature) -> list[Any]:
    """The statement's parameters, in order, as the driver takes them."""
    if len(new.signature) != len(SIGNATURE_COLUMNS):  # a column added here but not there
        raise ValueError(f"signature columns differ: {sorted(new.signature)}")
    named = {f"s_{k}": new.signature[k] for k in SIGNATURE_COLUMNS}
    for i, token in enumerate(new.tokens, start=1):
        named.update({f"t{i}_{k}": token[k] for k in TOKEN_COLUMNS})
    named.update({f"j_{k}": new.journal[k] for k in JOURNAL_COLUMNS})
    named.update({f"o_{k}": new.email[k] for k in OUTBOX_COLUMNS})
    named.update({f"n_{k}": new.notice[k] for k in OUTBOX_COLUMNS})
    named.update({f"d_{k}": new.duplicate[k] for k in EVENT_COLUMNS})
    named["o_context"] = Json(named["o_context"])
    named["n_context"] = Json(named["n_context"])
    values = [named[name] for name in _statement()[1]]
    return [value.value if isinstance(value, Enum) else value for value in values]


def _in_one_statement(values: list[Any]) -> int | None:
    """Run the statement in autocommit on a pooled connection, straight through the driver.

    This is the hottest write there is: one statement is one transaction already, so there is
    no BEGIN or COMMIT to send and no ORM session to keep. Driver errors are raised as
    SQLAlchemy's, as everywhere else (a lost connection answers 503).
    """
    sql = _statement()[0]
    try:
        pooled = db.engine.raw_connection()
    except psycopg.Error as exc:
        raise _wrapped(exc, sql, invalidated=False) from exc
    try:
        driver = pooled.driver_connection
        driver.autocommit = True
        try:
            prepare = current_app.config["DB_PREPARE"]
            # A raw cursor: the text already has PostgreSQL's placeholders, so the driver
            # skips splitting 2 KB of SQL on every signature (it caches no statement with
            # more than 50 parameters, and this one has more).
            cursor = psycopg.RawCursor(driver)
            row = cursor.execute(sql, values, prepare=prepare).fetchone()
        finally:
            # Back to the pool's mode. A connection that broke mid-statement cannot be reset:
            # the error that broke it is the one to report (it answers 503), and it is dropped.
            with suppress(psycopg.Error):
                driver.autocommit = False
    except psycopg.Error as exc:
        lost = db.engine.dialect.is_disconnect(exc, driver, None)
        if lost:
            pooled.invalidate(exc)
        raise _wrapped(exc, sql, invalidated=lost) from exc
    finally:
        pooled.close()
    wake_deliverer()
    return row[0] if row is not None else None


def _wrapped(exc: psycopg.Error, sql: bytes, invalidated: bool) -> BaseException:
    return DBAPIError.instance(
        sql.decode(),
        None,
        exc,
        psycopg.Error,
        hide_parameters=True,
        connection_invalidated=invalidated,
    )
