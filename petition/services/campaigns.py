"""What readers see of the campaign and its petitions, cached briefly like the counts they carry."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import Select, select

from petition import i18n
from petition.database import read_alone
from petition.extensions import cache, db
from petition.models import (
    Campaign,
    Petition,
    PetitionCountryCount,
    PetitionState,
    Signature,
    SignatureState,
    display_goal,
)
from petition.services import images, names, thresholds
from petition.services.errors import NotFound
from petition.urls import external_url

HOME_KEY = "campaign:v2:home"  # v2: with the copy in other languages
NEWS_SHOWN = 10  # the latest news items on a petition page
RECENT_SIGNERS_SHOWN = 6


def campaign_overview() -> dict[str, Any]:
    """The campaign, with its public petitions (open first) and their counts."""
    ttl = current_app.config["COUNT_CACHE_SECONDS"]
    overview = cache.get(HOME_KEY, ttl, _load_overview)
    if overview is None:
        raise NotFound("no campaign yet: run `flask --app app seed`")
    petitions = [petition_snapshot(slug) for slug in overview["petition_slugs"]]
    overview = i18n.localized(overview, i18n.current().code, CAMPAIGN_FIELDS)
    return {**overview, "petitions": petitions}


def _load_overview() -> dict[str, Any] | None:
    campaign = db.session.scalar(select(Campaign).order_by(Campaign.id).limit(1))
    if campaign is None:
        return None
    slugs = db.session.scalars(
        select(Petition.slug)
        .where(Petition.campaign_id == campaign.id, Petition.state != PetitionState.DRAFT)
        .order_by(Petition.state.desc(), Petition.created_at.desc())
    ).all()
    return {
        "slug": campaign.slug,
        "name": campaign.name,
        "tagline": campaign.tagline,
        "intro": campaign.intro,
        "history": campaign.history,
        "translations": campaign.translations or {},
        "text_language": dict.fromkeys(CAMPAIGN_FIELDS, i18n.DEFAULT),
        "gofundme_url": campaign.gofundme_url,
        "petition_slugs": list(slugs),
    }


# What staff write per language: on a petition, the campaign, a news item.
TRANSLATED_FIELDS = ("title", "ask", "background", "addressee", "starter")
CAMPAIGN_FIELDS = ("tagline", "intro", "history")
NEWS_FIELDS = ("title", "body")


def _cache_key(slug: str) -> str:
    return f"petition:v7:{slug}"  # v7: thresholds and pictures in other languages too


def json_cache_key(slug: str, language: str) -> str:
    """The API's encoded petition, kept per language like the pages."""
    return f"petition-json:v3:{language}:{slug}"


def forget_petitions(*slugs: str) -> None:
    """Drop cached snapshots (and their encoded JSON) after a change readers should see soon."""
    cache.delete(
        *(_cache_key(s) for s in slugs),
        *(json_cache_key(s, code) for s in slugs for code in i18n.LANGUAGES),
    )


def petition_snapshot(slug: str) -> dict[str, Any]:
    """What the public sees of a petition in the reader's language, cached briefly; raises
    NotFound for drafts."""
    ttl = current_app.config["COUNT_CACHE_SECONDS"]
    snapshot = cache.get(_cache_key(slug), ttl, lambda: read_alone(lambda: _load_snapshot(slug)))
    if snapshot is None:
        raise NotFound(f"no petition {slug!r}")
    language = i18n.current().code
    if language == i18n.DEFAULT:
        return snapshot
    news = [i18n.localized(item, language, NEWS_FIELDS) for item in snapshot["news"]]
    return {
        **i18n.localized(snapshot, language, TRANSLATED_FIELDS),
        "thresholds": thresholds.in_language(snapshot["thresholds"], language),
        "image": _picture_in(snapshot["image"], language),
        "news": news,
    }


# Where a petition's picture is described in another language, among its translations.
PICTURE_ALT = "image_alt"


def _picture_in(image: dict[str, Any] | None, language: str) -> dict[str, Any] | None:
    """The picture described in `language` where staff described it in it, saying so
    (`text_language`, read by the templates' text_lang), else in English."""
    if image is None or language not in image["alts"]:
        return image
    return {**image, "alt": image["alts"][language], "text_language": {"alt": language}}


