"""Readers' rights: everything we hold about a person, a copy of it, erasure — for staff
answering a request and for readers themselves, from a link we email them.

A person is known by the keyed hash of their canonical address, so a request finds every
signature of theirs, on any petition, in any spelling, and erased ones too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, or_, select, update

from petition import i18n
from petition.extensions import db
from petition.i18n import N_, gettext
from petition.mail import queue_email
from petition.mail.delivery import Drop, Outgoing
from petition.models import ConsentWording, OutboxMessage, Signature, SignatureToken, utcnow
from petition.ops import logs
from petition.security.email_hash import email_hashes
from petition.security.keys import signing_keys
from petition.services import audit, consent, webhooks
from petition.services.addresses import canonical_email, masked_email
from petition.services.audit import Actor
from petition.services.errors import InvalidInput, LinkInvalid
from petition.urls import external_url

PRIVACY_LINK = "privacy_link"
LINK_SALT = "privacy-me"

log = logging.getLogger("petition.privacy")
# What the log says of each erasure, with the keyed hashes of the address (see erase()).
ERASED = "erased a person's details"
HASHES = re.compile(r"[0-9a-f]{64}(?:,[0-9a-f]{64})*")


@dataclass(frozen=True)
class Person:
    """Someone whose data we may hold: every hash their address may be stored under."""

    hashes: tuple[str, ...]
    label: str  # how the audit log names them: a masked address, never the address

    @classmethod
    def by_address(cls, address: str) -> Person:
        if "@" not in address:
            raise InvalidInput({"email": "Enter the reader's email address"})
        canonical = canonical_email(address)
        return cls(tuple(email_hashes(canonical)), masked_email(canonical))


READER = Actor("the reader (privacy page)")


def signatures_of(person: Person) -> list[Signature]:
    """Every signature of the person, on any petition (erased ones too, without their data)."""
    return list(
        db.session.scalars(
            select(Signature)
            .where(Signature.email_hash.in_(person.hashes))
            .order_by(Signature.created_at, Signature.id)
        )
    )


def subject_access(person: Person, actor: Actor) -> dict[str, Any]:
    """Everything we hold about a person, ready to hand to them; the request is audited."""
    signatures = signatures_of(person)
    report = {
        "generated_at": utcnow().isoformat(),
        "controller": current_app.config["ORGANISATION_NAME"],
        "signatures": [_describe(s) for s in signatures],
        "campaign_updates": {
            "wanted_now": consent.wants_updates(person.hashes),
            "history": [
                {
                    "at": e.at.isoformat(),
                    "given": e.given,
                    "how": e.route,
                    **_wording(e.wording_id),
                }
                for e in consent.history(person.hashes)
            ],
        },
        "emails": _emails(signatures),
    }
    audit.record(actor, "subject_access", person.label, row_count=len(signatures))
    db.session.commit()
    return report


# What each field of a signature is called in the copy a reader asks for (the JSON keeps the
# keys): translated where it is shown.
FIELD_NAMES = {
    "name": N_("Name"),
    "email": N_("Email address"),
    "postcode": N_("Postcode"),
    "country": N_("Country"),
    "state": N_("State"),
    "signed_at": N_("Signed"),
    "confirmed_at": N_("Confirmed"),
    "withdrawn_at": N_("Withdrawn"),
    "invalidated_at": N_("Not counted since"),
    "invalidation_reason": N_("Why it is not counted"),
    "erased_at": N_("Erased"),
    "asked_for_updates_when_signing": N_("Asked for campaign updates when signing"),
    "consent_wording": N_("The words agreed to"),
    "consent_wording_language": N_("The language of those words"),
    "consented_at": N_("Agreed"),
    "shown_as_recent_signer": N_("Shown among recent signers"),
    "partner": N_("Signed through"),
    "partner_question": N_("Their question, which you said yes to"),
    "partner_question_language": N_("The language of their question"),
    "partner_agreed_at": N_("Said yes to their question"),
    "source": N_("Where you signed"),
    "referrer_host": N_("The site you came from"),
    "utm_source": N_("Campaign link: source"),
    "utm_medium": N_("Campaign link: medium"),
    "utm_campaign": N_("Campaign link: campaign"),
    "ip_address": N_("IP address"),
}
STATE_NAMES = {
    "pending": N_("waiting for confirmation"),
    "confirmed": N_("confirmed and counted"),
    "withdrawn": N_("withdrawn"),
    "invalidated": N_("not counted"),
}


def _describe(s: Signature) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "petition": s.petition.title_in(i18n.current().code),
        "name": s.name,
        "email": s.email,
        "postcode": s.postcode,
        "country": s.country,
        "state": s.state.value,
        "signed_at": iso(s.created_at),
        "confirmed_at": iso(s.confirmed_at),
        "withdrawn_at": iso(s.withdrawn_at),
        "invalidated_at": iso(s.invalidated_at),
        "invalidation_reason": s.invalidation_reason,
        "erased_at": iso(s.erased_at),
        "asked_for_updates_when_signing": s.consent_updates,
        "consent_wording": s.consent_wording.text if s.consent_wording else None,
        "consent_wording_language": (
            consent.wording_language(s.consent_wording) if s.consent_wording else None
        ),
        "consented_at": iso(s.consented_at),
        "shown_as_recent_signer": s.show_publicly,
        "partner": s.partner.name if s.partner else None,
        "partner_question": s.partner_wording.text if s.partner_wording else None,
        "partner_question_language": s.partner_wording.language if s.partner_wording else None,
        "partner_agreed_at": iso(s.partner_consented_at),
        "source": s.source,
        "referrer_host": s.referrer_host,
        "utm_source": s.utm_source,
        "utm_medium": s.utm_medium,
        "utm_campaign": s.utm_campaign,
        "ip_address": s.ip_address,
    }


def _wording(wording_id: int | None) -> dict[str, str | None]:
    """The words an answer was given to, and the language they were shown in."""
    wording = db.session.get(ConsentWording, wording_id) if wording_id is not None else None
    if wording is None:
        return {"wording": None, "wording_language": None}
    return {"wording": wording.text, "wording_language": consent.wording_language(wording)}


def _emails(signatures: list[Signature]) -> list[dict[str, Any]]:
    """The emails we sent (or mean to send) them, while their records are kept."""
    ids = [s.id for s in signatures]
    addresses = {s.email for s in signatures if s.email}
    if not ids:
        return []
    rows = db.session.execute(
        select(
            OutboxMessage.kind,
            OutboxMessage.subject,
            OutboxMessage.created_at,
            OutboxMessage.sent_at,
            OutboxMessage.failed_at,
        )
        .where(or_(OutboxMessage.signature_id.in_(ids), OutboxMessage.to_address.in_(addresses)))
        .order_by(OutboxMessage.created_at)
    ).all()
    return [
        {
            "email": kind,
            "subject": subject,
            "queued_at": queued.isoformat(),
            "sent_at": sent.isoformat() if sent else None,
            "failed_at": failed.isoformat() if failed else None,
        }
        for kind, subject, queued, sent, failed in rows
    ]


def erase(person: Person, actor: Actor) -> int:
    """Remove a person's personal data from every signature; the counts stay as they were.

    The signatures remain as anonymous rows in their state, so totals and charts do not move,
    and each keeps the keyed hash of its address: the same person signing again is told they
    already signed, and is not counted twice. Their links stop working, mail still waiting for
    them is dropped, and their answers about updates go too.
    """
    signatures = signatures_of(person)
    ids = [s.id for s in signatures if s.erased_at is None]
    # Partners who were given their details erase them too (only those they said yes to).
    for s in signatures:
        if s.erased_at is None and s.partner_id and s.partner_consented_at and s.email:
            data = {
                "identifiers": [f"refugees_welcome:{s.id}"],
                "petition": s.petition.slug,
                "email_addresses": [{"address": s.email}],
            }
            webhooks.enqueue(s.partner_id, "person.erased", data)
    if ids:
        anonymise(ids)
    consent.forget(person.hashes)
    audit.record(actor, "erase", person.label, row_count=len(ids))
    db.session.commit()
    # A backup made before now still holds these details, and a database restored from it
    # would not know they were erased. The log, kept apart from the database, says so: by the
    # keyed hashes alone, never the address, for `flask erase-again` after a restore.
    log.info(ERASED, extra={"erased": ",".join(person.hashes), "signatures": len(ids)})
    return len(ids)


# The text format's line (development), from its start: "<date> <time> INFO petition.privacy: …".
ERASED_TEXT = re.compile(
    rf"^\S+ \S+ INFO {re.escape(log.name)}: {re.escape(ERASED)} erased=({HASHES.pattern}) "
)
RESTORED = Actor("flask erase-again (after a restore)")


def erased_in_log(lines: Iterable[str]) -> list[tuple[str, ...]]:
    """Each person the log says was erased, as the hashes their address may be stored under
    (once each, in the log's order). Only our own erasure lines count: JSON lines (whatever a
    log store puts in front) from this logger with this message, or the text format's; a
    reader's request that merely mentions them, logged by the access log, does not."""
    people: dict[tuple[str, ...], None] = {}
    for line in lines:
        hashes = _erased_json(line) or _erased_text(line)
        if hashes:
            people[tuple(hashes.split(","))] = None
    return list(people)


