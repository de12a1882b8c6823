"""What the campaign home page shows, cached like the counts it carries."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from petition.extensions import cache, db
from petition.models import Campaign, Petition, PetitionState
from petition.services.counting import petition_snapshot
from petition.services.errors import NotFound

HOME_KEY = "campaign:v1:home"


def campaign_overview() -> dict[str, Any]:
    """The campaign, with its public petitions (open first) and their counts."""
    ttl = current_app.config["COUNT_CACHE_SECONDS"]
    overview = cache.get(HOME_KEY, ttl, _load_overview)
    if overview is None:
        raise NotFound("no campaign yet: run `flask --app app seed`")
    petitions = [petition_snapshot(slug) for slug in overview["petition_slugs"]]
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
        "gofundme_url": campaign.gofundme_url,
        "petition_slugs": list(slugs),
    }
