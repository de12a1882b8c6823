"""Consent to campaign updates: the words a signer agreed to, each person's answer, taking it back.

Consent belongs to a person, known by the keyed hash of their canonical address: one "stop"
(from any email's link, a mail program's one-click button, their privacy page, or withdrawing a
signature) stops every campaign email to them, for every petition, including mailings already
queued, which check again as each email is sent. Consent is given only by the owner of the
address: when they confirm a signature with the box ticked.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from sqlalchemy import ColumnElement, delete, exists, select

from petition import i18n
from petition.database import dialect_insert
from petition.extensions import db
from petition.i18n import N_
from petition.models import (
    ConsentEvent,
    ConsentWording,
    Signature,
    SignatureState,
    UpdateConsent,
    utcnow,
)

# The words beside the updates checkbox. Change the version whenever the words change:
# every signature records the version its signer saw.
CONSENT_VERSION = "2026-11"
CONSENT_TEXT = (
    "Email me occasional updates about the Refugees Welcome campaign. "
    "I can unsubscribe at any time."
)

# The words beside the box a signer ticks to appear among a petition's recent signers (only on
# petitions that show them); the page shows their first name and country, nothing else.
SHOW_PUBLICLY_TEXT = "Show my first name and country on this page as a recent signer."

# The same words in each language the campaign speaks. Each language's words are recorded as a
# wording of their own ("2026-11/uk"), so a signature keeps exactly what its signer read.
CONSENT_TEXTS = {
    "en": CONSENT_TEXT,
    "uk": "Надсилайте мені час від часу новини кампанії Refugees Welcome. "
    "Я можу відписатися будь-коли.",
}
SHOW_PUBLICLY_TEXTS = {
    "en": SHOW_PUBLICLY_TEXT,
    "uk": "Показувати на цій сторінці моє ім'я та країну серед тих, хто нещодавно підписав.",
}

# How a person gave or took back their consent (kept with every answer).
CONFIRMED_SIGNATURE = N_("signature confirmed")
STOP_LINK = N_("stop link")
ONE_CLICK = N_("one-click unsubscribe")
COMPLAINT = N_("marked as spam")
WITHDRAWAL = N_("withdrawal")
PRIVACY_PAGE = N_("privacy page")


def consent_text(language: str | None = None) -> str:
    """The words beside the updates box, in the reader's language."""
    return CONSENT_TEXTS.get(language or i18n.current().code, CONSENT_TEXT)


def show_publicly_text(language: str | None = None) -> str:
    return SHOW_PUBLICLY_TEXTS.get(language or i18n.current().code, SHOW_PUBLICLY_TEXT)


def current_wording(language: str | None = None) -> int:
    """The id of the consent wording shown now in the reader's language (each language's
    words are a wording of their own), recorded the first time it is used.

    Called in no transaction, it ends the one it began. Called inside a caller's transaction,
    a wording recorded now is part of that transaction (committed or rolled back with it, and
    remembered only once found committed); the caller's work is never committed early."""
    language = language if language in CONSENT_TEXTS else i18n.current().code
    version = CONSENT_VERSION if language == i18n.DEFAULT else f"{CONSENT_VERSION}/{language}"
    known = current_app.extensions.setdefault("petition_consent_ids", {})
    if version in known:
        return known[version]
    began = not db.session().in_transaction()
    find = select(ConsentWording.id).where(ConsentWording.version == version)
    wording_id = db.session.scalar(find)
    if wording_id is None:
        db.session.execute(
            dialect_insert(ConsentWording)
            .values(version=version, text=CONSENT_TEXTS[language], created_at=utcnow())
            .on_conflict_do_nothing()
        )
        wording_id = db.session.scalar(find)
        if not began:
            return wording_id
        db.session.commit()
    elif began:
        db.session.rollback()
    known[version] = wording_id
    return wording_id


def signer_wants_updates() -> ColumnElement[bool]:
    """Whether a signature's signer wants campaign updates now (their latest answer)."""
    return exists().where(
        UpdateConsent.email_hash == Signature.email_hash, UpdateConsent.wants_updates.is_(True)
    )


def wanting_updates() -> tuple[ColumnElement[bool], ...]:
    """Signatures whose signers get campaign updates: confirmed, not erased, and the person
    wants them now."""
    return (
        Signature.state == SignatureState.CONFIRMED,
        Signature.email.is_not(None),
        signer_wants_updates(),
    )


def update_recipients(petition_id: int) -> tuple[ColumnElement[bool], ...]:
    """Who gets campaign updates about a petition (checked again as each email is sent)."""
    return (Signature.petition_id == petition_id, *wanting_updates())


def give(email_hash: str, signature_id: int, wording_id: int | None) -> None:
    """The owner of an address agreed to updates (confirming a signature with the box ticked).

    In the caller's transaction.
    """
    _answer([email_hash], True, CONFIRMED_SIGNATURE, signature_id, wording_id)


def stop(email_hashes: Iterable[str], route: str, signature_id: int | None = None) -> bool:
    """The person no longer wants updates, from now on and in anything queued; whether that
    changed anything. In the caller's transaction."""
    hashes = [h for h in email_hashes if h]
    if not hashes:
        return False
    wanted = wants_updates(hashes)
    _answer(hashes, False, route, signature_id, None, record=wanted)
    return wanted


def wants_updates(email_hashes: Iterable[str]) -> bool:
    hashes = list(email_hashes)
    return bool(
        hashes
        and db.session.scalar(
            select(
                exists().where(
                    UpdateConsent.email_hash.in_(hashes), UpdateConsent.wants_updates.is_(True)
                )
            )
        )
    )


def wording_language(wording: ConsentWording) -> str:
    """The language a wording was shown in: its version says so ("2026-11/uk"), English
    where it says nothing."""
    return wording.version.partition("/")[2] or i18n.DEFAULT


def history(email_hashes: Iterable[str]) -> list[ConsentEvent]:
    """Every answer the person gave, oldest first."""
    return list(
        db.session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.email_hash.in_(list(email_hashes)))
            .order_by(ConsentEvent.at, ConsentEvent.id)
        )
    )


def forget(email_hashes: Iterable[str]) -> None:
    """Erasure: the person's answers go with the rest of their data (caller's transaction)."""
    hashes = list(email_hashes)
    db.session.execute(delete(UpdateConsent).where(UpdateConsent.email_hash.in_(hashes)))
    db.session.execute(delete(ConsentEvent).where(ConsentEvent.email_hash.in_(hashes)))


def _answer(
    hashes: list[str],
    wants: bool,
    route: str,
    signature_id: int | None,
    wording_id: int | None,
    record: bool = True,
) -> None:
    now = utcnow()
    for email_hash in hashes:
        row = {"email_hash": email_hash, "wants_updates": wants, "changed_at": now, "route": route}
        db.session.execute(
            dialect_insert(UpdateConsent)
            .values(**row)
            .on_conflict_do_update(
                index_elements=["email_hash"],
                set_={"wants_updates": wants, "changed_at": now, "route": route},
            )
        )
    if record:
        db.session.add(
            ConsentEvent(
                email_hash=hashes[0],
                given=wants,
                route=route,
                signature_id=signature_id,
                wording_id=wording_id,
                at=now,
            )
        )