def _erased_json(line: str) -> str | None:
    entry = logs.entry_in(line, log.name, ERASED)
    hashes = entry.get("erased") if entry else None
    return hashes if isinstance(hashes, str) and HASHES.fullmatch(hashes) else None


def _erased_text(line: str) -> str | None:
    found = ERASED_TEXT.match(line)
    return found.group(1) if found else None


def erase_again(people: list[tuple[str, ...]]) -> int:
    """After a restore, erase again everyone the log says was erased (the signatures a backup
    brought back); those still erased are left as they are. How many signatures were erased."""
    erased = 0
    for hashes in people:
        erased += erase(Person(hashes, f"erased before a restore ({hashes[0][:12]}…)"), RESTORED)
    return erased


def anonymise(ids: list[int]) -> None:
    """Personal data out of these signatures (and their mail), in the caller's transaction.

    What counts keep — state, country, dates, the keyed hash — stays.
    """
    now = utcnow()
    db.session.execute(
        update(Signature)
        .where(Signature.id.in_(ids))
        .values(
            name=None,
            email=None,
            canonical_email=None,
            email_domain=None,
            postcode=None,
            ip_address=None,
            referrer_host=None,
            utm_source=None,
            utm_medium=None,
            utm_campaign=None,
            show_publicly=False,
            erased_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.execute(delete(SignatureToken).where(SignatureToken.signature_id.in_(ids)))
    db.session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.signature_id.in_(ids), OutboxMessage.sent_at.is_(None)
        )
    )
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.signature_id.in_(ids))
        .values(to_address=None, context=None)
        .execution_options(synchronize_session=False)
    )


