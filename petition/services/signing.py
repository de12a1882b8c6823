"""Signing, confirming and withdrawing: the journey every reader takes.

Whoever signs first with an address decides nothing for its owner: a signature is counted only
when the owner confirms it from their mailbox, and they confirm (or correct) the name, country
and choice about updates they see. Signing again with an address that already signed emails
its owner a link that confirms with the details they just typed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import Update, bindparam, delete, insert, select, update
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from petition import i18n
from petition.extensions import db
from petition.i18n import gettext as _
from petition.mail import compose_email, queue_email
from petition.mail.delivery import Drop, Outgoing
from petition.models import (
    OutboxMessage,
    Petition,
    Signature,
    SignatureState,
    SignatureToken,
    TokenPurpose,
    utcnow,
)
from petition.ops import metrics
from petition.security import receipts, stop_links
from petition.security.email_hash import email_hashes
from petition.security.thanks_links import Signed
from petition.services import (
    audit,
    campaigns,
    consent,
    counting,
    partners,
    retention,
    webhooks,
)
from petition.services.addresses import canonical_email
from petition.services.audit import Actor
from petition.services.errors import ConfirmationClosed, LinkInvalid, NotAllowed, PetitionNotOpen
from petition.services.new_signature import SIGNATURES, NewSignature, insert_new_signature
from petition.urls import external_url

WITHDRAW_LINK_DAYS = 3 * 365

INSERT_TOKEN = insert(SignatureToken.__table__)
ALREADY_SIGNED = "already_signed"
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


@dataclass(frozen=True)
class SignatureEntry:
    """What a reader typed, already checked field by field by the sign form."""

    name: str
    email: str
    postcode: str | None
    country: str
    consent_updates: bool
    show_publicly: bool = False
    # The language they signed in: the page's, or what an API client asked for.
    language: str = "en"
    # Their answer to the partner's own question (see Attribution.partner), apart from ours.
    consent_partner: bool = False

    @property
    def details(self) -> Details:
        return Details(
            self.name, self.country, self.postcode, self.consent_updates, self.show_publicly
        )


@dataclass(frozen=True)
class Attribution:
    """Where a signature came from, and who sent it (the IP address is kept short-term)."""

    source: str = "petition"
    referrer_host: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    ip_address: str | None = None
    # The partner whose widget or link it came through (its slug; anything else is ignored).
    partner: str | None = None


@dataclass(frozen=True)
class Recipient:
    """Who a signer email goes to, and what it is about."""

    signature_id: int | None  # None until a new signature is inserted
    state: SignatureState
    name: str
    address: str
    petition_title: str
    petition_slug: str
    receives_updates: bool
    language: str = "en"  # what the email speaks, and the language of the pages it links to


def sign_petition(
    slug: str,
    entry: SignatureEntry,
    attribution: Attribution,
    replaces: Signed | None = None,
    confirmed_by_partner: bool = False,
) -> Signed:
    """Record a pending signature and queue its confirmation email, in one transaction.

    An address that has already signed gets an email saying so instead (a few at most), and
    the caller sees exactly the same outcome, so the response reveals nothing. `replaces` is
    what an earlier signing returned: the signature it made goes (if it is still waiting, and
    was made by that very signing), for a reader correcting their address.
    """
    wording_id = consent.current_wording(entry.language)
    petition = _petition_taking_signatures(slug)
    partner = partners.offer(attribution.partner)
    # Yes to the partner's question counts only where it was asked, in the words it was.
    partner_wording = partner["question_id"] if partner and entry.consent_partner else None
    canonical = canonical_email(entry.email)
    hashes = email_hashes(canonical)
    now = utcnow()
    signature = dict(
        state=SignatureState.PENDING,
        duplicate_notices=0,
        petition_id=petition["id"],
        name=entry.name,
        email=entry.email,
        canonical_email=canonical,
        email_hash=hashes[0],
        email_domain=canonical.rpartition("@")[2],
        postcode=entry.postcode,
        country=entry.country,
        consent_updates=entry.consent_updates,
        consent_wording_id=wording_id,
        consented_at=now if entry.consent_updates else None,
        show_publicly=entry.show_publicly,
        language=entry.language,
        partner_id=partner["id"] if partner else None,
        partner_wording_id=partner_wording,
        partner_consented_at=now if partner_wording else None,
        source=attribution.source,
        referrer_host=attribution.referrer_host,
        utm_source=attribution.utm_source,
        utm_medium=attribution.utm_medium,
        utm_campaign=attribution.utm_campaign,
        ip_address=attribution.ip_address,
        created_at=now,
        updated_at=now,
    )
    # If the address has signed, its owner is told instead: queued by the same statement,
    # answered by the worker (what to say depends on what the signature is now).
    notice = compose_email(
        ALREADY_SIGNED,
        entry.email,
        _("You have already signed: %(title)s", title=petition["title"]),
        request={
            "petition_id": petition["id"],
            "hashes": hashes,
            "details": asdict(entry.details),
            "language": entry.language,
        },
    )
    # Turned away, whatever the worker then tells them: counted by the same statement.
    duplicate = counting.event_row(petition["id"], counting.DUPLICATE)
    signed = Signed(partly_hidden(entry.email), hashes[0], now)
    if replaces is not None:
        _replace(petition["id"], replaces)
    if len(hashes) > 1 and _signed_under_an_older_key(petition["id"], hashes[1:]):
        queue_email(ALREADY_SIGNED, entry.email, notice["subject"], **notice["context"])
        counting.record_events([duplicate])
        db.session.commit()
        return signed
    recipient = Recipient(
        None,
        SignatureState.PENDING,
        entry.name,
        entry.email,
        petition["title"],
        slug,
        entry.consent_updates,
        entry.language,
    )
    if confirmed_by_partner:  # no link to press: counted at once, with a receipt
        tokens, email = [], None
    else:
        tokens, email = confirmation_email(
            recipient,
            "confirm",
            _("Please confirm your signature: %(title)s", title=petition["title"]),
        )
    [journal] = counting.journal_rows(
        petition["id"], entry.country, None, SignatureState.PENDING, made=True
    )
    signature_id = insert_new_signature(
        NewSignature(signature, tokens, journal, email, notice, duplicate),
        commit=not confirmed_by_partner,
    )
    if confirmed_by_partner:
        if signature_id is not None:
            _confirm(db.session.get(Signature, signature_id), entry.details)
        db.session.commit()
    metrics.SIGNATURES.labels("new" if signature_id else "again").inc()
    return signed


def record_for_partner(
    caller: partners.Caller, slug: str, entry: SignatureEntry, attribution: Attribution
) -> Signed:
    """A signature a partner collected itself (its key, through the OSDI API): the same
    rules as any signing, and ours to confirm by email, unless the partner's key is trusted
    to have confirmed its signers (then it counts at once; audited)."""
    if not caller.can_write:
        raise NotAllowed("This key may read only.")
    attribution = replace(attribution, partner=caller.slug, source=f"partner:{caller.slug}")
    # Written in the signer's language (the title, the subjects), not the API request's.
    with i18n.speaking(entry.language):
        signed = sign_petition(slug, entry, attribution, confirmed_by_partner=caller.trusted)
    if caller.trusted:
        actor = Actor(f"partner {caller.slug} (API key {caller.key_prefix})")
        audit.record(actor, "partner_recorded_confirmed", slug)
        db.session.commit()
    return signed


def _replace(petition_id: int, earlier: Signed) -> None:
    """Delete the signature an earlier signing made, if it still waits for confirmation (in
    the caller's transaction). Found by the address's hash and the very moment it was made, so
    a signing that made nothing (the address had signed before) can delete nothing."""
    found = db.session.execute(
        select(Signature.id, Signature.petition_id, Signature.country)
        .where(
            Signature.petition_id == petition_id,
            Signature.email_hash == earlier.email_hash,
            Signature.created_at == earlier.at,
            Signature.state == SignatureState.PENDING,
        )
        .with_for_update()
    ).all()
    if found:
        retention.delete_unconfirmed(found, counting.REPLACED)


def partly_hidden(address: str) -> str:
    """An address as the thanks page shows it: enough for its owner to spot a typo."""
    local, _, domain = address.rpartition("@")
    return f"{local[:2]}…@{domain}"


def _petition_taking_signatures(slug: str) -> dict[str, Any]:
    """The petition as readers see it (briefly cached), if it is taking signatures."""
    petition = campaigns.petition_snapshot(slug)
    if not petition["is_open"]:
        raise PetitionNotOpen(petition["title"])
    return petition


def _signed_under_an_older_key(petition_id: int, older: list[str]) -> bool:
    """While EMAIL_HASH_KEY is being rotated: a person first seen under an older key."""
    found = db.session.scalar(
        select(Signature.id).where(
            Signature.petition_id == petition_id, Signature.email_hash.in_(older)
        )
    )
    db.session.rollback()
    return found is not None


def outgoing(rows: list[Any]) -> dict[int, Outgoing | Drop]:
    """For the deliverer: what to tell each address that signed again (or nothing), and each
    signer's receipt (made now: the code is never stored)."""
    told = {
        row.id: _tell_existing_signer(row)
        for row in rows
        if row.kind == ALREADY_SIGNED and row.context and "request" in row.context
    }
    return {**told, **_receipts([row for row in rows if row.kind == RECEIPT])}


def _receipts(rows: list[Any]) -> dict[int, Outgoing | Drop]:
    if not rows:
        return {}
    found = {
        signature_id: (receipt_hash, title, translations, slug, language)
        for signature_id, receipt_hash, title, translations, slug, language in db.session.execute(
            select(
                Signature.id,
                Signature.receipt_hash,
                Petition.title,
                Petition.translations,
                Petition.slug,
                Signature.language,
            )
            .join(Petition, Petition.id == Signature.petition_id)
            .where(
                Signature.id.in_({row.signature_id for row in rows}),
                Signature.state == SignatureState.CONFIRMED,
            )
        )
    }
    db.session.rollback()
    prepared: dict[int, Outgoing | Drop] = {}
    for row in rows:
        receipt_hash, title, translations, slug, lang = found.get(
            row.signature_id, (None, "", None, "", "en")
        )
        code = receipts.code_for(row.signature_id, receipt_hash)
        if code is None or not row.to_address:
            prepared[row.id] = Drop("the signature is no longer counted")
            continue
        context = {
            "receipt": code,
            "petition_title": i18n.written_in(title, translations, lang, "title"),
            "petition_url": external_url("public.petition", slug=slug, _language=lang),
            "verify_url": external_url("public.verify", _language=lang),
            "integrity_url": external_url("public.integrity", slug=slug, _language=lang),
            "language": lang,
        }
        prepared[row.id] = Outgoing(row.to_address, row.subject or "", context)
    return prepared


def _tell_existing_signer(row: Any) -> Outgoing | Drop:
    """Email an address that signed before (capped per signature), in a transaction of its own.

    If the signature still waits for confirmation (or was withdrawn), the email's link confirms
    it with the details just typed: the owner of the address decides, not whoever signed first.
    Nothing is sent about an erased or invalidated signature. The answer is written into the
    outbox row, so a retry sends the same email and never counts twice towards the cap.
    """
    request = row.context["request"]
    signature = db.session.scalar(
        select(Signature).where(
            Signature.petition_id == request["petition_id"],
            Signature.email_hash.in_(request["hashes"]),
        )
    )
    if signature is None:
        db.session.rollback()
        return Drop("nothing to tell about this signature")
    if signature.state == SignatureState.INVALIDATED or signature.erased_at is not None:
        db.session.commit()
        return Drop("nothing to tell about this signature")
    # The cap is checked and raised in one statement, so simultaneous attempts cannot pass it.
    raised = db.session.execute(
        update(Signature)
        .where(
            Signature.id == signature.id,
            Signature.duplicate_notices < current_app.config["DUPLICATE_NOTICE_LIMIT"],
        )
        .values(duplicate_notices=Signature.duplicate_notices + 1)
        .execution_options(synchronize_session=False)
    )
    if not raised.rowcount:
        db.session.commit()
        return Drop("told often enough already")
    details = Details(**request["details"])
    petition = signature.petition
    recipient = Recipient(
        signature.id,
        signature.state,
        details.name,
        row.to_address,
        petition.title_in(request.get("language", "en")),
        petition.slug,
        consent.wants_updates([signature.email_hash or ""]),
        request.get("language", "en"),
    )
    subject = row.subject or ""
    tokens, email = confirmation_email(recipient, ALREADY_SIGNED, subject, details=details)
    db.session.execute(INSERT_TOKEN, [{**t, "signature_id": signature.id} for t in tokens])
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row.id)
        .values(context=email["context"], signature_id=signature.id)
    )
    db.session.commit()
    return Outgoing(row.to_address, email["subject"], email["context"])


