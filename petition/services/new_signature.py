"""Writing a new signature with everything it needs, in as few round trips as the database allows.

A new signature comes with two link tokens, a journal entry for the counts and its confirmation
email, all in one transaction. On PostgreSQL that is one statement (data-modifying CTEs), built
once; elsewhere, one statement per table. It is the hottest write there is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, insert, select, union_all

from petition.extensions import db
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
    "postcode",
    "country",
    "consent_updates",
    "consent_wording_id",
    "consented_at",
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
JOURNAL_COLUMNS = ("petition_id", "country", "state", "delta", "created_at")
OUTBOX_COLUMNS = (
    "kind",
    "to_address",
    "subject",
    "context",
    "created_at",
    "next_attempt_at",
    "attempts",
)


def _bound(table: Table, prefix: str, columns: tuple[str, ...]) -> list[Any]:
    return [bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in columns]


def _all_at_once() -> Any:
    new = (
        insert(SIGNATURES)
        .values(
            {
                name: param
                for name, param in zip(
                    SIGNATURE_COLUMNS, _bound(SIGNATURES, "s_", SIGNATURE_COLUMNS), strict=True
                )
            }
        )
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
        .values(
            {
                name: param
                for name, param in zip(
                    JOURNAL_COLUMNS, _bound(JOURNAL, "j_", JOURNAL_COLUMNS), strict=True
                )
            }
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
    return select(new.c.id).add_cte(tokens, journal, email)


_STATEMENT: Any = None


def insert_new_signature(
    signature: dict[str, Any],
    tokens: list[dict[str, Any]],
    journal: dict[str, Any],
    email: dict[str, Any],
) -> int:
    """Insert a signature and its tokens, journal entry and email; return the signature's id.

    Raises IntegrityError (and writes nothing) when the person has already signed.
    """
    if db.session.get_bind().dialect.name == "postgresql" and len(tokens) == 2:
        # One statement is one transaction already: with nothing else in this one, run it in
        # autocommit and save the BEGIN and COMMIT round trips.
        options = {} if db.session().in_transaction() else {"isolation_level": "AUTOCOMMIT"}
        connection = db.session.connection(execution_options=options)
        global _STATEMENT
        if _STATEMENT is None:
            _STATEMENT = _all_at_once()
        params = {f"s_{k}": signature[k] for k in SIGNATURE_COLUMNS}
        for i, token in enumerate(tokens, start=1):
            params.update({f"t{i}_{k}": token[k] for k in TOKEN_COLUMNS})
        params.update({f"j_{k}": journal[k] for k in JOURNAL_COLUMNS})
        params.update({f"o_{k}": email[k] for k in OUTBOX_COLUMNS})
        return connection.execute(_STATEMENT, params).scalar_one()
    connection = db.session.connection()
    signature_id = connection.execute(
        insert(SIGNATURES).returning(SIGNATURES.c.id), signature
    ).scalar_one()
    connection.execute(
        insert(TOKENS), [{**token, "signature_id": signature_id} for token in tokens]
    )
    connection.execute(insert(JOURNAL), journal)
    connection.execute(insert(OUTBOX), {**email, "signature_id": signature_id})
    return signature_id
