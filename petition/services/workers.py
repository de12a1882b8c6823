"""Workers report in, so operators (and /readyz/worker) can tell whether one is running."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from petition.database import dialect_insert
from petition.extensions import db
from petition.models import WorkerHeartbeat, utcnow


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def report_in(name: str, embedded: bool, started_at: datetime) -> None:
    """This worker is alive (one upsert); reports older than a day are forgotten."""
    now = utcnow()
    db.session.execute(
        dialect_insert(WorkerHeartbeat)
        .values(name=name, embedded=embedded, started_at=started_at, seen_at=now)
        .on_conflict_do_update(index_elements=["name"], set_={"seen_at": now})
    )
    db.session.execute(
        delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < now - timedelta(days=1))
    )
    db.session.commit()


def last_seen() -> datetime | None:
    """When any worker last reported in."""
    seen = db.session.scalar(select(func.max(WorkerHeartbeat.seen_at)))
    db.session.rollback()
    return seen
