"""One reminder to confirm: CONFIRM_REMINDER_HOURS after signing, to signatures still waiting
on petitions still open. Its link, like the first, opens a page with a button (mail scanners
follow links; only a person presses)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from petition import i18n
from petition.extensions import db
from petition.i18n import gettext as _
from petition.mail import queue_email
from petition.models import Petition, PetitionState, Signature, SignatureState, utcnow
from petition.services import counting
from petition.services.signing import INSERT_TOKEN, Recipient, confirmation_email

BATCH = 200
REMINDER = "reminder"


def send_due(now: datetime | None = None) -> int:
    """Queue the reminders that are due, a batch per transaction; how many were queued.

    Signatures are taken with SKIP LOCKED and marked as reminded in the same transaction as
    their email, so two workers never remind anyone twice.
    """
    hours = current_app.config["CONFIRM_REMINDER_HOURS"]
    if not hours:
        return 0
    now = now or utcnow()
    queued = 0
    while True:
        sent = _send_batch(now, now - timedelta(hours=hours))
        queued += sent
        if sent < BATCH:
            return queued


def _send_batch(now: datetime, signed_before: datetime) -> int:
    config = current_app.config
    # Older ones have no link left to press (and retention deletes them).
    oldest = now - timedelta(days=config["CONFIRM_TOKEN_DAYS"])
    rows = db.session.execute(
        select(Signature, Petition.title, Petition.translations, Petition.slug)
        .join(Petition, Petition.id == Signature.petition_id)
        .where(
            Signature.state == SignatureState.PENDING,
            Signature.reminded_at.is_(None),
            Signature.created_at <= signed_before,
            Signature.created_at > oldest,
            Signature.email.is_not(None),
            Petition.state == PetitionState.OPEN,
            or_(Petition.closes_at.is_(None), Petition.closes_at > now),
        )
        .order_by(Signature.created_at)
        .limit(BATCH)
        .with_for_update(of=Signature, skip_locked=True)
    ).all()
    if not rows:
        db.session.rollback()
        return 0
    reminded: Counter[int] = Counter()
    for signature, english_title, translations, slug in rows:
        title = i18n.written_in(english_title, translations, signature.language, "title")
        recipient = Recipient(
            signature.id,
            SignatureState.PENDING,
            signature.name or "",
            signature.email or "",
            title,
            slug,
            False,
            signature.language,
        )
        with i18n.speaking(signature.language):
            subject = _("Reminder: please confirm your signature: %(title)s", title=title)
        tokens, email = confirmation_email(
            recipient, REMINDER, subject, signed_on=signature.created_at.date().isoformat()
        )
        db.session.execute(INSERT_TOKEN, [{**t, "signature_id": signature.id} for t in tokens])
        queue_email(
            REMINDER,
            recipient.address,
            email["subject"],
            signature_id=signature.id,
            **email["context"],
        )
        reminded[signature.petition_id] += 1
    db.session.execute(
        update(Signature)
        .where(Signature.id.in_([row[0].id for row in rows]))
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    counting.record_events(
        [counting.event_row(pid, counting.REMINDED, n) for pid, n in sorted(reminded.items())]
    )
    db.session.commit()
    return len(rows)
