"""The outbox: mail is queued inside the caller's transaction and delivered afterwards.

Every kind of email belongs to a lane. Transactional mail (someone is waiting for a link)
always leaves first, then follow-up mail (receipts), then bulk mail (campaign mailings), which
alone is paced for the relay.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from petition.extensions import db
from petition.models import Lane, OutboxMessage, utcnow

INSERT_MESSAGE = insert(OutboxMessage.__table__)
# The columns compose_email fills in, in order (statements built once name them).
OUTBOX_COLUMNS = (
    "lane",
    "kind",
    "to_address",
    "subject",
    "context",
    "created_at",
    "next_attempt_at",
    "attempts",
)


@dataclass(frozen=True)
class Kind:
    """How one kind of email travels."""

    lane: Lane
    # Mail a reader asked for just now (a link to confirm, to their data) goes even to an
    # address that once refused mail: acting again is the reader's way to say it works now.
    despite_suppression: bool
    # Campaign mail carries its recipient's stop link, in the text and in the headers mail
    # programs turn into an "Unsubscribe" button (RFC 2369 and RFC 8058's one-click POST).
    unsubscribe: bool = False


NEWS = "news"  # petition news that staff choose to email
KINDS: dict[str, Kind] = {
    "confirm": Kind(Lane.TRANSACTIONAL, despite_suppression=True),
    "already_signed": Kind(Lane.TRANSACTIONAL, despite_suppression=True),
    "privacy_link": Kind(Lane.TRANSACTIONAL, despite_suppression=True),
    # A confirmed signer's receipt: nobody waits on it, so it never delays a confirmation,
    # and it is no mailing either, so it is not held to the mailings' rate.
    "receipt": Kind(Lane.FOLLOW_UP, despite_suppression=True),
    # One reminder to confirm, a day after signing.
    "reminder": Kind(Lane.TRANSACTIONAL, despite_suppression=False),
    NEWS: Kind(Lane.BULK, despite_suppression=False, unsubscribe=True),
}
# Only what a template exists for can be queued; anything else is a programming error.
TRANSACTIONAL_KINDS = frozenset(k for k, v in KINDS.items() if v.lane == Lane.TRANSACTIONAL)

# Set once mail has been committed, so a waiting deliverer sends it straight away.
mail_waiting = threading.Event()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop("mail_queued", False):
        wake_deliverer()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("mail_queued", None)


def compose_email(
    template: str, to_address: str, subject: str, *, lane: Lane | None = None, **context: Any
) -> dict[str, Any]:
    """An outbox row for `emails/<template>.txt` and `.html`, rendered when it is sent."""
    now = utcnow()
    return {
        "lane": KINDS[template].lane if lane is None else lane,
        "kind": template,
        "to_address": to_address,
        "subject": " ".join(subject.split())[:200],
        "context": context,
        "created_at": now,
        "next_attempt_at": now,
        "attempts": 0,
    }


def queue_email(
    template: str,
    to_address: str,
    subject: str,
    *,
    signature_id: int | None = None,
    lane: Lane | None = None,
    **context: Any,
) -> None:
    """Put an email in the outbox, in the caller's transaction."""
    row = compose_email(template, to_address, subject, lane=lane, **context)
    db.session.connection().execute(INSERT_MESSAGE, {**row, "signature_id": signature_id})
    mark_queued()


def wake_deliverer() -> None:
    """Tell a waiting deliverer that committed mail is there to send."""
    mail_waiting.set()


def mark_queued() -> None:
    """Wake the deliverer once the caller's transaction commits."""
    db.session.info["mail_queued"] = True
