"""Published digests of each petition's count: a hash chain anyone holding a receipt can check.

Every receipt entering the count (a signer confirming, a signature restored) and leaving it (a
withdrawal, an invalidation) is appended to `receipt_entries` as it happens. Once an hour each
petition with new entries gets a digest: a short text naming the petition, the digest's number
and time, the previous digest's hash and the count of receipts after it, then one line per entry
(`+` or `-` and the receipt's SHA-256), hashed with SHA-256. The text is published as it is
hashed, so anyone can recompute the hash, follow the chain back, and find their own receipt's
line. Nothing is ever edited: a withdrawal is a later `-` line.

`verify` (the `verify-digests` command) recomputes every digest from the database and compares
what the chain says is counted with the signatures that are counted now.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, null, select, union_all, update

from petition.extensions import db
from petition.models import (
    CountDigest,
    Petition,
    ReceiptEntry,
    Signature,
    SignatureState,
    utcnow,
)
from petition.services import counting
from petition.services.errors import NotFound

EVERY = timedelta(hours=1)
MAX_NUMBER = 2**31 - 1  # the column's range
GENESIS = "0" * 64
HEADER = "Refugees Welcome count digest"


def publish_due(now: datetime | None = None, every: timedelta = EVERY) -> int:
    """Publish a digest for each petition with new receipt entries whose last digest is at
    least `every` old; how many were published."""
    now = now or utcnow()
    waiting = db.session.scalars(
        select(ReceiptEntry.petition_id).where(ReceiptEntry.digest_id.is_(None)).distinct()
    ).all()
    db.session.rollback()
    return sum(_publish(petition_id, now, every) for petition_id in sorted(waiting))


def _publish(petition_id: int, now: datetime, every: timedelta) -> bool:
    # One publisher at a time, and no fold adding entries meanwhile (see counting.FLUSH_LOCK).
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(counting.FLUSH_LOCK)))
    petition = db.session.get(Petition, petition_id, with_for_update=True)
    last = _last(petition_id)
    if petition is None or (last is not None and now - last.published_at < every):
        db.session.rollback()
        return False
    entries = db.session.execute(
        select(ReceiptEntry.id, ReceiptEntry.delta, ReceiptEntry.receipt_hash)
        .where(ReceiptEntry.petition_id == petition_id, ReceiptEntry.digest_id.is_(None))
        .order_by(ReceiptEntry.id)
    ).all()
    if not entries:
        db.session.rollback()
        return False
    added = sum(1 for e in entries if e.delta > 0)
    removed = len(entries) - added
    digest = CountDigest(
        petition_id=petition_id,
        number=(last.number + 1) if last else 1,
        published_at=now,
        added=added,
        removed=removed,
        counted=(last.counted if last else 0) + added - removed,
        previous=last.digest if last else GENESIS,
        digest="",
    )
    digest.digest = _hash(digest_lines(digest, petition.slug, entries))
    db.session.add(digest)
    db.session.flush()
    db.session.execute(
        update(ReceiptEntry)
        .where(
            ReceiptEntry.petition_id == petition_id,
            ReceiptEntry.digest_id.is_(None),
            ReceiptEntry.id <= entries[-1].id,
        )
        .values(digest_id=digest.id)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return True


def _last(petition_id: int) -> CountDigest | None:
    return db.session.scalar(
        select(CountDigest)
        .where(CountDigest.petition_id == petition_id)
        .order_by(CountDigest.number.desc())
        .limit(1)
    )


def digest_lines(digest: CountDigest, slug: str, entries: Iterable[Any]) -> Iterator[str]:
    """The published text of a digest, line by line (each ends with a newline)."""
    yield f"{HEADER}\n"
    yield f"petition: {slug}\n"
    yield f"number: {digest.number}\n"
    yield f"published: {digest.published_at.isoformat()}\n"
    yield f"previous: {digest.previous}\n"
    yield f"counted: {digest.counted}\n"
    for entry in entries:
        yield f"{'+' if entry.delta > 0 else '-'}{entry.receipt_hash}\n"


def _hash(lines: Iterator[str]) -> str:
    sha = hashlib.sha256()
    for line in lines:
        sha.update(line.encode())
    return sha.hexdigest()


def published_text(slug: str, number: int) -> Iterator[str]:
    """A published digest's text, exactly as hashed (streamed: an hour may hold many lines)."""
    if not 1 <= number <= MAX_NUMBER:
        raise NotFound(f"no digest {number} of {slug!r}")
    petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
    digest = petition and db.session.scalar(
        select(CountDigest).where(
            CountDigest.petition_id == petition.id, CountDigest.number == number
        )
    )
    if petition is None or digest is None:
        raise NotFound(f"no digest {number} of {slug!r}")
    return digest_lines(digest, slug, _entries_of(digest.id))


def _entries_of(digest_id: int) -> Iterable[Any]:
    return db.session.execute(
        select(ReceiptEntry.delta, ReceiptEntry.receipt_hash)
        .where(ReceiptEntry.digest_id == digest_id)
        .order_by(ReceiptEntry.id)
        .execution_options(yield_per=10_000)
    )


