"""Figures for the campaign team: aggregate only, never a person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, select

from petition.database import time_bucket
from petition.extensions import cache, db
from petition.models import Petition, PetitionCountryCount, Signature, SignatureState, utcnow
from petition.services import consent

CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Bar:
    label: str  # "2026-11-26 14:00" or "2026-11-26"
    total: int
    confirmed: int


def petition_overview() -> list[Petition]:
    return list(
        db.session.scalars(
            select(Petition).order_by(Petition.state.desc(), Petition.created_at.desc())
        )
    )


def activity(petition_id: int, unit: str, now: datetime | None = None) -> list[Bar]:
    """Signatures made per hour (last 48) or day (last 30), with how many are now confirmed."""
    now = now or utcnow()
    key = f"dashboard:activity:{petition_id}:{unit}"
    rows = cache.get(key, CACHE_SECONDS, lambda: _activity(petition_id, unit, now))
    return [Bar(*row) for row in rows]


def _activity(petition_id: int, unit: str, now: datetime) -> list[list[Any]]:
    if unit == "hour":
        start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=47)
        slots = [(start + timedelta(hours=i)).strftime("%Y-%m-%d %H:00") for i in range(48)]
    else:
        start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=29)
        slots = [(start + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(30)]
    bucket = time_bucket(Signature.created_at, unit)
    confirmed = func.sum(case((Signature.state == SignatureState.CONFIRMED, 1), else_=0))
    counts = {
        label: (total, int(ok or 0))
        for label, total, ok in db.session.execute(
            select(bucket, func.count(), confirmed)
            .where(Signature.petition_id == petition_id, Signature.created_at >= start)
            .group_by(bucket)
        )
    }
    return [[slot, *counts.get(slot, (0, 0))] for slot in slots]


def wanting_updates(petition_id: int) -> int:
    """Confirmed signers who agreed to campaign updates and have not stopped them."""
    key = f"dashboard:updates:{petition_id}"
    return cache.get(
        key,
        CACHE_SECONDS,
        lambda: db.session.scalar(
            select(func.count()).where(*consent.update_recipients(petition_id))
        ),
    )


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


def top_sources(petition_id: int, limit: int = 10) -> list[tuple[str, int, int]]:
    """Where signatures came from (article, widget host, utm source): made, and confirmed."""
    key = f"dashboard:sources:{petition_id}"
    return [
        tuple(row) for row in cache.get(key, CACHE_SECONDS, lambda: _sources(petition_id, limit))
    ]  # type: ignore[misc]


def _sources(petition_id: int, limit: int) -> list[list[Any]]:
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
