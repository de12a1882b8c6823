"""Counting: a journal written with every change, folded into stored counts in batches."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    Update,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import OperationalError

from petition.database import add_to_tally, dialect_insert
from petition.extensions import db
from petition.mail.outbox import INSERT_MESSAGE, OUTBOX_COLUMNS, mark_queued
from petition.models import (
    MILESTONES,
    CountJournalEntry,
    OutboxMessage,
    Petition,
    PetitionCountryCount,
    PetitionCountryDay,
    PetitionHour,
    PetitionMilestone,
    PetitionState,
    PetitionTally,
    ReceiptEntry,
    Signature,
    SignatureState,
    utcnow,
)
from petition.services import webhooks
from petition.services.campaigns import forget_petitions
from petition.services.errors import NotFound

JOURNAL = CountJournalEntry.__table__
INSERT_JOURNAL = insert(JOURNAL)
JOURNAL_COLUMNS = (
    "petition_id",
    "country",
    "state",
    "delta",
    "new_signature",
    "created_at",
    "receipt_hash",
)

# Journal entries that count events rather than move signatures between states: each is folded
# into a tally of its name (PetitionTally), except RECEIPT, which enters or leaves a receipt in
# the count (ReceiptEntry, from which the published digests are made).
RECEIPT = "receipt"
DUPLICATE = "duplicate"  # someone signed again with an address that has signed
REMINDED = "reminded"  # a reminder to confirm went out
REMINDED_CONFIRMED = "reminded_ok"  # a signature was confirmed after its reminder
EXPIRED = "expired"  # an unconfirmed signature deleted by retention
REPLACED = "replaced"  # an unconfirmed signature its signer replaced (a mistyped address)
# + the category: an invalidation entering (+1) or leaving (-1). A recount works these out
# again from the signatures; the other tallies count events that leave no lasting trace on a
# signature, so a recount leaves them as they are.
INVALIDATED_AS = "inv:"

# could_not_serialize and deadlock_detected: safe to retry from the start.
SERIALIZATION_FAILURES = {"40001", "40P01"}

STATES = {state.value for state in SignatureState}
COUNT_COLUMNS = {
    SignatureState.CONFIRMED: "confirmed_count",
    SignatureState.PENDING: "pending_count",
    SignatureState.WITHDRAWN: "withdrawn_count",
    SignatureState.INVALIDATED: "invalidated_count",
}


def move(
    change: Update,
    params: dict[str, Any],
    petition_id: int,
    country: str,
    old: SignatureState,
    new: SignatureState,
    new_country: str | None = None,
    events: list[dict[str, Any]] | None = None,
    mail: dict[str, Any] | None = None,
) -> bool:
    """Run `change` with `params` (an UPDATE of one signature guarded by its old state) and,
    if it changed the row, journal the move (and `events`, made by `event_row`) and queue
    `mail` (an outbox row); whether it did. In the caller's transaction.

    On PostgreSQL all of it is one statement (the update a CTE the INSERTs read), so a
    confirmation or withdrawal costs one round trip to the database.
    """
    rows = journal_rows(petition_id, country, old, new, new_country) + (events or [])
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        if not connection.execute(change, params).rowcount:
            return False
        connection.execute(INSERT_JOURNAL, rows)
        if mail is not None:
            connection.execute(INSERT_MESSAGE, mail)
            mark_queued()
        return True
    entries = {
        f"journal{i}_{column}": value for i, row in enumerate(rows) for column, value in row.items()
    }
    if mail is not None:
        entries.update({f"mail_{column}": mail[column] for column in MAIL_COLUMNS})
    statement = _journaled(change, len(rows), mail is not None)
    moved = bool(connection.execute(statement, {**params, **entries}).all())
    if moved and mail is not None:
        mark_queued()
    return moved


OUTBOX = OutboxMessage.__table__
MAIL_COLUMNS = (*OUTBOX_COLUMNS, "signature_id")


@cache
def _journaled(change: Update, entries: int, with_mail: bool = False) -> Any:
    """`change`, its journal entries (and an email) as one statement, built once per kind."""
    moved = change.returning(literal(1).label("moved")).cte("moved")
    selects = [
        select(
            *(
                bindparam(f"journal{i}_{column}", type_=JOURNAL.c[column].type).label(column)
                for column in JOURNAL_COLUMNS
            )
        ).where(exists(moved.select()))
        for i in range(entries)
    ]
    journaled = union_all(*selects) if len(selects) > 1 else selects[0]
    statement = insert(JOURNAL).from_select(JOURNAL_COLUMNS, journaled).returning(JOURNAL.c.id)
    if not with_mail:
        return statement
    email = select(
        *(
            bindparam(f"mail_{column}", type_=OUTBOX.c[column].type).label(column)
            for column in MAIL_COLUMNS
        )
    ).where(exists(moved.select()))
    return statement.add_cte(insert(OUTBOX).from_select(MAIL_COLUMNS, email).cte("mail"))


def journal_rows(
    petition_id: int,
    country: str,
    old: SignatureState | None,
    new: SignatureState | None,
    new_country: str | None = None,
    made: bool = False,
) -> list[dict[str, Any]]:
    """The journal entries for a signature moving from `old` to `new` (either may be None);
    `new_country` when its signer corrected their country on the way; `made` when this is the
    signature being made."""
    now = utcnow()
    return [
        {
            "petition_id": petition_id,
            "country": where,
            "state": state.value,
            "delta": delta,
            "new_signature": made and delta > 0,
            "created_at": now,
            "receipt_hash": None,
        }
        for state, delta, where in ((old, -1, country), (new, +1, new_country or country))
        if state is not None
    ]


def event_row(
    petition_id: int, name: str, delta: int = 1, receipt_hash: str | None = None
) -> dict[str, Any]:
    """A journal entry for an event (a tally's name, or RECEIPT with its hash)."""
    return {
        "petition_id": petition_id,
        "country": "",
        "state": name,
        "delta": delta,
        "new_signature": False,
        "created_at": utcnow(),
        "receipt_hash": receipt_hash,
    }


def record_events(rows: list[dict[str, Any]]) -> None:
    """Journal events (made by `event_row`) in the caller's transaction."""
    if rows:
        db.session.connection().execute(INSERT_JOURNAL, rows)


def record_changes(
    changes: dict[tuple[int, str, SignatureState, SignatureState | None], int],
) -> None:
    """Journal many moves at once: (petition, country, old, new) → how many signatures."""
    now = utcnow()
    entries = []
    for (petition_id, country, old, new), n in changes.items():
        for state, delta in ((old, -n), (new, n)):
            if state is not None and n:
                entries.append(
                    {
                        "petition_id": petition_id,
                        "country": country,
                        "state": state.value,
                        "delta": delta,
                        "created_at": now,
                    }
                )
    if entries:
        db.session.connection().execute(INSERT_JOURNAL, entries)


# Held while folding (PostgreSQL), so one flush at a time appends receipts in journal order: a
# receipt leaving the count is never written before the same receipt entering it.
FLUSH_LOCK = 0x636F756E74  # "count"

JOURNAL_READ = (
    JOURNAL.c.id,
    JOURNAL.c.petition_id,
    JOURNAL.c.state,
    JOURNAL.c.country,
    JOURNAL.c.delta,
    JOURNAL.c.new_signature,
    JOURNAL.c.created_at,
    JOURNAL.c.receipt_hash,
)


def flush_counts(batch: int = 5000) -> int:
    """Fold journal entries into the stored counts; returns how many entries were folded.

    Entries are deleted and applied in one transaction, one flush at a time (another worker
    finding the lock held leaves the work to it), so no entry is ever applied twice.
    """
    pick = select(JOURNAL.c.id).order_by(JOURNAL.c.id).limit(batch)
    if db.session.get_bind().dialect.name == "postgresql":
        if not db.session.scalar(select(func.pg_try_advisory_xact_lock(FLUSH_LOCK))):
            db.session.rollback()
            return 0
        # A MATERIALIZED pick runs once: the delete takes at most `batch` rows whatever the
        # planner's statistics say (a plain `IN (… LIMIT)` may be re-run per row).
        picked = pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        take = delete(JOURNAL).where(JOURNAL.c.id == picked.c.id)
    else:  # one writer at a time
        take = delete(JOURNAL).where(JOURNAL.c.id.in_(pick.scalar_subquery()))
    rows = db.session.execute(take.returning(*JOURNAL_READ)).all()
    if not rows:
        db.session.rollback()
        return 0
    slugs = _fold(rows)
    db.session.commit()
    forget_petitions(*slugs)
    return len(rows)


def _fold(rows: list[Any]) -> list[str]:
    """Apply journal entries (taken out of the journal) to everything made from them; the
    slugs of the petitions whose counts changed."""
    totals: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    countries: dict[tuple[int, str], int] = defaultdict(int)
    hours: dict[tuple[int, datetime], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    days: dict[tuple[int, date, str], int] = defaultdict(int)
    tallies: dict[tuple[int, str], int] = defaultdict(int)
    receipts: list[tuple[int, int, dict[str, Any]]] = []
    for entry_id, petition_id, state, country, delta, made, at, receipt_hash in rows:
        if state == RECEIPT:
            entry = {"receipt_hash": receipt_hash, "delta": delta, "created_at": at}
            receipts.append((entry_id, petition_id, entry))
            continue
        if state not in STATES:
            tallies[(petition_id, state)] += delta
            continue
        totals[petition_id][COUNT_COLUMNS[SignatureState(state)]] += delta
        hour = at.replace(minute=0, second=0, microsecond=0)
        if made:
            hours[(petition_id, hour)]["signed"] += 1
        if state == SignatureState.CONFIRMED:
            countries[(petition_id, country)] += delta
            hours[(petition_id, hour)]["confirmed"] += delta
            days[(petition_id, hour.date(), country)] += delta

    now = utcnow()
    slugs = []
    # A fixed order keeps concurrent folds from deadlocking on the petition rows.
    for petition_id in sorted(totals):
        changes = {
            column: getattr(Petition, column) + delta
            for column, delta in totals[petition_id].items()
            if delta
        }
        before, after, slug = db.session.execute(
            update(Petition)
            .where(Petition.id == petition_id)
            .values(counted_at=now, **changes)
            .returning(
                Petition.confirmed_count - totals[petition_id]["confirmed_count"],
                Petition.confirmed_count,
                Petition.slug,
            )
            .execution_options(synchronize_session=False)
        ).one()
        _record_milestones(petition_id, before, after)
        slugs.append(slug)
    for (petition_id, country), delta in sorted(countries.items()):
        if delta:
            key = {"petition_id": petition_id, "country": country}
            add_to_tally(PetitionCountryCount, key, "confirmed_count", delta)
    for (petition_id, hour), changes in sorted(hours.items()):
        for column, n in changes.items():
            if n:
                add_to_tally(PetitionHour, {"petition_id": petition_id, "hour": hour}, column, n)
    for (petition_id, day, country), n in sorted(days.items()):
        if n:
            key = {"petition_id": petition_id, "day": day, "country": country}
            add_to_tally(PetitionCountryDay, key, "confirmed", n)
    for (petition_id, name), n in sorted(tallies.items()):
        if n:
            add_to_tally(PetitionTally, {"petition_id": petition_id, "name": name}, "value", n)
    _keep_receipts(receipts)
    return slugs


def _keep_receipts(receipts: list[tuple[int, int, dict[str, Any]]]) -> None:
    """Append receipts entering and leaving counts, in the order the journal had them."""
    if receipts:
        db.session.execute(
            insert(ReceiptEntry),
            [{"petition_id": petition_id, **entry} for _, petition_id, entry in sorted(receipts)],
        )


def _record_milestones(petition_id: int, before: int, after: int) -> None:
    passed = [m for m in MILESTONES if before < m <= after]
    if passed:
        reached = db.session.scalars(
            dialect_insert(PetitionMilestone)
            .values(
                [
                    {"petition_id": petition_id, "threshold": m, "reached_at": utcnow()}
                    for m in passed
                ]
            )
            .on_conflict_do_nothing()
            .returning(PetitionMilestone.threshold)
        ).all()
        slug = db.session.scalar(select(Petition.slug).where(Petition.id == petition_id))
        for threshold in sorted(reached):  # each milestone once, however the count moves
            webhooks.enqueue(
                None,
                "petition.milestone",
                {"petition": slug, "threshold": threshold, "reached_at": webhooks.iso(utcnow())},
            )


@dataclass(frozen=True)
class Recount:
    slug: str
    before: dict[str, int]
    after: dict[str, int]

    @property
    def changed(self) -> bool:
        return self.before != self.after


def recount(slug: str | None = None) -> list[Recount]:
    """Reconcile stored counts with the signatures themselves (one transaction per petition).

    The journal entries of each petition are dropped and its counts recomputed from one
    snapshot (REPEATABLE READ on PostgreSQL), so nothing is counted twice or missed.
    """
    query = select(Petition.id).order_by(Petition.id)
    if slug is not None:
        query = query.where(Petition.slug == slug)
    ids = db.session.scalars(query).all()
    db.session.rollback()
    if slug is not None and not ids:
        raise NotFound(f"no petition {slug!r}")
    return [_with_retries(_recount_one, petition_id) for petition_id in ids]


RECONCILE_EVERY = timedelta(days=1)


def reconcile_due(now: datetime | None = None) -> list[Recount]:
    """Recount each public petition not checked in the last day (the worker's daily check,
    whose time and result the integrity report shows)."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(Petition.id)
        .where(
            Petition.state != PetitionState.DRAFT,
            or_(Petition.reconciled_at.is_(None), Petition.reconciled_at < now - RECONCILE_EVERY),
        )
        .order_by(Petition.id)
    ).all()
    db.session.rollback()
    return [_with_retries(_recount_one, petition_id) for petition_id in ids]


def _with_retries(work: Any, *args: Any, attempts: int = 5) -> Any:
    """Run a transaction again when PostgreSQL reports a serialisation conflict."""
    for attempt in range(attempts):
        try:
            return work(*args)
        except OperationalError as exc:
            db.session.rollback()
            code = getattr(exc.orig, "sqlstate", None)
            if code not in SERIALIZATION_FAILURES or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _recount_one(petition_id: int) -> Recount:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        # The journal is folded in order, one fold at a time (see FLUSH_LOCK).
        db.session.execute(select(func.pg_advisory_xact_lock(FLUSH_LOCK)))
    petition = db.session.get(Petition, petition_id, with_for_update=True)
    if petition is None:
        raise NotFound(f"petition {petition_id} disappeared during the recount")
    # What the stored figures would say once this snapshot's journal entries are folded in:
    # the entries are folded here, so history, tallies and receipts keep them.
    _fold(
        db.session.execute(
            delete(JOURNAL).where(JOURNAL.c.petition_id == petition_id).returning(*JOURNAL_READ)
        ).all()
    )
    db.session.refresh(petition)
    # One pass over the petition's signatures gives the counts, the countries and the
    # invalidations by category.
    by_state: Counter[SignatureState] = Counter()
    per_country: list[tuple[str, int]] = []
    invalidated: Counter[str] = Counter()
    for state, country, category, n in db.session.execute(
        select(Signature.state, Signature.country, Signature.invalidation_category, func.count())
        .where(Signature.petition_id == petition_id)
        .group_by(Signature.state, Signature.country, Signature.invalidation_category)
    ):
        by_state[state] += n
        if state == SignatureState.CONFIRMED:
            per_country.append((country, n))
        if state == SignatureState.INVALIDATED:
            invalidated[INVALIDATED_AS + (category or "other")] += n
    before = {column: getattr(petition, column) for column in COUNT_COLUMNS.values()}
    after = {column: by_state.get(state, 0) for state, column in COUNT_COLUMNS.items()}
    stored_tallies = dict(
        db.session.execute(
            select(PetitionTally.name, PetitionTally.value).where(
                PetitionTally.petition_id == petition_id,
                PetitionTally.name.startswith(INVALIDATED_AS),
            )
        ).all()
    )
    for name in set(stored_tallies) | set(invalidated):
        if stored_tallies.get(name, 0) != invalidated[name]:
            before[name] = stored_tallies.get(name, 0)
            after[name] = invalidated[name]
            key = {"petition_id": petition_id, "name": name}
            add_to_tally(PetitionTally, key, "value", invalidated[name] - before[name])
    for column in COUNT_COLUMNS.values():
        setattr(petition, column, after[column])
    now = utcnow()
    petition.counted_at = now
    petition.reconciled_at = now
    petition.reconciled_matched = before == after
    _record_milestones(petition_id, before["confirmed_count"], after["confirmed_count"])

    db.session.execute(
        delete(PetitionCountryCount).where(PetitionCountryCount.petition_id == petition_id)
    )
    if per_country:
        db.session.execute(
            dialect_insert(PetitionCountryCount).values(
                [
                    {"petition_id": petition_id, "country": c, "confirmed_count": n}
                    for c, n in per_country
                ]
            )
        )
    slug = petition.slug
    db.session.commit()
    forget_petitions(slug)
    return Recount(slug=slug, before=before, after=after)
