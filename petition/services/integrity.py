"""How a petition's count was made, for anyone to read: the integrity report, the hourly open
data, and the check of a signer's receipt. Everything here is read from stored figures (kept by
the count journal), never by counting signatures, and cached briefly."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from petition import i18n
from petition.extensions import cache, db
from petition.i18n import N_
from petition.models import (
    INVALIDATION_CATEGORIES,
    CountDigest,
    Petition,
    PetitionCountryDay,
    PetitionHour,
    PetitionState,
    PetitionTally,
    Signature,
    SignatureState,
)
from petition.security import receipts
from petition.services import counting, digests
from petition.services.errors import NotFound

CACHE_SECONDS = 30
DIGESTS_SHOWN = 24

# What each figure means, shown beside it on the page and given with it by the API.
DEFINITIONS = {
    "received": N_(
        "Every signature made on this petition: each person once, however often they "
        "try (unconfirmed signatures deleted since included)."
    ),
    "confirmed": N_(
        "Signatures whose signer pressed the link we emailed them: the count. Nothing "
        "else is ever added to it."
    ),
    "awaiting_confirmation": N_(
        "Signatures whose signer has not yet pressed the link we emailed. "
        "They are not in the count, and are deleted if never confirmed."
    ),
    "withdrawn": N_("Signatures their signers took back. They left the count."),
    "invalidated": N_(
        "Signatures our moderators took out of the count, by the kind of problem "
        "they found (a wave of look-alike signatures, throwaway email domains, one source signing "
        "too fast, other). The moderator's reason is kept in our audit log."
    ),
    "expired": N_("Signatures never confirmed, deleted after 30 days."),
    "replaced": N_(
        "Signatures never confirmed, replaced by their signer with one at a corrected "
        "email address (a typo spotted on the thanks page)."
    ),
    "duplicates_turned_away": N_(
        "Attempts to sign again with an address that has already "
        "signed. None of them was counted a second time."
    ),
    "reminders_sent": N_(
        "Signers who had not confirmed a day after signing and were sent one reminder."
    ),
    "confirmed_after_reminder": N_("Of those, how many confirmed after the reminder."),
    "reconciled": N_(
        "When the stored figures were last checked against the signatures "
        "themselves, one by one, and whether they already matched."
    ),
    "digests": N_(
        "Once an hour, a SHA-256 fingerprint of every receipt that entered or left the "
        "count, chained to the one before. Anyone with a receipt can check theirs is in it."
    ),
}


def report(slug: str) -> dict[str, Any]:
    """The integrity report of a public petition (NotFound for drafts and unknown slugs)."""
    found = cache.get(f"integrity:v1:{slug}", _ttl(), lambda: _load_report(slug))
    if found is None:
        raise NotFound(f"no petition {slug!r}")
    return found


def _ttl() -> float:
    return max(current_app.config["COUNT_CACHE_SECONDS"], CACHE_SECONDS)


def _public(slug: str) -> Petition | None:
    return db.session.scalar(
        select(Petition).where(Petition.slug == slug, Petition.state != PetitionState.DRAFT)
    )


def _load_report(slug: str) -> dict[str, Any] | None:
    petition = _public(slug)
    if petition is None:
        return None
    tallies = dict(
        db.session.execute(
            select(PetitionTally.name, PetitionTally.value).where(
                PetitionTally.petition_id == petition.id
            )
        ).all()
    )
    invalidated = {
        category: tallies.get(counting.INVALIDATED_AS + category, 0)
        for category in INVALIDATION_CATEGORIES
    }
    expired = tallies.get(counting.EXPIRED, 0)
    replaced = tallies.get(counting.REPLACED, 0)
    received = (
        petition.confirmed_count
        + petition.pending_count
        + petition.withdrawn_count
        + petition.invalidated_count
        + expired
        + replaced
    )
    shown = db.session.scalars(
        select(CountDigest)
        .where(CountDigest.petition_id == petition.id)
        .order_by(CountDigest.number.desc())
        .limit(DIGESTS_SHOWN)
    ).all()
    published = db.session.scalar(
        select(func.count()).where(CountDigest.petition_id == petition.id)
    )
    result = {
        "petition": {"slug": petition.slug, "title": petition.title},
        "figures": {
            "received": received,
            "confirmed": petition.confirmed_count,
            "awaiting_confirmation": petition.pending_count,
            "withdrawn": petition.withdrawn_count,
            "invalidated": petition.invalidated_count,
            "invalidated_by_category": invalidated,
            "expired": expired,
            "replaced": replaced,
            "duplicates_turned_away": tallies.get(counting.DUPLICATE, 0),
            "reminders_sent": tallies.get(counting.REMINDED, 0),
            "confirmed_after_reminder": tallies.get(counting.REMINDED_CONFIRMED, 0),
        },
        "counted_at": _iso(petition.counted_at),
        "reconciled": {
            "at": _iso(petition.reconciled_at),
            "matched": petition.reconciled_matched,
        },
        "digests": {
            "published": published or 0,
            "latest": [_digest_json(d) for d in shown],
        },
        "definitions": DEFINITIONS,
        "category_names": INVALIDATION_CATEGORIES,
    }
    db.session.rollback()
    return result


def _digest_json(digest: CountDigest) -> dict[str, Any]:
    return {
        "number": digest.number,
        "published_at": _iso(digest.published_at),
        "added": digest.added,
        "removed": digest.removed,
        "counted": digest.counted,
        "previous": digest.previous,
        "sha256": digest.digest,
    }


def history(slug: str) -> dict[str, Any]:
    """The hourly history of confirmed signatures, and the daily change by country."""
    found = cache.get(f"history:v1:{slug}", _ttl(), lambda: _load_history(slug))
    if found is None:
        raise NotFound(f"no petition {slug!r}")
    return found


def _load_history(slug: str) -> dict[str, Any] | None:
    petition = _public(slug)
    if petition is None:
        return None
    hours, total = [], 0
    for hour, signed, confirmed in db.session.execute(
        select(PetitionHour.hour, PetitionHour.signed, PetitionHour.confirmed)
        .where(PetitionHour.petition_id == petition.id)
        .order_by(PetitionHour.hour)
    ):
        total += confirmed
        hours.append({"hour": _iso(hour), "signed": signed, "confirmed": confirmed, "total": total})
    days = [
        {"day": day.isoformat(), "country": country, "confirmed": n}
        for day, country, n in db.session.execute(
            select(PetitionCountryDay.day, PetitionCountryDay.country, PetitionCountryDay.confirmed)
            .where(PetitionCountryDay.petition_id == petition.id, PetitionCountryDay.confirmed != 0)
            .order_by(PetitionCountryDay.day, PetitionCountryDay.country)
        )
    ]
    db.session.rollback()
    return {
        "petition": {"slug": petition.slug, "title": petition.title},
        "hours": hours,
        "countries_by_day": days,
    }


def chart_points(data: dict[str, Any], most: int = 240) -> list[dict[str, Any]]:
    """The confirmed total over time for a chart: by hour, or by day once there are more
    hours than fit (each day's last total)."""
    hours = data["hours"]
    if len(hours) <= most:
        return [{"label": _hour_label(h["hour"]), "total": h["total"]} for h in hours]
    days: dict[str, int] = {}
    for h in hours:
        days[h["hour"][:10]] = h["total"]
    return [{"label": day, "total": total} for day, total in days.items()]


def _hour_label(iso: str) -> str:
    return f"{iso[:10]} {iso[11:13]}:00"


def hours_csv(data: dict[str, Any]) -> str:
    return _csv(
        ["hour_utc", "signed", "confirmed_change", "confirmed_total"],
        ([h["hour"], h["signed"], h["confirmed"], h["total"]] for h in data["hours"]),
    )


def countries_csv(data: dict[str, Any]) -> str:
    return _csv(
        ["day_utc", "country", "confirmed_change"],
        ([d["day"], d["country"], d["confirmed"]] for d in data["countries_by_day"]),
    )


def _csv(header: list[str], rows: Any) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def verify_receipt(code: str) -> dict[str, Any] | None:
    """What a receipt code shows: whether its signature is counted, on which petition and since
    when, and the digest that first counted it. Nothing about the signer; None if unknown."""
    if not receipts.looks_like_a_code(code):
        return None
    receipt_hash = receipts.receipt_hash(code)
    found = db.session.execute(
        select(
            Signature.state,
            Signature.confirmed_at,
            Petition.slug,
            Petition.title,
            Petition.translations,
        )
        .join(Petition, Petition.id == Signature.petition_id)
        .where(Signature.receipt_hash == receipt_hash)
    ).first()
    if found is None:
        db.session.rollback()
        return None
    state, confirmed_at, slug, english_title, translations = found
    title = i18n.written_in(english_title, translations, i18n.current().code, "title")
    counted = state == SignatureState.CONFIRMED
    result = {
        "counted": counted,
        "petition": {"slug": slug, "title": title},
        "counted_since": confirmed_at.date().isoformat() if counted and confirmed_at else None,
        "first_digest": digests.first_digest_with(receipt_hash),
        "receipt_sha256": receipt_hash,
    }
    db.session.rollback()
    return result


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