# A reader's own privacy page, from a link we email them.


def request_link(address: str) -> None:
    """Email a link to the reader's own privacy page, if we hold anything about the address.

    The same thing happens whatever the answer, so the response tells nobody whether an
    address has signed: the worker decides, as it sends, whether there is anything to send.
    """
    language = i18n.current().code  # the page's: the email and the page it links to speak it
    subject = gettext("Your data and the Refugees Welcome petition")
    queue_email(PRIVACY_LINK, address, subject, language=language)
    db.session.commit()


def outgoing(rows: list[Any]) -> dict[int, Outgoing | Drop]:
    """For a batch of privacy-link emails: the link, or nothing for an address we don't know."""
    prepared: dict[int, Outgoing | Drop] = {}
    for row in rows:
        if row.kind != PRIVACY_LINK or not row.to_address:
            continue
        person = Person.by_address(row.to_address)
        held = db.session.scalar(
            select(Signature.id).where(
                Signature.email_hash.in_(person.hashes), Signature.email.is_not(None)
            )
        )
        if held is None:
            prepared[row.id] = Drop("nothing is held about this address")
            continue
        minutes = current_app.config["PRIVACY_LINK_MINUTES"]
        language = (row.context or {}).get("language", "en")
        link = external_url("public.privacy_me_page", token=link_token(person), _language=language)
        context = {"link": link, "minutes": minutes, "language": language}
        prepared[row.id] = Outgoing(row.to_address, row.subject or "", context)
    return prepared


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(list(signing_keys()), salt=LINK_SALT)


def link_token(person: Person) -> str:
    """A link that names the person by hash only (no address in it) and works for an hour."""
    return _serializer().dumps(list(person.hashes))


def person_in(token: str) -> Person:
    """The person a privacy-page link names, while it is valid."""
    if not token or len(token) > 1000:
        raise LinkInvalid("malformed privacy link")
    try:
        hashes = _serializer().loads(token, max_age=current_app.config["PRIVACY_LINK_MINUTES"] * 60)
    except SignatureExpired:
        raise LinkInvalid("expired privacy link") from None
    except BadSignature:
        raise LinkInvalid("unknown privacy link") from None
    if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes) or not hashes:
        raise LinkInvalid("unknown privacy link")
    return Person(tuple(hashes), "the reader's own link")


@dataclass(frozen=True)
class PrivacyPage:
    signatures: list[Signature]
    wants_updates: bool


def page(person: Person) -> PrivacyPage:
    """What the reader's own page shows: their signatures, their answer about updates."""
    found = [s for s in signatures_of(person) if s.erased_at is None]
    return PrivacyPage(found, consent.wants_updates(person.hashes))


def stop_updates(person: Person) -> None:
    """The reader stops every campaign email, from their privacy page."""
    consent.stop(person.hashes, consent.PRIVACY_PAGE)
    db.session.commit()