def first_digest_with(receipt_hash: str) -> int | None:
    """The number of the digest that first counted this receipt, if one has yet."""
    return db.session.scalar(
        select(func.min(CountDigest.number))
        .join(ReceiptEntry, ReceiptEntry.digest_id == CountDigest.id)
        .where(ReceiptEntry.receipt_hash == receipt_hash, ReceiptEntry.delta > 0)
    )


@dataclass
class Verification:
    digests: int = 0
    receipts: int = 0
    problems: list[str] = field(default_factory=list)


def verify() -> Verification:
    """Recompute every published digest and compare the chain with the signatures counted.

    One snapshot (REPEATABLE READ on PostgreSQL) sees each signature and its receipt entry
    together (they are written by one transaction), so signing going on meanwhile is never
    mistaken for tampering.
    """
    while counting.flush_counts():
        pass
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    result = Verification()
    for petition in db.session.scalars(select(Petition).order_by(Petition.id)).all():
        numbers = _check_chain(petition, result)
        _check_signatures(petition, numbers, result)
    db.session.rollback()
    return result


def _check_chain(petition: Petition, result: Verification) -> dict[int, int]:
    """Recompute each digest of `petition`; digest ids → numbers."""
    previous, counted, numbers = GENESIS, 0, {}
    digests = db.session.scalars(
        select(CountDigest)
        .where(CountDigest.petition_id == petition.id)
        .order_by(CountDigest.number)
    ).all()
    for expected_number, digest in enumerate(digests, start=1):
        result.digests += 1
        numbers[digest.id] = digest.number
        where = f"{petition.slug}: digest {digest.number}"
        if digest.number != expected_number:
            result.problems.append(f"{where}: digest {expected_number} is missing")
        if digest.previous != previous:
            result.problems.append(f"{where}: does not follow the digest before it")
        entries = list(_entries_of(digest.id))
        added = sum(1 for e in entries if e.delta > 0)
        if (added, len(entries) - added) != (digest.added, digest.removed) or (
            digest.counted != counted + digest.added - digest.removed
        ):
            result.problems.append(f"{where}: its figures do not add up")
        if _hash(digest_lines(digest, petition.slug, entries)) != digest.digest:
            result.problems.append(f"{where}: its receipts are not the ones published")
        previous, counted = digest.digest, digest.counted
    return numbers


def _check_signatures(petition: Petition, numbers: dict[int, int], result: Verification) -> None:
    """Every receipt the chain counts belongs to a counted signature of this petition, and
    every counted signature with a receipt is in the chain (or in the journal, on its way)."""
    journal = counting.JOURNAL
    entries = union_all(
        select(ReceiptEntry.receipt_hash, ReceiptEntry.delta, ReceiptEntry.digest_id).where(
            ReceiptEntry.petition_id == petition.id
        ),
        select(journal.c.receipt_hash, journal.c.delta, null()).where(
            journal.c.petition_id == petition.id, journal.c.state == counting.RECEIPT
        ),
    ).subquery()
    net = (
        select(
            entries.c.receipt_hash.label("receipt_hash"),
            func.sum(entries.c.delta).label("net"),
            func.max(entries.c.digest_id).label("digest_id"),
        )
        .group_by(entries.c.receipt_hash)
        .subquery()
    )
    counted = (
        select(Signature.id, Signature.receipt_hash)
        .where(
            Signature.petition_id == petition.id,
            Signature.state == SignatureState.CONFIRMED,
            Signature.receipt_hash.is_not(None),
        )
        .subquery()
    )
    result.receipts += db.session.scalar(select(func.count()).where(net.c.net == 1)) or 0
    for receipt_hash, n, digest_id in db.session.execute(
        select(net.c.receipt_hash, net.c.net, net.c.digest_id)
        .outerjoin(counted, counted.c.receipt_hash == net.c.receipt_hash)
        .where(net.c.net != 0, counted.c.id.is_(None))
    ):
        result.problems.append(
            f"{petition.slug}: {_published_in(digest_id, numbers)} counts receipt "
            f"{receipt_hash[:12]}…, but no counted signature has it now"
            + ("" if n == 1 else f" (entered {n} times more than it left)")
        )
    for signature_id, receipt_hash in db.session.execute(
        select(counted.c.id, counted.c.receipt_hash)
        .outerjoin(net, net.c.receipt_hash == counted.c.receipt_hash)
        .where(func.coalesce(net.c.net, 0) != 1)
    ):
        result.problems.append(
            f"{petition.slug}: signature {signature_id} is counted, but its receipt "
            f"{receipt_hash[:12]}… is in no digest"
        )


def _published_in(digest_id: int | None, numbers: dict[int, int]) -> str:
    if digest_id is None:
        return "an unpublished entry"
    return f"digest {numbers.get(digest_id, '?')}"
