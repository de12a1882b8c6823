"""The suppression list: addresses that refused mail for good get no more campaign mail.

An address lands here when a mail server refuses it for good, while sending (a 5xx) or later, in
a bounce that comes back by mail (bounces.py). Campaign mail (bulk) is not sent to it again;
mail a reader asks for by acting (signing, asking for their data) still is, and when that gets
through the address comes off the list.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select

from petition.database import dialect_insert
from petition.extensions import db
from petition.models import Suppression, utcnow
from petition.security.email_hash import email_hash, email_hashes
from petition.services.addresses import canonical_email, masked_email


def suppressed(addresses: Iterable[str]) -> set[str]:
    """Which of these addresses are on the list (compared by mailbox, any spelling)."""
    by_hash: dict[str, str] = {}
    for address in addresses:
        for digest in email_hashes(canonical_email(address)):
            by_hash[digest] = address
    if not by_hash:
        return set()
    found = db.session.scalars(
        select(Suppression.address_hash).where(Suppression.address_hash.in_(by_hash))
    )
    return {by_hash[digest] for digest in found}


def suppress(address: str, reason: str, lane: int) -> None:
    """Put an address on the list, in the caller's transaction (once; the first reason stays)."""
    canonical = canonical_email(address)
    db.session.execute(
        dialect_insert(Suppression)
        .values(
            address_hash=email_hash(canonical),
            masked_address=masked_email(canonical),
            reason=reason[:500],
            lane=lane,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )


def lift(address: str) -> int:
    """Take an address off the list, in the caller's transaction; how many entries went."""
    hashes = email_hashes(canonical_email(address))
    result = db.session.execute(delete(Suppression).where(Suppression.address_hash.in_(hashes)))
    return result.rowcount or 0
