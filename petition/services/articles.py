"""Articles: what readers see, what editors change, and which stories move people to act."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from petition import i18n
from petition.config import image_origins
from petition.extensions import cache, db
from petition.models import (
    Article,
    ArticleState,
    Petition,
)
from petition.services import audit
from petition.services.audit import Actor
from petition.services.errors import InvalidInput, NotFound
from petition.urls import external_url

LIST_KEY = "articles:v2:published"
MIN_POINTS, MAX_POINTS = 3, 6


def source_for(slug: str) -> str:
    """How signatures, donations and clicks started on an article are labelled."""
    return f"article:{slug}"


# What staff write per language of a story's summary.
ARTICLE_FIELDS = ("headline", "standfirst", "key_points", "share_description", "image_alt")


def published() -> list[dict[str, Any]]:
    """Published articles, newest first (cached briefly), in the reader's language."""
    found = cache.get(LIST_KEY, current_app.config["COUNT_CACHE_SECONDS"] * 5, _load_published)
    language = i18n.current().code
    return [i18n.localized(a, language, ARTICLE_FIELDS) for a in found]


def _load_published() -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(Article)
        .where(Article.state == ArticleState.PUBLISHED)
        .order_by(Article.published_on.desc(), Article.id.desc())
    )
    return [_describe(a) for a in rows]


def page(slug: str, include_drafts: bool = False) -> dict[str, Any]:
    """One article as its page shows it; drafts only for previews."""
    if include_drafts:
        found = _load(slug, include_drafts=True)
    else:
        ttl = current_app.config["COUNT_CACHE_SECONDS"]
        found = cache.get(f"article:v2:{slug}", ttl, lambda: _load(slug))
    if found is None:
        raise NotFound(f"no article {slug!r}")
    return i18n.localized(found, i18n.current().code, ARTICLE_FIELDS)


def _load(slug: str, include_drafts: bool = False) -> dict[str, Any] | None:
    query = select(Article).where(Article.slug == slug)
    if not include_drafts:
        query = query.where(Article.state == ArticleState.PUBLISHED)
    article = db.session.scalar(query)
    return _describe(article) if article else None


def _describe(a: Article) -> dict[str, Any]:
    return {
        "id": a.id,
        "slug": a.slug,
        "headline": a.headline,
        "standfirst": a.standfirst,
        "key_points": list(a.key_points or []),
        "share_description": a.share_description or a.standfirst,
        "translations": a.translations or {},
        "text_language": dict.fromkeys(ARTICLE_FIELDS, i18n.DEFAULT),
        "source_url": a.source_url,
        "publisher": a.publisher,
        "published_on": a.published_on.isoformat(),
        "image_url": a.image_url,
        "image_alt": a.image_alt or "",
        "petition_slug": a.petition.slug if a.petition else None,
        "state": a.state.value,
        "url": external_url("public.article", slug=a.slug),
    }


@dataclass(frozen=True)
class ArticleDraft:
    slug: str
    headline: str
    standfirst: str
    key_points: list[str]
    share_description: str | None
    source_url: str
    publisher: str
    published_on: date
    image_url: str | None
    image_alt: str | None
    petition_slug: str | None
    translations: dict[str, dict[str, Any]] = field(default_factory=dict)


def _check(draft: ArticleDraft) -> None:
    if not MIN_POINTS <= len(draft.key_points) <= MAX_POINTS:
        raise InvalidInput(
            {"key_points": f"Give between {MIN_POINTS} and {MAX_POINTS} key points, one per line"}
        )
    if draft.image_url and not draft.image_alt:
        raise InvalidInput({"image_alt": "Describe the image for people who cannot see it"})
    if draft.image_url and not _image_allowed(draft.image_url):
        allowed = " ".join(image_origins(current_app.config)) or "none yet"
        raise InvalidInput(
            {
                "image_url": "Pictures can only come from our picture servers "
                f"(IMAGE_HOSTS: {allowed}): browsers would refuse any other"
            }
        )


def _image_allowed(url: str) -> bool:
    """Whether pages may show this picture: from one of IMAGE_HOSTS (the content policy's)."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{(parts.netloc or '').lower()}"
    return origin in image_origins(current_app.config)


def _petition_id(slug: str | None) -> int | None:
    if not slug:
        return None
    petition_id = db.session.scalar(select(Petition.id).where(Petition.slug == slug))
    if petition_id is None:
        raise InvalidInput({"petition": "Choose one of the campaign's petitions"})
    return petition_id


def _fields(draft: ArticleDraft) -> dict[str, Any]:
    values = {k: v for k, v in draft.__dict__.items() if k not in ("slug", "petition_slug")}
    values["petition_id"] = _petition_id(draft.petition_slug)
    return values


def get(slug: str) -> Article:
    article = db.session.scalar(select(Article).where(Article.slug == slug))
    if article is None:
        raise NotFound(f"no article {slug!r}")
    return article


def all_articles() -> list[Article]:
    return list(
        db.session.scalars(select(Article).order_by(Article.published_on.desc(), Article.id.desc()))
    )


def create(draft: ArticleDraft, actor: Actor) -> Article:
    _check(draft)
    if db.session.scalar(select(Article.id).where(Article.slug == draft.slug)):
        raise InvalidInput({"slug": "Another article already uses this address"})
    article = Article(slug=draft.slug, state=ArticleState.DRAFT, **_fields(draft))
    db.session.add(article)
    audit.record(actor, "article_created", draft.slug)
    db.session.commit()
    return article


def update(slug: str, draft: ArticleDraft, actor: Actor) -> Article:
    _check(draft)
    article = get(slug)
    changed = audit.set_fields(article, _fields(draft))
    audit.record(actor, "article_updated", slug, {"changed": changed})
    db.session.commit()
    _forget(slug)
    return article


def set_published(slug: str, publish: bool, actor: Actor) -> Article:
    article = get(slug)
    article.state = ArticleState.PUBLISHED if publish else ArticleState.DRAFT
    audit.record(actor, "article_published" if publish else "article_unpublished", slug)
    db.session.commit()
    _forget(slug)
    return article


def _forget(slug: str) -> None:
    cache.delete(LIST_KEY, f"article:v2:{slug}")
