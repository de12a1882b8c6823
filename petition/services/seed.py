"""The Refugees Welcome campaign as it launched: created once, never duplicated."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from petition.extensions import db
from petition.models import Campaign, Petition, PetitionState, utcnow
from petition.services.signing import current_consent

CAMPAIGN_SLUG = "refugees-welcome"
PETITION_SLUG = "help-ukraine-refugees"

CAMPAIGN = {
    "slug": CAMPAIGN_SLUG,
    "name": "Refugees Welcome",
    "tagline": "Standing with people forced from their homes since 2015.",
    "intro": (
        "We started Refugees Welcome in 2015, when families escaping the war in Syria were "
        "crossing Europe on foot. In 2022, as millions of people left Ukraine after the Russian "
        "invasion, we brought the campaign back. Add your name to our petition, pass it on, "
        "and give what you can to the fundraiser."
    ),
    "history": (
        "Our newspaper has a long record of speaking up for people with the least power to "
        "speak for themselves. Refugees Welcome first ran during the Syrian war in 2015. We "
        "have renewed it for the war in Ukraine, and this time we are asking the government "
        "to act with more ambition and more urgency so that help actually arrives."
    ),
}

PETITION = {
    "slug": PETITION_SLUG,
    "title": "Go further and faster to help people fleeing the war in Ukraine",
    "ask": (
        "We are asking the government to go further, and move faster, to make sure help gets "
        "to people who have fled the war in Ukraine: fewer obstacles for those seeking safety "
        "here, quicker decisions, and support that reaches them when they need it, not months "
        "later."
    ),
    "background": (
        "Since Russian forces crossed into Ukraine in February 2022, millions of people have "
        "left their homes. Our Refugees Welcome campaign, first launched in 2015 for people "
        "escaping the war in Syria, is back. Every signature adds weight when we take this "
        "petition to the government."
    ),
    "goal": 10_000,
}


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "created " + ", ".join(self.created) if self.created else "nothing to do"


def seed() -> SeedReport:
    """Create whatever part of the seed data is missing; running it again changes nothing."""
    report = SeedReport()
    current_consent()
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == CAMPAIGN_SLUG))
    if campaign is None:
        gofundme = current_app.config["GOFUNDME_URL"] or None
        campaign = Campaign(**CAMPAIGN, gofundme_url=gofundme)
        db.session.add(campaign)
        report.created.append(f"campaign {CAMPAIGN_SLUG}")
    petition = db.session.scalar(select(Petition).where(Petition.slug == PETITION_SLUG))
    if petition is None:
        db.session.add(
            Petition(**PETITION, campaign=campaign, state=PetitionState.OPEN, opens_at=utcnow())
        )
        report.created.append(f"petition {PETITION_SLUG}")
    db.session.commit()
    return report
