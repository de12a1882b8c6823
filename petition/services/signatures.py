"""A signature after signing: confirmed by its owner, withdrawn, or its updates stopped.

The links in a signer's emails lead here, and so does the reader's own privacy page. Opening a
link changes nothing (mail scanners open links too); pressing the page's button does. Every
change of state is one statement that moves the signature only if nobody else just did, and
journals the move for the counts in the same transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import Update, bindparam, delete, select, update
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from petition import i18n
from petition.extensions import db
from petition.i18n import gettext as _
from petition.mail import compose_email
from petition.models import Signature, SignatureState, SignatureToken, TokenPurpose, utcnow
from petition.ops import metrics
from petition.security import receipts, stop_links
from petition.security.email_hash import email_hashes
from petition.services import consent, counting, webhooks
from petition.services.errors import ConfirmationClosed, LinkInvalid
from petition.services.new_signature import SIGNATURES

# The outbox kind of the email carrying a signer's receipt code (written when it is sent).
RECEIPT = "receipt"


@dataclass(frozen=True)
class Details:
    """What a signature says about its signer, as they confirm it."""

    name: str
    country: str
    postcode: str | None
    consent_updates: bool
    # Whether their first name and country may appear among the petition's recent signers.
    show_publicly: bool = False

    @classmethod
    def of(cls, signature: Signature) -> Details:
        return cls(
            signature.name or "",
            signature.country,
            signature.postcode,
            signature.consent_updates,
            signature.show_publicly,
        )


def token_hash(token: str) -> str:
    """What is kept of a link's token: its hash, so a copy of the database opens no link."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignatureLink:
    """What a confirm or withdraw page shows about the signature behind a link."""

    petition_slug: str
    petition_title: str
    state: SignatureState
    can_confirm: bool
    # True when this very request moved the signature into the count (or, withdrawing, out).
    changed: bool = False
    # Whether the signer gets campaign updates now.
    receives_updates: bool = False
    # What confirming would record (confirm links only).
    details: Details | None = None
    # Withdrawn by its signer (also while invalidated).
    withdrawn: bool = False
    # The signer's receipt code, once the signature is counted (confirm links only).
    receipt: str | None = None


def look_up_link(token: str, purpose: TokenPurpose) -> SignatureLink:
    """Read what a link is for, changing nothing (mail scanners open links too)."""
    signature, details = _signature_for(token, purpose)
    petition = signature.petition
    grace = timedelta(hours=current_app.config["CONFIRM_GRACE_HOURS"])
    link = SignatureLink(
        petition_slug=petition.slug,
        petition_title=petition.title_in(i18n.current().code),
        state=signature.state,
        can_confirm=petition.accepts_confirmations(grace),
        receives_updates=consent.wants_updates(_hashes_of(signature)),
        details=details if purpose == TokenPurpose.CONFIRM else None,
        withdrawn=signature.withdrawn_at is not None,
    )
    db.session.rollback()
    return link


def confirm_signature(token: str, corrections: Details | None = None) -> SignatureLink:
    """Confirm the signature behind a link, with the details its owner saw (and corrected).

    Confirming twice is fine and changes nothing. A withdrawn signature can only be confirmed
    again with a link sent after it was withdrawn (withdrawing revokes the older ones).
    """
    signature, details = _signature_for(token, TokenPurpose.CONFIRM)
    details = corrections or details
    petition = signature.petition
    grace = timedelta(hours=current_app.config["CONFIRM_GRACE_HOURS"])
    changed = False
    receipt = receipts.code_for(signature.id, signature.receipt_hash)
    if signature.state in (SignatureState.PENDING, SignatureState.WITHDRAWN):
        if not petition.accepts_confirmations(grace):
            db.session.rollback()
            raise ConfirmationClosed(petition.title_in(i18n.current().code))
        changed = confirm(signature, details)
        receipt = receipts.receipt_code(signature.id) if changed else receipt
    elif signature.state == SignatureState.INVALIDATED:
        db.session.rollback()
        raise LinkInvalid("signature invalidated")
    link = SignatureLink(
        petition.slug,
        petition.title_in(i18n.current().code),
        SignatureState.CONFIRMED,
        True,
        changed,
        receives_updates=details.consent_updates,
        receipt=receipt,
    )
    db.session.commit()
    return link


