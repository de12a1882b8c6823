"""Finding signatures and fighting spam: search, bulk invalidation with a reason, restore."""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update

from petition.database import Page, contains_folded, ip_in_network, paginate
from petition.extensions import db
from petition.models import INVALIDATION_CATEGORIES, Petition, Signature, SignatureState, utcnow
from petition.security.email_hash import email_hashes
from petition.services import audit, counting
from petition.services.addresses import DOMAIN_ALIASES, canonical_email
from petition.services.audit import Actor
from petition.services.errors import InvalidInput

PAGE_SIZE = 50
CHUNK = 1000
# Counting matches stops past this many (so a search among millions answers at once), and a
# bulk change acts on at most this many signatures: more means the search is too broad.
COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class SignatureFilter:
    """What an admin searches by; every field optional, all given fields must match."""

    petition: str | None = None
    email: str | None = None
    domain: str | None = None
    ip: str | None = None
    postcode: str | None = None
    name: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    state: SignatureState | None = None

    def is_empty(self) -> bool:
        return not any(asdict(self).values())

    def describe(self) -> dict[str, str]:
        """The filters as text, for the audit log."""
        return {
            k: (v.isoformat() if isinstance(v, datetime) else str(v))
            for k, v in asdict(self).items()
            if v
        }


def conditions(f: SignatureFilter) -> list[Any]:
    """The WHERE clauses for a filter; raise InvalidInput for an unreadable IP range."""
    where: list[Any] = [Signature.erased_at.is_(None)]
    if f.petition:
        where.append(
            Signature.petition_id
            == select(Petition.id).where(Petition.slug == f.petition).scalar_subquery()
        )
    # Each search below is served by an index of its own on PostgreSQL (see the model).
    if f.email:
        where.append(Signature.email_hash.in_(email_hashes(canonical_email(f.email))))
    if f.domain:
        domain = DOMAIN_ALIASES.get(d := f.domain.strip().lstrip("@").lower(), d)
        where.append(Signature.email_domain == domain)
    if f.ip:
        try:
            network = ipaddress.ip_network(f.ip.strip(), strict=False)
        except ValueError:
            raise InvalidInput(
                {"ip": "Enter an IP address (192.0.2.1) or a range (192.0.2.0/24)"}
            ) from None
        where += [Signature.ip_address.is_not(None), ip_in_network(Signature.ip_address, network)]
    if f.postcode:
        # Postcodes are kept in capitals, as the sign form writes them.
        prefix = " ".join(f.postcode.upper().split())
        where += [
            Signature.postcode.is_not(None),
            Signature.postcode.startswith(prefix, autoescape=True),
        ]
    if f.name:
        name = f.name.strip()
        if len(name) < 3:
            raise InvalidInput({"name": "Enter at least 3 letters of the name"})
        where += [Signature.name.is_not(None), contains_folded(Signature.name, name)]
    if f.since:
        where.append(Signature.created_at >= f.since)
    if f.until:
        where.append(Signature.created_at < f.until)
    if f.state:
        where.append(Signature.state == f.state)
    return where


@dataclass(frozen=True)
class Matches:
    """One page of a search, and what a bulk change could do with everything it found."""

    page: Page
    invalidatable: int  # pending or confirmed: what an invalidation would take out
    restorable: int  # invalidated: what a restore would put back

    @property
    def too_many(self) -> bool:
        """More match than one bulk change may take (their states were not all counted)."""
        return self.page.more


def search(f: SignatureFilter, page: int = 1) -> Matches:
    """Matching signatures, newest first, a page at a time; counted up to COUNT_LIMIT, in one
    pass that also tells how many a bulk change would take."""
    where = conditions(f)
    found = select(Signature.state).where(*where).limit(COUNT_LIMIT + 1).subquery()
    by_state: Counter[str] = Counter(
        dict(db.session.execute(select(found.c.state, func.count()).group_by(found.c.state)).all())
    )
    total = sum(by_state.values())
    # A few thousand matches are found through their own index and sorted. Many are read
    # newest first along the primary key: without this, PostgreSQL (guessing how common a
    # value is) may walk the whole primary key to collect a handful of rare ones.
    order = Signature.id.desc() if total > COUNT_LIMIT else (Signature.id + 0).desc()
    return Matches(
        paginate(
            select(Signature).where(*where).order_by(order),
            page,
            PAGE_SIZE,
            count_limit=COUNT_LIMIT,
            total=total,
        ),
        invalidatable=by_state[SignatureState.PENDING] + by_state[SignatureState.CONFIRMED],
        restorable=by_state[SignatureState.INVALIDATED],
    )


