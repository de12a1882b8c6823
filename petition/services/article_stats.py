"""How stories do: page views counted on our own server, and each story's funnel to giving."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Flask, current_app
from sqlalchemy import case, func, select

from petition.database import add_to_tally
from petition.extensions import db
from petition.models import (
    Article,
    ArticleDailyViews,
    Donation,
    DonationStatus,
    OutboundClick,
    Signature,
    SignatureState,
    utcnow,
)
from petition.services import figures
from petition.services.articles import source_for

# How often a web process writes the views it counted: one write every few seconds per
# process, not one per view (a popular story is read thousands of times a minute).
VIEW_FLUSH_SECONDS = 5.0


class ViewTally:
    """Page views counted in this process and not yet written."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[int, date]] = Counter()
        self.lock = threading.Lock()
        self.flushed_at = 0.0  # the first view is written at once


# Every app's tally in this process, so a server shutting down can write what is left.
_tallies: list[tuple[Flask, ViewTally]] = []


def _tally() -> ViewTally:
    tally = current_app.extensions.get("article_views")
    if tally is None:
        tally = current_app.extensions["article_views"] = ViewTally()
        _tallies.append((current_app._get_current_object(), tally))  # type: ignore[attr-defined]
    return tally


def flush_every_app() -> None:
    """Write what this process counted, for every app in it (a server process stopping)."""
    for app, _ in _tallies:
        with app.app_context():
            try:
                flush_views()
            finally:
                db.session.remove()


def record_view(article_id: int) -> None:
    """Count a view; every few seconds the request that counts one writes them all down (so
    views are kept whatever runs the worker, and wherever)."""
    tally = _tally()
    with tally.lock:
        tally.counts[(article_id, utcnow().date())] += 1
        due = time.monotonic() - tally.flushed_at >= VIEW_FLUSH_SECONDS
        if due:
            tally.flushed_at = time.monotonic()
    if due:
        flush_views()


def flush_views() -> int:
    """Add the views counted in this process to the daily totals; returns how many."""
    tally = _tally()
    with tally.lock:
        pending = dict(tally.counts)
        tally.counts.clear()
    if not pending:
        return 0
    try:
        for (article_id, day), n in sorted(pending.items()):
            add_to_tally(ArticleDailyViews, {"article_id": article_id, "day": day}, "views", n)
        db.session.commit()
    except Exception:
        db.session.rollback()
        with tally.lock:  # keep them for the next round
            tally.counts.update(pending)
        raise
    return sum(pending.values())


@dataclass(frozen=True)
class Funnel:
    """From reading to giving, for one article."""

    slug: str
    headline: str
    views: int
    signatures: int
    confirmed: int
    donate_clicks: int
    donations: int

    def steps(self) -> list[tuple[str, int]]:
        return [
            ("Views", self.views),
            ("Signatures started", self.signatures),
            ("Confirmed", self.confirmed),
            ("Donate clicks", self.donate_clicks),
            ("Donations", self.donations),
        ]


def funnels() -> figures.Stored:
    """Every article's funnel, newest first (worked out by the worker every few minutes)."""
    stored = figures.get("funnels")
    return figures.Stored([Funnel(**f) for f in stored.value], stored.computed_at)


@figures.standing
def _funnel_figures() -> list[tuple[str, tuple[int, ...]]]:
    return [("funnels", ())]


@figures.figure("funnels")
def _funnels() -> list[dict[str, Any]]:
    articles = db.session.execute(
        select(Article.id, Article.slug, Article.headline).order_by(
            Article.published_on.desc(), Article.id.desc()
        )
    ).all()
    if not articles:
        return []
    sources = {source_for(slug): article_id for article_id, slug, _ in articles}
    views = dict(
        db.session.execute(
            select(ArticleDailyViews.article_id, func.sum(ArticleDailyViews.views)).group_by(
                ArticleDailyViews.article_id
            )
        ).all()
    )
    confirmed_case = func.sum(case((Signature.state == SignatureState.CONFIRMED, 1), else_=0))
    signed = {
        source: (total, int(ok or 0))
        for source, total, ok in db.session.execute(
            select(Signature.source, func.count(), confirmed_case)
            .where(Signature.source.in_(sources))
            .group_by(Signature.source)
        )
    }
    clicks = dict(
        db.session.execute(
            select(OutboundClick.source, func.count())
            .where(OutboundClick.source.in_(sources))
            .group_by(OutboundClick.source)
        ).all()
    )
    started = dict(
        db.session.execute(
            select(Donation.source, func.count())
            .where(Donation.source.in_(sources))
            .group_by(Donation.source)
        ).all()
    )
    paid = dict(
        db.session.execute(
            select(Donation.source, func.count())
            .where(Donation.source.in_(sources), Donation.status == DonationStatus.PAID)
            .group_by(Donation.source)
        ).all()
    )
    result = []
    for article_id, slug, headline in articles:
        source = source_for(slug)
        total, ok = signed.get(source, (0, 0))
        result.append(
            {
                "slug": slug,
                "headline": headline,
                "views": int(views.get(article_id, 0)),
                "signatures": total,
                "confirmed": ok,
                # Card donations started count as clicks to give, as GoFundMe clicks do.
                "donate_clicks": int(clicks.get(source, 0)) + int(started.get(source, 0)),
                "donations": int(paid.get(source, 0)),
            }
        )
    return result