def confirm(signature: Signature, details: Details) -> bool:
    """Count a loaded signature with the details its owner confirmed, its receipt and the
    receipt's email (in the caller's transaction); False if someone else just moved it."""
    now = utcnow()
    wording_id = consent.current_wording() if details.consent_updates else None
    receipt_hash = receipts.receipt_hash(receipts.receipt_code(signature.id))
    events = [
        counting.event_row(signature.petition_id, counting.RECEIPT, 1, receipt_hash),
    ]
    if signature.reminded_at is not None:
        events.append(counting.event_row(signature.petition_id, counting.REMINDED_CONFIRMED))
    moved = _move(
        signature,
        SignatureState.CONFIRMED,
        new_country=details.country,
        events=events,
        mail=_receipt_email(signature),
        receipt_hash=receipt_hash,
        confirmed_at=now,
        withdrawn_at=None,
        name=details.name,
        country=details.country,
        postcode=details.postcode,
        consent_updates=details.consent_updates,
        consent_wording_id=wording_id or signature.consent_wording_id,
        consented_at=now if details.consent_updates else None,
        show_publicly=details.show_publicly,
    )
    if moved and details.consent_updates and signature.email_hash:
        consent.give(signature.email_hash, signature.id, wording_id)
    if moved:
        webhooks.signature_event("signature.confirmed", signature, "confirmed")
        metrics.CONFIRMED.inc()
    return moved


def _receipt_email(signature: Signature) -> dict[str, Any]:
    """A short email with the receipt code, queued with the confirmation itself and written
    when it is sent (the code is never stored)."""
    with i18n.speaking(signature.language):
        title = signature.petition.title_in(signature.language)
        subject = _("Your receipt: %(title)s", title=title)
    return {**compose_email(RECEIPT, signature.email or "", subject), "signature_id": signature.id}


def withdraw_signature(token: str) -> SignatureLink:
    """Take a signature out of the count at its signer's request; idempotent."""
    signature, _ = _signature_for(token, TokenPurpose.WITHDRAW)
    return _withdraw(signature)


def withdraw_own(email_hashes_: list[str], signature_id: int) -> SignatureLink:
    """Withdraw one of a person's own signatures (from their privacy page)."""
    signature = db.session.get(Signature, signature_id)
    if signature is None or signature.email_hash not in email_hashes_ or signature.email is None:
        db.session.rollback()
        raise LinkInvalid("not one of this reader's signatures")
    return _withdraw(signature)


def _withdraw(signature: Signature) -> SignatureLink:
    """Withdrawal is recorded in any state, and wins: an invalidated signature withdrawn by its
    signer stays withdrawn when restored. Its confirm links stop working, and someone taking
    their name off a petition wants no more campaign updates either."""
    petition = signature.petition
    was_counted = False
    if signature.state in (SignatureState.PENDING, SignatureState.CONFIRMED):
        events = []
        if signature.state == SignatureState.CONFIRMED and signature.receipt_hash:
            receipt = signature.receipt_hash
            events.append(counting.event_row(petition.id, counting.RECEIPT, -1, receipt))
        was_confirmed = signature.state == SignatureState.CONFIRMED
        moved = _move(signature, SignatureState.WITHDRAWN, events=events, withdrawn_at=utcnow())
        was_counted = moved and was_confirmed
        if moved:
            webhooks.signature_event("signature.withdrawn", signature, "withdrawn")
    elif signature.withdrawn_at is None:
        db.session.execute(
            update(SIGNATURES)
            .where(SIGNATURES.c.id == signature.id)
            .values(withdrawn_at=utcnow(), updated_at=utcnow())
        )
    db.session.execute(
        delete(SignatureToken).where(
            SignatureToken.signature_id == signature.id,
            SignatureToken.purpose == TokenPurpose.CONFIRM,
        )
    )
    consent.stop(_hashes_of(signature), consent.WITHDRAWAL, signature.id)
    link = SignatureLink(
        petition.slug,
        petition.title_in(i18n.current().code),
        SignatureState.WITHDRAWN,
        False,
        was_counted,
        withdrawn=True,
    )
    db.session.commit()
    return link


def stop_updates(token: str) -> SignatureLink:
    """Stop campaign updates to a signer, who stays signed (the withdraw link); idempotent."""
    signature, _ = _signature_for(token, TokenPurpose.WITHDRAW)
    return _stop_updates(signature, consent.STOP_LINK)


def look_up_stop_link(token: str) -> SignatureLink:
    """What the stop link in an update email is about, changing nothing."""
    signature = _signature_for_stop_link(token)
    link = SignatureLink(
        signature.petition.slug,
        signature.petition.title_in(i18n.current().code),
        signature.state,
        False,
        receives_updates=consent.wants_updates(_hashes_of(signature)),
    )
    db.session.rollback()
    return link


