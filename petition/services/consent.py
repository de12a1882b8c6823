"""Consent to campaign updates: the words a signer agreed to, and taking that back."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import ColumnElement, select, update

from petition.database import dialect_insert
from petition.extensions import db
from petition.models import ConsentWording, Signature, SignatureState, utcnow
from petition.services.new_signature import SIGNATURES

# The words beside the updates checkbox. Change the version whenever the words change:
# every signature records the version its signer saw.
CONSENT_VERSION = "2026-11"
CONSENT_TEXT = (
    "Email me occasional updates about the Refugees Welcome campaign. "
    "I can unsubscribe at any time."
)


def current_wording() -> int:
    """The id of the consent wording shown now, recorded the first time it is used."""
    cached = current_app.extensions.get("petition_consent_id")
    if cached is not None:
        return cached
    find = select(ConsentWording.id).where(ConsentWording.version == CONSENT_VERSION)
    wording_id = db.session.scalar(find)
    if wording_id is None:
        db.session.execute(
            dialect_insert(ConsentWording)
            .values(version=CONSENT_VERSION, text=CONSENT_TEXT, created_at=utcnow())
            .on_conflict_do_nothing()
        )
        db.session.commit()
        wording_id = db.session.scalar(find)
    current_app.extensions["petition_consent_id"] = wording_id
    return wording_id


def wanting_updates() -> tuple[ColumnElement[bool], ...]:
    """Signatures whose signers get campaign updates: confirmed, asked for them, still do."""
    return (
        Signature.state == SignatureState.CONFIRMED,
        Signature.consent_updates.is_(True),
        Signature.email.is_not(None),  # not erased
    )


def update_recipients(petition_id: int) -> tuple[ColumnElement[bool], ...]:
    """Who gets campaign updates about a petition (checked again as each email is sent)."""
    return (Signature.petition_id == petition_id, *wanting_updates())


def withdraw(signature_id: int) -> None:
    """Record that the signer no longer agrees to updates (the first time they say so).

    Updates already queued for them are not sent.
    """
    now = utcnow()
    connection = db.session.connection()
    connection.execute(
        update(SIGNATURES)
        .where(SIGNATURES.c.id == signature_id, SIGNATURES.c.consent_updates.is_(True))
        .values(consent_updates=False, consent_withdrawn_at=now, updated_at=now)
    )
    # Mailings already queued check again before each email goes, and leave this one out.
