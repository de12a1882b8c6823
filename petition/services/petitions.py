"""Running the campaign: petitions, their news and the campaign's own copy, edited by staff."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select

from petition.extensions import cache, db
from petition.models import Campaign, Petition, PetitionNews, PetitionState, utcnow
from petition.services import audit, images, mailings, thresholds
from petition.services.audit import Actor
from petition.services.campaigns import HOME_KEY, PICTURE_ALT, forget_petitions
from petition.services.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class PetitionDraft:
    slug: str
    title: str
    ask: str
    background: str
    goal: int
    closes_at: datetime | None
    addressee: str = ""
    starter: str = ""
    thresholds: list[dict[str, Any]] = field(default_factory=list)
    show_recent_signers: bool = False
    translations: dict[str, dict[str, str]] = field(default_factory=dict)


def _checked(draft: PetitionDraft, keep: dict[str, dict[str, str]] | None = None) -> PetitionDraft:
    """The draft with each other language's thresholds checked against the English ones, and
    the picture's description in each language kept from `keep` (the picture's own form
    edits it)."""
    translations: dict[str, dict[str, str]] = {}
    for code in {*draft.translations, *(keep or {})}:
        written = dict(draft.translations.get(code, {}))
        if text := written.get("thresholds"):
            written["thresholds"] = thresholds.translated(draft.thresholds, text, code)
        if alt := (keep or {}).get(code, {}).get(PICTURE_ALT):
            written[PICTURE_ALT] = alt
        if written:
            translations[code] = written
    return replace(draft, translations=translations)


def get(slug: str) -> Petition:
    petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
    if petition is None:
        raise NotFound(f"no petition {slug!r}")
    return petition


def create(draft: PetitionDraft, actor: Actor) -> Petition:
    """A new petition, as a draft: nobody sees it until it is opened."""
    draft = _checked(draft)
    if db.session.scalar(select(Petition.id).where(Petition.slug == draft.slug)):
        raise InvalidInput({"slug": "Another petition already uses this address"})
    campaign = db.session.scalar(select(Campaign).order_by(Campaign.id).limit(1))
    if campaign is None:
        raise NotFound("no campaign: run `flask --app app seed` first")
    petition = Petition(campaign=campaign, state=PetitionState.DRAFT, **draft.__dict__)
    db.session.add(petition)
    audit.record(actor, "petition_created", draft.slug)
    db.session.commit()
    _forget(petition.slug)
    return petition


def update(slug: str, draft: PetitionDraft, actor: Actor) -> Petition:
    petition = get(slug)
    if draft.slug != slug:
        raise InvalidInput({"slug": "A petition's address cannot change once it exists"})
    draft = _checked(draft, keep=petition.translations)
    fields = (
        "title",
        "ask",
        "background",
        "goal",
        "closes_at",
        "addressee",
        "starter",
        "thresholds",
        "show_recent_signers",
        "translations",
    )
    changed = audit.set_fields(petition, {f: getattr(draft, f) for f in fields})
    audit.record(actor, "petition_updated", slug, {"changed": changed})
    db.session.commit()
    _forget(slug)
    return petition


def set_picture(
    slug: str,
    upload: bytes | None,
    alt: str,
    actor: Actor,
    translations: dict[str, str] | None = None,
) -> Petition:
    """Give the petition a hero picture (a new upload, or new words for the one it has).
    The words are required: they are what a reader who cannot see the picture gets. In
    other languages (`translations`: {"uk": "…"}) they are optional: a reader of a language
    with none gets the English, marked as English."""
    petition = get(slug)
    errors = {}
    described = {code: " ".join(text.split()) for code, text in (translations or {}).items()}
    alt = " ".join(alt.split())
    for name, text in (("alt", alt), *((f"{c}_alt", t) for c, t in described.items())):
        if not text and name == "alt":
            errors[name] = "Describe the picture for readers who cannot see it"
        elif len(text) > 300:
            errors[name] = "Keep the description to 300 characters or fewer"
    if upload is None and petition.image_id is None:
        errors[images.FIELD] = "Choose a picture to upload"
    if errors:
        raise InvalidInput(errors)
    image_id = petition.image_id
    if upload is not None:
        image = images.store_upload(upload, actor.label)
        db.session.flush()
        image_id = image.id
    described = None if translations is None else described
    return _show_picture(petition, image_id, alt, described, "petition_picture_set", actor)


def remove_picture(slug: str, actor: Actor) -> Petition:
    """Take the picture off the petition page (the stored file stays for the audit trail)."""
    return _show_picture(get(slug), None, "", {}, "petition_picture_removed", actor)


def _show_picture(
    petition: Petition,
    image_id: int | None,
    alt: str,
    described: dict[str, str] | None,
    action: str,
    actor: Actor,
) -> Petition:
    """Show the picture with its description in English and, per language, as `described`
    ({"uk": "…"}; an empty one, or a language left out, has none; None leaves them as they
    are). No picture, no description in any language."""
    changed = audit.set_fields(petition, {"image_id": image_id, "image_alt": alt})
    before = petition.translations or {}
    translations: dict[str, dict[str, str]] = {}
    for code in sorted({*before, *(described or {})}):
        kept = {k: v for k, v in before.get(code, {}).items() if k != PICTURE_ALT}
        was = before.get(code, {}).get(PICTURE_ALT, "")
        now = (was if described is None else described.get(code, "")) if image_id else ""
        if now:
            kept[PICTURE_ALT] = now
        if now != was:
            changed[f"{code}_alt"] = {"from": was, "to": now}
        if kept:
            translations[code] = kept
    petition.translations = translations
    audit.record(actor, action, petition.slug, {"changed": changed})
    db.session.commit()
    _forget(petition.slug)
    return petition


def open_petition(slug: str, actor: Actor) -> Petition:
    petition = get(slug)
    petition.state = PetitionState.OPEN
    petition.opens_at = petition.opens_at or utcnow()
    petition.closed_at = None
    if petition.closes_at and petition.closes_at <= utcnow():
        petition.closes_at = None
    audit.record(actor, "petition_opened", slug)
    db.session.commit()
    _forget(slug)
    return petition


def close_petition(slug: str, actor: Actor) -> Petition:
    petition = get(slug)
    petition.state = PetitionState.CLOSED
    petition.closed_at = utcnow()
    audit.record(actor, "petition_closed", slug)
    db.session.commit()
    _forget(slug)
    return petition


@dataclass(frozen=True)
class NewsDraft:
    title: str
    body: str
    translations: dict[str, dict[str, str]] = field(default_factory=dict)


def post_news(slug: str, draft: NewsDraft, actor: Actor) -> PetitionNews:
    """Tell everyone who comes to the petition what happened next; shown at once."""
    petition = get(slug)
    news = PetitionNews(
        petition=petition,
        title=draft.title,
        body=draft.body,
        translations=draft.translations,
        published_at=utcnow(),
        author=actor.label,
    )
    db.session.add(news)
    audit.record(actor, "news_posted", slug, {"title": draft.title})
    db.session.commit()
    _forget(slug)
    return news


def remove_news(slug: str, news_id: int, actor: Actor) -> None:
    """Take news off the petition page and stop its mailing (emails sent cannot come back)."""
    news = mailings.news_item(slug, news_id)
    mailings.stop_for_removed_news(news, actor)
    db.session.delete(news)
    audit.record(actor, "news_removed", slug, {"title": news.title})
    db.session.commit()
    _forget(slug)


@dataclass(frozen=True)
class CampaignCopy:
    name: str
    tagline: str
    intro: str
    history: str
    translations: dict[str, dict[str, str]] = field(default_factory=dict)


def current_campaign() -> Campaign:
    campaign = db.session.scalar(select(Campaign).order_by(Campaign.id).limit(1))
    if campaign is None:
        raise NotFound("no campaign: run `flask --app app seed` first")
    return campaign


def update_campaign(copy: CampaignCopy, actor: Actor) -> Campaign:
    campaign = current_campaign()
    changed = audit.set_fields(campaign, copy.__dict__)
    audit.record(actor, "campaign_updated", campaign.slug, {"changed": changed})
    db.session.commit()
    cache.delete(HOME_KEY)
    forget_petitions(*(p.slug for p in campaign.petitions))
    return campaign


def _forget(slug: str) -> None:
    forget_petitions(slug)
    cache.delete(HOME_KEY)