def stop_updates_from_email(token: str, one_click: bool = False) -> SignatureLink:
    """The stop link in an update email (a click, or a mail program's one-click POST)."""
    route = consent.ONE_CLICK if one_click else consent.STOP_LINK
    return _stop_updates(_signature_for_stop_link(token), route)


def stop_updates_after_complaint(token: str) -> SignatureLink:
    """A mailbox provider reports that the signer marked an update as spam (its feedback loop
    returns the message, with its stop link): nothing more goes to them."""
    return _stop_updates(_signature_for_stop_link(token), consent.COMPLAINT)


def _signature_for_stop_link(token: str) -> Signature:
    signature_id = stop_links.signature_in(token)
    signature = db.session.get(Signature, signature_id) if signature_id is not None else None
    if signature is None or signature.email is None:
        db.session.rollback()
        raise LinkInvalid("unknown stop link")
    return signature


def _stop_updates(signature: Signature, route: str) -> SignatureLink:
    petition = signature.petition
    consent.stop(_hashes_of(signature), route, signature.id)
    link = SignatureLink(
        petition.slug, petition.title_in(i18n.current().code), signature.state, False
    )
    db.session.commit()
    return link


def _hashes_of(signature: Signature) -> list[str]:
    """Every hash the signer's address may be stored under (older keys too)."""
    hashes = [signature.email_hash] if signature.email_hash else []
    if signature.canonical_email:
        hashes += [h for h in email_hashes(signature.canonical_email) if h not in hashes]
    return hashes


def _signature_for(token: str, purpose: TokenPurpose) -> tuple[Signature, Details]:
    """The signature behind a link, and the details confirming it would record."""
    if not token or len(token) > 100:
        raise LinkInvalid("malformed token")
    found = db.session.execute(
        _LINK, {"token_hash": token_hash(token), "purpose": purpose, "now": utcnow()}
    ).first()
    if found is None or found[0].email is None:
        db.session.rollback()
        raise LinkInvalid("unknown or expired token")
    signature, typed = found
    return signature, Details(**typed) if typed else Details.of(signature)


# One query for the link, its signature and its petition (a confirm is a hot path too), built
# once: building a statement, and working out its cache key, costs more than running it.
_LINK = (
    select(Signature, SignatureToken.details)
    .join(SignatureToken, SignatureToken.signature_id == Signature.id)
    .join(Signature.petition)
    .options(contains_eager(Signature.petition))
    .where(
        SignatureToken.token_hash == bindparam("token_hash"),
        SignatureToken.purpose == bindparam("purpose"),
        SignatureToken.expires_at > bindparam("now"),
    )
)


def _move(
    signature: Signature,
    new: SignatureState,
    new_country: str | None = None,
    events: list[dict[str, Any]] | None = None,
    mail: dict[str, Any] | None = None,
    **values: datetime | str | bool | int | None,
) -> bool:
    """Change state only if nobody else just did, and journal the change for the counts
    (with `events`, see counting.event_row, and `mail` to queue with it)."""
    old = signature.state
    now = utcnow()
    params = {f"set_{column}": value for column, value in values.items()}
    params.update(signature_id=signature.id, old_state=old, new_state=new, updated_at=now)
    change = _state_change(tuple(sorted(values)))
    moved = counting.move(
        change,
        params,
        signature.petition_id,
        signature.country,
        old,
        new,
        new_country,
        events,
        mail,
    )
    if moved:
        # The row was changed by a Core statement: the loaded object learns what was written
        # (as the database's state, so nothing is written twice), for whatever reads it next
        # in this transaction, such as the partner's event.
        for column, value in {**values, "state": new, "updated_at": now}.items():
            set_committed_value(signature, column, value)
    return moved


@cache
def _state_change(columns: tuple[str, ...]) -> Update:
    """The UPDATE moving one signature from its old state and setting `columns`, built once
    per set of columns (a Core update: the ORM's costs more than the statement itself)."""
    return (
        update(SIGNATURES)
        .where(
            SIGNATURES.c.id == bindparam("signature_id"),
            SIGNATURES.c.state == bindparam("old_state"),
        )
        .values(
            state=bindparam("new_state"),
            updated_at=bindparam("updated_at"),
            **{column: bindparam(f"set_{column}") for column in columns},
        )
    )
