"""Partners and what they may do: who they are, their API keys (shown once, kept as a hash),
the question they ask signers beside ours, and their webhook endpoints.

Every entry point (the admin, the command line, the OSDI API) goes through these functions.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, case, func, select, update

from petition import i18n
from petition.database import read_alone
from petition.extensions import cache, db
from petition.models import (
    Partner,
    PartnerKey,
    PartnerWording,
    Petition,
    PetitionState,
    Signature,
    SignatureState,
    WebhookEndpoint,
    utcnow,
)
from petition.services import audit, figures
from petition.services.audit import Actor
from petition.services.errors import InvalidInput, NotFound

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
KEY_PREFIX = "rwp_"  # "Refugees Welcome partner": a key found in a log or a repository says whose
HOOK_PREFIX = "whsec_"
# A key's last use is written at most this often, not on every request.
LAST_USED_EVERY = timedelta(minutes=1)
# Paging through a partner's signers: the API's limits, and its published document's.
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25
# Far past any campaign's last page; beyond it a page number is a mistake (or a probe).
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class Caller:
    """A partner, as its API key lets it act."""

    partner_id: int
    slug: str
    name: str
    key_id: int
    key_prefix: str
    can_write: bool
    trusted: bool


@dataclass(frozen=True)
class NewKey:
    """A key just made: `key` is shown this once and never stored."""

    key: str
    prefix: str
    can_write: bool
    trusted: bool


def create(
    slug: str, name: str, actor: Actor, website: str = "", question: str | None = None
) -> Partner:
    errors = {}
    slug = slug.strip().lower()
    name = " ".join(name.split())
    if not SLUG.match(slug):
        errors["slug"] = "Use 1 to 60 lower-case letters, digits and hyphens, like refugee-action"
    elif db.session.scalar(select(Partner.id).where(Partner.slug == slug)) is not None:
        errors["slug"] = f"There is already a partner {slug!r}"
    if not 1 <= len(name) <= 120:
        errors["name"] = "Give the partner's name (up to 120 characters)"
    if website and not _is_web_address(website):
        errors["website"] = "Give the website's address, starting https://"
    if errors:
        db.session.rollback()
        raise InvalidInput(errors)
    partner = Partner(slug=slug, name=name, website=website.strip())
    db.session.add(partner)
    db.session.flush()
    audit.record(actor, "partner_created", slug, {"name": name, "website": partner.website})
    if question:
        _ask(partner, question, actor)
    db.session.commit()
    return partner


# What signing needs of a partner is read at most this often (a changed question shows
# within the minute everywhere).
OFFER_SECONDS = 60


def offer(slug: str | None, language: str | None = None) -> dict[str, Any] | None:
    """A partner as a sign form meets it: its name, and its own question if it asks one, in
    `language` (the one being spoken) where staff wrote it in that language, else in English:
    its words, their id and their language. None for anything that is not one of our
    partners."""
    if not slug or not SLUG.match(slug):
        return None
    found = cache.get(
        f"partner:v2:{slug}", OFFER_SECONDS, lambda: read_alone(lambda: _load_offer(slug))
    )
    if found is None:
        return None
    language = language or i18n.current().code
    question = found["questions"].get(language) or found["questions"].get(i18n.DEFAULT)
    return {
        **{k: v for k, v in found.items() if k != "questions"},
        "question_id": question["id"] if question else None,
        "question": question["text"] if question else None,
        "question_language": question["language"] if question else None,
    }


def _load_offer(slug: str) -> dict[str, Any] | None:
    partner = db.session.scalar(select(Partner).where(Partner.slug == slug))
    if partner is None:
        return None
    asked = {code: partner.question_in(code) for code in i18n.LANGUAGES}
    return {
        "id": partner.id,
        "slug": partner.slug,
        "name": partner.name,
        "questions": {
            code: {"id": w.id, "text": w.text, "language": w.language}
            for code, w in asked.items()
            if w is not None
        },
    }


def forget(slug: str) -> None:
    cache.delete(f"partner:v2:{slug}")


def get(slug: str) -> Partner:
    partner = db.session.scalar(select(Partner).where(Partner.slug == slug))
    if partner is None:
        raise NotFound(f"no partner {slug!r}")
    return partner


def all_partners() -> list[Partner]:
    return list(db.session.scalars(select(Partner).order_by(Partner.name)))


def set_question(
    slug: str, question: str | None, actor: Actor, translations: dict[str, str] | None = None
) -> Partner:
    """Ask signers the partner's own question in these words (None: ask nothing), and in
    other languages as `translations` gives them ({"uk": "…"}; an empty one: that language's
    readers get the English). Changed words are a new wording; answers to the old ones keep
    them. New English words with no `translations` given leave no other language asking the
    old question: readers of those see the new English until it is translated again."""
    partner = get(slug)
    if question and question.strip():
        changed = _ask(partner, question, actor)
        given = translations if translations is not None else ({} if changed else None)
        if given is not None:
            _translate(partner, given, actor)
    elif partner.asks_opt_in:
        partner.asks_opt_in = False
        partner.question_translations = {}
        audit.record(actor, "partner_question_removed", slug)
    db.session.commit()
    forget(slug)
    return partner


def _words(text: str, field: str) -> str:
    words = " ".join(text.split())
    if not 10 <= len(words) <= 500:
        db.session.rollback()
        raise InvalidInput({field: "Write the question in 10 to 500 characters"})
    return words


def _ask(partner: Partner, question: str, actor: Actor) -> bool:
    """Ask the question in English in these words; whether they are new."""
    text = _words(question, "question")
    current = partner.question
    english = [w for w in partner.wordings if w.language == i18n.DEFAULT]
    latest = english[-1] if english else None
    if latest is None or latest.text != text:
        wording = PartnerWording(partner_id=partner.id, text=text, language=i18n.DEFAULT)
        partner.wordings.append(wording)
    partner.asks_opt_in = True
    audit.record(actor, "partner_question_set", partner.slug, {"question": text})
    return current is None or current.text != text


def _translate(partner: Partner, given: dict[str, str], actor: Actor) -> None:
    """The question in each language of `given` ("" or absent: none, so the English)."""
    asked: dict[str, int] = {}
    for code in i18n.LANGUAGES:
        if code == i18n.DEFAULT or not (given.get(code) or "").strip():
            continue
        text = _words(given[code], f"{code}_question")
        current = partner.question_in(code)
        if current is not None and current.language == code and current.text == text:
            asked[code] = current.id
            continue
        wording = PartnerWording(partner_id=partner.id, text=text, language=code)
        partner.wordings.append(wording)
        db.session.flush()
        asked[code] = wording.id
        audit.record(
            actor, "partner_question_set", partner.slug, {"question": text, "language": code}
        )
    if asked != (partner.question_translations or {}):
        partner.question_translations = asked


def issue_key(slug: str, actor: Actor, can_write: bool = False, trusted: bool = False) -> NewKey:
    """A new API key for a partner. A trusted key records signatures as confirmed, with no
    email from us (the partner confirmed them itself), so it can write too."""
    partner = get(slug)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = PartnerKey(
        partner_id=partner.id,
        key_hash=key_hash(key),
        prefix=key[:12],
        can_write=can_write or trusted,
        trusted=trusted,
    )
    db.session.add(record)
    audit.record(
        actor,
        "partner_key_issued",
        slug,
        {"prefix": record.prefix, "write": record.can_write, "trusted": trusted},
    )
    db.session.commit()
    return NewKey(key, record.prefix, record.can_write, trusted)


def revoke_key(prefix: str, actor: Actor) -> PartnerKey:
    found = db.session.scalar(
        select(PartnerKey).where(PartnerKey.prefix == prefix, PartnerKey.revoked_at.is_(None))
    )
    if found is None:
        raise NotFound(f"no key {prefix!r} in use")
    found.revoked_at = utcnow()
    audit.record(actor, "partner_key_revoked", found.partner.slug, {"prefix": prefix})
    db.session.commit()
    return found


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def authenticate(key: str | None) -> Caller | None:
    """The partner a key belongs to, if the key is one of ours and not revoked."""
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    row = db.session.execute(
        select(PartnerKey, Partner)
        .join(Partner, Partner.id == PartnerKey.partner_id)
        .where(PartnerKey.key_hash == key_hash(key), PartnerKey.revoked_at.is_(None))
    ).first()
    if row is None:
        db.session.rollback()
        return None
    found, partner = row
    caller = Caller(
        partner.id,
        partner.slug,
        partner.name,
        found.id,
        found.prefix,
        found.can_write,
        found.trusted,
    )
    now = utcnow()
    if found.last_used_at is None or now - found.last_used_at > LAST_USED_EVERY:
        db.session.execute(
            update(PartnerKey).where(PartnerKey.id == found.id).values(last_used_at=now)
        )
        db.session.commit()
    else:
        db.session.rollback()
    return caller


def add_webhook(slug: str, url: str, actor: Actor) -> tuple[WebhookEndpoint, str]:
    """A webhook endpoint for a partner, and the secret its events are signed with (the
    partner checks each event with it; see the README)."""
    partner = get(slug)
    url = url.strip()
    if not _is_web_address(url, allow_http=False) and not _is_loopback(url):
        raise InvalidInput({"url": "Give an https:// address the partner receives events at"})
    secret = HOOK_PREFIX + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(partner_id=partner.id, url=url, secret=secret)
    db.session.add(endpoint)
    audit.record(actor, "webhook_added", slug, {"url": url})
    db.session.commit()
    return endpoint, secret


def _is_web_address(url: str, allow_http: bool = True) -> bool:
    parts = urlsplit(url.strip())
    schemes = ("https", "http") if allow_http else ("https",)
    return parts.scheme in schemes and bool(parts.hostname) and len(url) <= 500


def _is_loopback(url: str) -> bool:
    """Plain http is allowed to this machine only (a partner's relay, tests)."""
    parts = urlsplit(url.strip())
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Signer:
    """What a partner may know of a signer who said yes to its question."""

    id: int
    name: str
    email: str
    postcode: str
    country: str
    language: str
    source: str
    referrer_host: str | None
    signed_at: datetime
    confirmed_at: datetime | None
    consented_at: datetime
    updated_at: datetime


def opted_in_signers(
    caller: Caller, slug: str, page: int = 1, per_page: int = 1, only: int | None = None
) -> tuple[list[Signer], int]:
    """One page of the partner's own signers of a petition who said yes to its question and
    whose signature counts (oldest first), and how many there are in all; or `only` the one
    with that id. Audited: it is personal data leaving us."""
    petition_id = db.session.scalar(
        select(Petition.id).where(Petition.slug == slug, Petition.state != PetitionState.DRAFT)
    )
    if petition_id is None:
        db.session.rollback()
        raise NotFound(f"no petition {slug!r}")
    theirs = (
        Signature.partner_id == caller.partner_id,
        Signature.petition_id == petition_id,
        Signature.partner_consented_at.is_not(None),
        Signature.state == SignatureState.CONFIRMED,
        Signature.email.is_not(None),
        *((Signature.id == only,) if only is not None else ()),
    )
    total = db.session.scalar(select(func.count()).select_from(Signature).where(*theirs)) or 0
    page_of_them = (
        select(
            Signature.id,
            Signature.name,
            Signature.email,
            Signature.postcode,
            Signature.country,
            Signature.language,
            Signature.source,
            Signature.referrer_host,
            Signature.created_at,
            Signature.confirmed_at,
            Signature.partner_consented_at,
            Signature.updated_at,
        )
        .where(*theirs)
        .order_by(Signature.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    # Past the last page there is nothing to read (and an offset that large may not fit the
    # database's integers); the read is audited all the same.
    rows = db.session.execute(page_of_them).all() if (page - 1) * per_page < total else []
    signers = [
        Signer(
            r.id,
            r.name or "",
            r.email or "",
            r.postcode or "",
            r.country,
            r.language,
            r.source,
            r.referrer_host,
            r.created_at,
            r.confirmed_at,
            r.partner_consented_at,
            r.updated_at,
        )
        for r in rows
    ]
    actor = Actor(f"partner {caller.slug} (API key {caller.key_prefix})")
    audit.record(
        actor, "partner_read_signers", slug, {"page": page, "per_page": per_page}, len(signers)
    )
    db.session.commit()
    return signers, total


def by_partner(petition_id: int) -> figures.Stored:
    """A petition's signatures by the partner they came through (None: directly), as rows of
    [name, made, confirmed, confirmed and said yes to the partner's question]; worked out by
    the worker with the other standing figures (a scan of the petition's signatures)."""
    return figures.get("partners", petition_id)


@figures.figure("partners")
def _by_partner(petition_id: int) -> list[list[Any]]:
    confirmed = Signature.state == SignatureState.CONFIRMED
    said_yes = and_(confirmed, Signature.partner_consented_at.is_not(None))
    rows = db.session.execute(
        select(
            Partner.name,
            func.count(),
            func.sum(case((confirmed, 1), else_=0)),
            func.sum(case((said_yes, 1), else_=0)),
        )
        .select_from(Signature)
        .outerjoin(Partner, Partner.id == Signature.partner_id)
        .where(Signature.petition_id == petition_id)
        .group_by(Partner.name)
        .order_by(func.count().desc())
    )
    return [[name, total, int(ok or 0), int(yes or 0)] for name, total, ok, yes in rows]