def invalidate(
    f: SignatureFilter, reason: str, expected: int, actor: Actor, category: str = "other"
) -> int:
    """Take every pending or confirmed signature matching `f` out of the counts, with a reason
    (kept in the audit log) and a category (published in the integrity report).

    `expected` is the count the admin saw in the preview: if the matching set has changed
    since, nothing happens and they are asked to look again.
    """
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput({"reason": "Give a reason: it goes in the audit log"})
    if category not in INVALIDATION_CATEGORIES:
        raise InvalidInput({"category": "Choose what kind of problem this is"})
    if f.is_empty():
        raise InvalidInput({"filters": "Choose at least one filter before invalidating"})
    states = (SignatureState.PENDING, SignatureState.CONFIRMED)
    moved = _move_matching(
        f,
        states,
        lambda s: SignatureState.INVALIDATED,
        expected,
        invalidated_at=utcnow(),
        invalidation_reason=reason[:200],
        invalidation_category=category,
    )
    audit.record(
        actor,
        "invalidate",
        f.petition or "all petitions",
        {"filters": f.describe(), "reason": reason, "category": category},
        moved,
    )
    db.session.commit()
    return moved


def restore(f: SignatureFilter, expected: int, actor: Actor) -> int:
    """Put invalidated signatures back: confirmed ones count again, the rest wait for it, and
    any their signers withdrew meanwhile stay withdrawn."""
    if f.is_empty():
        raise InvalidInput({"filters": "Choose at least one filter before restoring"})
    moved = _move_matching(
        f,
        (SignatureState.INVALIDATED,),
        _state_before_invalidation,
        expected,
        invalidated_at=None,
        invalidation_reason=None,
        invalidation_category=None,
    )
    audit.record(actor, "restore", f.petition or "all petitions", {"filters": f.describe()}, moved)
    db.session.commit()
    return moved


def _state_before_invalidation(row: Any) -> SignatureState:
    """Where a restored signature goes: a signer's withdrawal, made meanwhile, wins."""
    if row.withdrawn_at is not None:
        return SignatureState.WITHDRAWN
    return SignatureState.CONFIRMED if row.confirmed_at else SignatureState.PENDING


def _move_matching(
    f: SignatureFilter,
    states: tuple[SignatureState, ...],
    new_state: Any,
    expected: int,
    **values: Any,
) -> int:
    query: Select[Any] = (
        select(
            Signature.id,
            Signature.petition_id,
            Signature.country,
            Signature.state,
            Signature.confirmed_at,
            Signature.withdrawn_at,
            Signature.invalidation_category,
            Signature.receipt_hash,
        )
        .where(*conditions(f), Signature.state.in_(states))
        .order_by(Signature.id)
        .limit(COUNT_LIMIT + 1)
        .with_for_update()
    )
    rows = db.session.execute(query).all()
    if len(rows) > COUNT_LIMIT:
        db.session.rollback()
        raise InvalidInput(
            {
                "expected": f"More than {COUNT_LIMIT:,} signatures match: narrow the search "
                f"(a bulk change takes at most {COUNT_LIMIT:,} at a time)."
            }
        )
    if len(rows) != expected:
        db.session.rollback()
        raise InvalidInput(
            {
                "expected": f"The matching signatures changed (now {len(rows)}). "
                "Check the list and try again."
            }
        )
    changes: Counter[tuple[int, str, SignatureState, SignatureState]] = Counter()
    groups: dict[SignatureState, list[int]] = {}
    events = []
    for row in rows:
        target = new_state(row)
        changes[(row.petition_id, row.country, row.state, target)] += 1
        groups.setdefault(target, []).append(row.id)
        events += _events(row, target, values.get("invalidation_category"))
    now = utcnow()
    for target, ids in groups.items():
        for start in range(0, len(ids), CHUNK):
            db.session.execute(
                update(Signature)
                .where(Signature.id.in_(ids[start : start + CHUNK]))
                .values(state=target, updated_at=now, **values)
                .execution_options(synchronize_session=False)
            )
    counting.record_changes(dict(changes))
    counting.record_events(events)
    return len(rows)


def _events(row: Any, target: SignatureState, category: str | None) -> list[dict[str, Any]]:
    """What the integrity report learns from one signature's move: an invalidation's category
    entering or leaving its tally, a receipt leaving or entering the count."""
    events = []
    if target == SignatureState.INVALIDATED:
        events.append(counting.event_row(row.petition_id, counting.INVALIDATED_AS + category))
    if row.state == SignatureState.INVALIDATED:
        name = counting.INVALIDATED_AS + (row.invalidation_category or "other")
        events.append(counting.event_row(row.petition_id, name, -1))
    if row.receipt_hash and SignatureState.CONFIRMED in (row.state, target):
        delta = 1 if target == SignatureState.CONFIRMED else -1
        events.append(
            counting.event_row(row.petition_id, counting.RECEIPT, delta, row.receipt_hash)
        )
    return events
