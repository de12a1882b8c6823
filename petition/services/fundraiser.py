"""The campaign's fundraiser: where the donate links lead, who may change that, and the clicks.

Where readers' money goes is the most valuable setting there is, so it is the admins' alone,
limited to the hosts in FUNDRAISER_HOSTS (GoFundMe's, by default), and every change is audited
with the old and the new address. The tracked link checks the host again on every click.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import current_app
from limits import RateLimitItemPerMinute
from sqlalchemy import insert, select

from petition.extensions import cache, db, limiter
from petition.models import Campaign, OutboundClick, utcnow
from petition.security.clients import client_key
from petition.services import audit
from petition.services.audit import Actor
from petition.services.campaigns import HOME_KEY, forget_petitions
from petition.services.errors import InvalidInput, NotAllowed, ServiceError

FUNDRAISER_KEY = "campaign:v1:fundraiser"
# Link checkers and crawlers follow links too: their visits are not readers' clicks.
BOTS = re.compile(
    r"(?i)bot\b|crawl|spider|slurp|preview|facebookexternalhit|embedly|curl|wget|python-|"
    r"headless|lighthouse|monitor|scan"
)


class NoFundraiser(ServiceError):
    """There is no fundraiser to send readers to (or it is not an allowed one)."""


def fundraiser_url() -> str | None:
    """The campaign's fundraiser, if it is on an allowed host: the only place links lead."""
    ttl = current_app.config["COUNT_CACHE_SECONDS"] * 5
    return cache.get(FUNDRAISER_KEY, ttl, _fundraiser_url) or None


def _fundraiser_url() -> str:
    campaign_url = db.session.scalar(select(Campaign.gofundme_url).order_by(Campaign.id).limit(1))
    url = campaign_url or current_app.config["GOFUNDME_URL"] or ""
    return url if url and problem(url) is None else ""


def problem(url: str) -> str | None:
    """Why an address cannot be the fundraiser, or None when it can."""
    parts = urlsplit(url)
    allowed = current_app.config["FUNDRAISER_HOSTS"]
    if parts.scheme != "https" or not parts.hostname:
        return "Enter a full web address, starting https://"
    if parts.username or parts.password or parts.port not in (None, 443):
        return "Enter the fundraiser's plain address, as the site shows it"
    if parts.hostname.lower() not in allowed:
        return f"The fundraiser must be on {' or '.join(sorted(allowed))}"
    return None


def set_fundraiser(url: str | None, actor: Actor) -> None:
    """Point every donate link at another fundraiser (admins only; audited old and new)."""
    if not actor.is_admin:
        raise NotAllowed("Only admins can change where donations go.")
    url = (url or "").strip() or None
    if url is not None and (message := problem(url)):
        raise InvalidInput({"gofundme_url": message})
    campaign = db.session.scalar(select(Campaign).order_by(Campaign.id).limit(1))
    if campaign is None:
        raise InvalidInput({"gofundme_url": "There is no campaign yet: run the seed command"})
    old = campaign.gofundme_url
    if old != url:
        campaign.gofundme_url = url
        audit.record(actor, "fundraiser_changed", campaign.slug, {"from": old, "to": url})
    db.session.commit()
    cache.delete(HOME_KEY, FUNDRAISER_KEY)
    forget_petitions(*(p.slug for p in campaign.petitions))


def follow_link(source: str, user_agent: str | None) -> str:
    """Where the tracked link sends a reader, counting the click once per reader a minute
    (never for link checkers and crawlers)."""
    target = fundraiser_url()
    if target is None:
        raise NoFundraiser("no fundraiser configured")
    if not BOTS.search(user_agent or "") and _first_click_this_minute(source):
        db.session.execute(
            insert(OutboundClick).values(
                target="gofundme", source=source[:120], created_at=utcnow()
            )
        )
        db.session.commit()
    parts = urlsplit(target)
    utm = urlencode(
        {"utm_source": "refugees-welcome", "utm_medium": "referral", "utm_campaign": source[:60]}
    )
    return urlunsplit(parts._replace(query=f"{parts.query}&{utm}" if parts.query else utm))


ONCE_A_MINUTE = RateLimitItemPerMinute(1)


def _first_click_this_minute(source: str) -> bool:
    """Counted in the rate limiter's own store (Redis, when there is one, for every server)."""
    if not limiter.enabled:
        return True
    try:
        return limiter.limiter.hit(ONCE_A_MINUTE, "fundraiser-click", client_key(), source)
    except Exception:  # noqa: BLE001 - a store that is down must not stop the reader
        return True