def confirmation_email(
    recipient: Recipient,
    template: str,
    subject: str,
    details: Details | None = None,
    **extra: Any,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """New link tokens (only their hashes are kept) and the email that carries them (with
    `extra` for its template)."""
    now = utcnow()
    config = current_app.config
    expiries = {TokenPurpose.WITHDRAW: now + timedelta(days=WITHDRAW_LINK_DAYS)}
    if recipient.state != SignatureState.CONFIRMED:
        expiries[TokenPurpose.CONFIRM] = now + timedelta(days=config["CONFIRM_TOKEN_DAYS"])
    issued = {purpose: secrets.token_urlsafe(32) for purpose in expiries}
    rows = [
        {
            "purpose": purpose,
            "token_hash": _hash(token),
            "created_at": now,
            "expires_at": expiries[purpose],
        }
        for purpose, token in issued.items()
    ]
    if details is not None:
        for row in rows:
            row["details"] = asdict(details) if row["purpose"] == TokenPurpose.CONFIRM else None
    confirm = issued.get(TokenPurpose.CONFIRM)
    lang = recipient.language
    email = compose_email(
        template,
        recipient.address,
        subject,
        name=recipient.name,
        state=recipient.state.value,
        petition_title=recipient.petition_title,
        petition_url=external_url("public.petition", slug=recipient.petition_slug, _language=lang),
        confirm_url=external_url("public.confirm", token=confirm, _language=lang)
        if confirm
        else None,
        confirm_days=config["CONFIRM_TOKEN_DAYS"],
        withdraw_url=external_url(
            "public.withdraw", token=issued[TokenPurpose.WITHDRAW], _language=lang
        ),
        receives_updates=recipient.receives_updates,
        language=lang,
        **extra,
    )
    return rows, email


def _hash(token: str) -> str:
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
        changed = _confirm(signature, details)
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


def _confirm(signature: Signature, details: Details) -> bool:
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
        _LINK, {"token_hash": _hash(token), "purpose": purpose, "now": utcnow()}
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