def _load_snapshot(slug: str) -> dict[str, Any] | None:
    petition = db.session.scalar(
        select(Petition).where(Petition.slug == slug, Petition.state != PetitionState.DRAFT)
    )
    if petition is None:
        return None
    campaign = petition.campaign
    return {
        "id": petition.id,
        "slug": petition.slug,
        "title": petition.title,
        "url": external_url("public.petition", slug=petition.slug),
        "ask": petition.ask,
        "background": petition.background,
        "addressee": petition.addressee,
        "starter": petition.starter,
        "translations": petition.translations or {},
        "text_language": dict.fromkeys(TRANSLATED_FIELDS, i18n.DEFAULT),
        "thresholds": thresholds.shown(petition.thresholds or [], petition.translations or {}),
        "image": {
            "alt": petition.image_alt,
            "alts": {
                code: written[PICTURE_ALT]
                for code, written in (petition.translations or {}).items()
                if written.get(PICTURE_ALT)
            },
            "renditions": [
                {"digest": r.digest, "width": r.width, "height": r.height}
                for r in images.renditions(petition.image_id)
            ],
        }
        if petition.image_id
        else None,
        "show_recent_signers": petition.show_recent_signers,
        "recent_signers": _recent_signers(petition.id) if petition.show_recent_signers else [],
        "state": petition.public_state(),
        "is_open": petition.is_open(),
        "goal": petition.goal,
        "display_goal": display_goal(petition.goal, petition.confirmed_count),
        "signature_count": petition.confirmed_count,
        "pending_count": petition.pending_count,
        "opens_at": _iso(petition.opens_at),
        "closes_at": _iso(petition.closes_at),
        "counted_at": _iso(petition.counted_at),
        "created_at": _iso(petition.created_at),
        "updated_at": _iso(petition.updated_at),
        "milestones": [
            {"threshold": m.threshold, "reached_at": _iso(m.reached_at)}
            for m in petition.milestones
        ],
        "countries": [
            {"country": code, "count": n}
            for code, n in db.session.execute(
                select(PetitionCountryCount.country, PetitionCountryCount.confirmed_count)
                .where(
                    PetitionCountryCount.petition_id == petition.id,
                    PetitionCountryCount.confirmed_count > 0,
                )
                .order_by(PetitionCountryCount.confirmed_count.desc(), PetitionCountryCount.country)
            )
        ],
        "news": [
            {
                "title": n.title,
                "body": n.body,
                "published_at": _iso(n.published_at),
                "translations": n.translations or {},
                "text_language": dict.fromkeys(NEWS_FIELDS, i18n.DEFAULT),
            }
            for n in petition.news[:NEWS_SHOWN]
        ],
        "campaign": {
            "slug": campaign.slug,
            "name": campaign.name,
            "gofundme_url": campaign.gofundme_url,
        },
    }


def recent_signers_query(petition_id: int) -> Select[Any]:
    """The latest confirmed signers who asked to be shown, newest first, with a few spare for
    names the page will not show. `show_publicly` stands bare, as in the partial index's
    predicate: PostgreSQL cannot match `show_publicly IS true` to it, and would scan."""
    return (
        select(Signature.name, Signature.country, Signature.confirmed_at)
        .where(
            Signature.petition_id == petition_id,
            Signature.show_publicly,
            Signature.state == SignatureState.CONFIRMED,
        )
        .order_by(Signature.confirmed_at.desc())
        .limit(RECENT_SIGNERS_SHOWN * 2)
    )


def _recent_signers(petition_id: int) -> list[dict[str, str]]:
    """The latest confirmed signers who asked to be shown: first name and country only."""
    rows = db.session.execute(recent_signers_query(petition_id))
    shown = [
        {"name": first, "country": country, "confirmed_at": _iso(at)}
        for name, country, at in rows
        if (first := names.first_name(name))
    ]
    return shown[:RECENT_SIGNERS_SHOWN]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
