"""Readers' rights: see everything we hold about an address, and erase it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from petition.extensions import db
from petition.models import OutboxMessage, Signature, SignatureToken, utcnow
from petition.services import audit
from petition.services.addresses import canonical_email, masked_email
from petition.services.audit import Actor
from petition.services.errors import InvalidInput


def signatures_of(address: str) -> list[Signature]:
    """Every signature, on any petition, made with this address in any spelling."""
    if "@" not in address:
        raise InvalidInput({"email": "Enter the reader's email address"})
    return list(
        db.session.scalars(
            select(Signature)
            .where(Signature.canonical_email == canonical_email(address))
            .order_by(Signature.created_at)
        )
    )


def subject_access(address: str, actor: Actor) -> dict[str, Any]:
    """What we hold about an address, ready to send to the reader; the request is audited."""
    signatures = signatures_of(address)
    report = {
        "email": address,
        "generated_at": utcnow().isoformat(),
        "signatures": [_describe(s) for s in signatures],
    }
    audit.record(
        actor, "subject_access", masked_email(canonical_email(address)), row_count=len(signatures)
    )
    db.session.commit()
    return report


def _describe(s: Signature) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "petition": s.petition.title,
        "name": s.name,
        "email": s.email,
        "postcode": s.postcode,
        "country": s.country,
        "state": s.state.value,
        "signed_at": iso(s.created_at),
        "confirmed_at": iso(s.confirmed_at),
        "withdrawn_at": iso(s.withdrawn_at),
        "consent_to_updates": s.consent_updates,
        "consent_wording": s.consent_wording.text if s.consent_wording else None,
        "consented_at": iso(s.consented_at),
        "consent_withdrawn_at": iso(s.consent_withdrawn_at),
        "source": s.source,
        "ip_address": s.ip_address,
    }


def erase(address: str, actor: Actor) -> int:
    """Remove the personal data of every signature of an address; the counts stay as they were.

    The signatures remain as anonymous rows in their state, so totals and charts do not move.
    Their links stop working and any mail still waiting to be sent to them is dropped.
    """
    signatures = signatures_of(address)
    ids = [s.id for s in signatures if s.erased_at is None]
    if ids:
        db.session.execute(
            update(Signature)
            .where(Signature.id.in_(ids))
            .values(
                name=None,
                email=None,
                canonical_email=None,
                postcode=None,
                ip_address=None,
                referrer_host=None,
                erased_at=utcnow(),
                updated_at=utcnow(),
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
            .values(to_address="", context=None)
            .execution_options(synchronize_session=False)
        )
    audit.record(actor, "erase", masked_email(canonical_email(address)), row_count=len(ids))
    db.session.commit()
    return len(ids)
