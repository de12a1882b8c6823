"""Signing: a reader's name goes on a petition, waiting for its owner to confirm it.

Whoever signs first with an address decides nothing for its owner: a signature is counted only
when the owner confirms it from their mailbox, and they confirm (or correct) the name, country
and choice about updates they see. Signing again with an address that already signed emails
its owner a link that confirms with the details they just typed. What the links do once the
email arrives is in `signatures`.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import insert, select, update

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
from petition.security import receipts
from petition.security.email_hash import email_hashes
from petition.security.thanks_links import Signed
from petition.services import audit, campaigns, consent, counting, partners, retention
from petition.services.addresses import canonical_email
from petition.services.audit import Actor
from petition.services.errors import NotAllowed, PetitionNotOpen
from petition.services.new_signature import NewSignature, insert_new_signature
from petition.services.signatures import RECEIPT, Details, confirm, token_hash
from petition.urls import external_url

WITHDRAW_LINK_DAYS = 3 * 365

INSERT_TOKEN = insert(SignatureToken.__table__)
ALREADY_SIGNED = "already_signed"


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
    partner = partners.offer(attribution.partner, entry.language)
    # Yes to the partner's question counts only where it was asked, in the words it was (in
    # the signer's language where the partner asks in it).
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
            confirm(db.session.get(Signature, signature_id), entry.details)
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
            "token_hash": token_hash(token),
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
