"""Sent mail in the log, for after a restore.

A database restored from a backup has every email sent since the backup back in its outbox,
waiting, and the worker would send each one again. The log, kept apart from the database, knows
better: each send is logged with the message's number and when it was queued (never its
address), and `flask mark-sent` reads those lines and marks those messages sent again. A
message queued after the restore may be given a number the log already holds; when it was
queued tells the two apart, so nothing waiting is ever marked sent by mistake.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update

from petition.extensions import db
from petition.models import OutboxMessage, utcnow
from petition.ops import logs

log = logging.getLogger("petition.mail")
OUTBOX = OutboxMessage.__table__

SENT = "mail sent"
# The text format's line (development), from its start: "<date> <time> INFO petition.mail: …".
SENT_TEXT = re.compile(rf"^\S+ \S+ INFO {re.escape(log.name)}: {re.escape(SENT)} (.*)$")
MESSAGE_ID = re.compile(r"(?:^| )message_id=(\d{1,18})(?: |$)")
QUEUED_AT = re.compile(r"(?:^| )queued_at=(\S{10,40})(?: |$)")

# A message the log says was sent: its number, and when it was queued (ISO 8601).
Sent = tuple[int, str]


def log_sent(message_id: int, queued_at: datetime) -> None:
    """Say in the log that a message has gone (once the mail server took it)."""
    log.info(SENT, extra={"message_id": message_id, "queued_at": queued_at.isoformat()})


def sent_in_log(lines: Iterable[str]) -> list[Sent]:
    """Each message the log says was sent (once each, in the log's order). Only the mail
    logger's own lines count: JSON lines (whatever a log store puts in front) or the text
    format's; anything else that mentions a message does not."""
    found: dict[Sent, None] = {}
    for line in lines:
        sent = _sent_json(line) or _sent_text(line)
        if sent:
            found[sent] = None
    return list(found)


def _sent_json(line: str) -> Sent | None:
    entry = logs.entry_in(line, log.name, SENT)
    if entry is None:
        return None
    message_id, queued_at = entry.get("message_id"), entry.get("queued_at")
    if not isinstance(message_id, int) or not isinstance(queued_at, str):
        return None
    return message_id, queued_at


def _sent_text(line: str) -> Sent | None:
    found = SENT_TEXT.match(line.rstrip("\n"))
    if not found:
        return None
    message_id, queued_at = MESSAGE_ID.search(found[1]), QUEUED_AT.search(found[1])
    if not message_id or not queued_at:
        return None
    return int(message_id[1]), queued_at[1]


def mark_sent(sent: list[Sent]) -> int:
    """Mark sent each message the log says went and the outbox has waiting (the same number,
    queued at the same moment); how many. Safe to run twice."""
    queued: dict[int, set[str]] = {}
    for message_id, queued_at in sent:
        queued.setdefault(message_id, set()).add(queued_at)
    ids = sorted(queued)
    marked = 0
    for start in range(0, len(ids), 500):
        waiting = db.session.execute(
            select(OUTBOX.c.id, OUTBOX.c.created_at).where(
                OUTBOX.c.id.in_(ids[start : start + 500]),
                OUTBOX.c.sent_at.is_(None),
                OUTBOX.c.failed_at.is_(None),
            )
        ).all()
        gone = [row.id for row in waiting if row.created_at.isoformat() in queued[row.id]]
        if gone:
            # As the worker marks a message it sent: the links in it are not kept.
            db.session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(gone), OUTBOX.c.sent_at.is_(None))
                .values(sent_at=utcnow(), claim=None, context=None, last_error=None)
            )
            marked += len(gone)
    db.session.commit()
    return marked
