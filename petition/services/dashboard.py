"""Figures for the campaign team: aggregate only, never a person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, select

from petition import i18n
from petition.extensions import db
from petition.models import (
    Petition,
    PetitionCountryCount,
    PetitionHour,
    PetitionState,
    Signature,
    SignatureState,
    utcnow,
)
from petition.services import consent, figures


@dataclass(frozen=True)
class Bar:
    label: str  # "2026-11-26 14:00" or "2026-11-26"
    total: int  # signatures made
    confirmed: int  # confirmations then, less withdrawals and invalidations


def petition_overview() -> list[Petition]:
    return list(
        db.session.scalars(
            select(Petition).order_by(Petition.state.desc(), Petition.created_at.desc())
        )
    )


def activity(petition_id: int, unit: str, now: datetime | None = None) -> list[Bar]:
    """Signatures made per hour (last 48) or day (last 30), and the confirmations that came
    in then (less withdrawals): from the hourly figures the count journal keeps."""
    now = now or utcnow()
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    if unit == "hour":
        start = this_hour - timedelta(hours=47)
        slots = [(start + timedelta(hours=i)).strftime("%Y-%m-%d %H:00") for i in range(48)]
        label = "%Y-%m-%d %H:00"
    else:
        start = this_hour.replace(hour=0) - timedelta(days=29)
        slots = [(start + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(30)]
        label = "%Y-%m-%d"
    bars: dict[str, list[int]] = {slot: [0, 0] for slot in slots}
    for hour, signed, confirmed in db.session.execute(
        select(PetitionHour.hour, PetitionHour.signed, PetitionHour.confirmed).where(
            PetitionHour.petition_id == petition_id, PetitionHour.hour >= start
        )
    ):
        slot = bars.get(hour.strftime(label))
        if slot is not None:
            slot[0] += signed
            slot[1] += confirmed
    return [Bar(slot, *bars[slot]) for slot in slots]


@figures.standing
def _panel_figures() -> list[tuple[str, tuple[int, ...]]]:
    """The figures each petition's dashboard panel shows."""
    ids = db.session.scalars(select(Petition.id).where(Petition.state != PetitionState.DRAFT)).all()
    names = ("wanting_updates", "sources", "languages", "partners")
    return [(name, (i,)) for i in ids for name in names]


def wanting_updates(petition_id: int) -> figures.Stored:
    """Confirmed signers who agreed to campaign updates and have not stopped them."""
    return figures.get("wanting_updates", petition_id)


@figures.figure("wanting_updates")
def _wanting_updates(petition_id: int) -> int:
    return db.session.scalar(select(func.count()).where(*consent.update_recipients(petition_id)))


def top_countries(petition_id: int, limit: int = 10) -> list[tuple[str, int]]:
    return [
        (country, n)
        for country, n in db.session.execute(
            select(PetitionCountryCount.country, PetitionCountryCount.confirmed_count)
            .where(
                PetitionCountryCount.petition_id == petition_id,
                PetitionCountryCount.confirmed_count > 0,
            )
            .order_by(PetitionCountryCount.confirmed_count.desc())
            .limit(limit)
        )
    ]


def languages(petition_id: int) -> figures.Stored:
    """Signatures by the language their signers signed in: made, and confirmed."""
    return figures.get("languages", petition_id)


@figures.figure("languages")
def _languages(petition_id: int) -> list[list[Any]]:
    confirmed = func.sum(case((Signature.state == SignatureState.CONFIRMED, 1), else_=0))
    return [
        [i18n.LANGUAGES[code].english if code in i18n.LANGUAGES else code, total, int(ok or 0)]
        for code, total, ok in db.session.execute(
            select(Signature.language, func.count(), confirmed)
            .where(Signature.petition_id == petition_id)
            .group_by(Signature.language)
            .order_by(func.count().desc())
        )
    ]


def top_sources(petition_id: int) -> figures.Stored:
    """Where signatures came from (article, widget host, utm source): made, and confirmed."""
    return figures.get("sources", petition_id)


@figures.figure("sources")
def _sources(petition_id: int, limit: int = 10) -> list[list[Any]]:
    label = func.coalesce(literal("utm:") + Signature.utm_source, Signature.source)
    confirmed = func.sum(case((Signature.state == SignatureState.CONFIRMED, 1), else_=0))
    return [
        [source, total, int(ok or 0)]
        for source, total, ok in db.session.execute(
            select(label, func.count(), confirmed)
            .where(Signature.petition_id == petition_id)
            .group_by(label)
            .order_by(func.count().desc())
            .limit(limit)
        )
    ]
