"""A worker's hold on the mail it took: renewed before each send, and kept while a send waits.

Taking a batch moves its messages' next attempt to the end of a lease; nobody else takes them
until then. The worker renews that hold itself before each send once a tenth of the lease has
gone by, and learns from the renewal which messages it still holds. A single send can outlast
the hold, though: a relay may take minutes to answer the final dot (RFC 5321 allows ten), and
the message, by then accepted, would pass to another worker and go twice. So while a batch is
being sent, one thread per process keeps its hold, on a connection of its own, whenever the
worker has not renewed it for a fifth of the lease.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, Table, update
from sqlalchemy.exc import SQLAlchemyError

from petition.models import Lane, OutboxMessage, utcnow

log = logging.getLogger("petition.mail")

OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]
# The worker renews when a tenth of the lease has gone by; the keeper steps in at a fifth.
RENEW_AFTER = 0.1
KEEP_AFTER = 0.2


@dataclass(eq=False)
class Batch:
    token: str
    lane: Lane
    rows: list[Row[Any]]
    held: set[int]
    renewed: float  # when the hold was last taken or renewed (time.monotonic)
    # Sent, but not yet marked so in the database.
    unmarked: set[int] = field(default_factory=set)
    # One renewal at a time, the worker's or the keeper's.
    renewing: threading.Lock = field(default_factory=threading.Lock)


def renew(batch: Batch, connection: Connection, lease: float) -> None:
    """Extend the hold on what the batch still holds, and forget what it holds no longer."""
    started = time.monotonic()
    held = connection.scalars(
        update(OUTBOX)
        .where(
            OUTBOX.c.claim == batch.token,
            OUTBOX.c.sent_at.is_(None),
            OUTBOX.c.failed_at.is_(None),
        )
        .values(next_attempt_at=utcnow() + timedelta(seconds=lease))
        .returning(OUTBOX.c.id)
    ).all()
    # Only ever narrowed: the worker may have finished a message since the statement ran.
    batch.held.intersection_update(held)
    batch.renewed = started


@dataclass(eq=False)
class _Kept:
    batch: Batch
    engine: Engine
    lease: float
    tried: float = 0.0

    def due_at(self) -> float:
        return max(self.batch.renewed, self.tried) + KEEP_AFTER * self.lease


class HoldKeeper:
    """The thread that keeps the holds of batches being sent (one per process, started when
    first needed)."""

    def __init__(self) -> None:
        self._kept: dict[int, _Kept] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    @contextmanager
    def keeping(self, batch: Batch, engine: Engine, lease: float) -> Iterator[None]:
        """Keep the batch's hold for as long as the block runs."""
        with self._changed:
            self._kept[id(batch)] = _Kept(batch, engine, lease)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="mail-hold-keeper", daemon=True
                )
                self._thread.start()
            self._changed.notify()
        try:
            yield
        finally:
            with self._changed:
                del self._kept[id(batch)]
            with batch.renewing:  # a renewal under way ends before the batch is handed back
                pass

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                due = [kept for kept in self._kept.values() if kept.due_at() <= now]
                if not due:
                    wait = min((k.due_at() - now for k in self._kept.values()), default=None)
                    self._changed.wait(wait)
                    continue
            for kept in due:
                self._keep(kept)

    def _keep(self, kept: _Kept) -> None:
        batch = kept.batch
        kept.tried = time.monotonic()
        if not batch.renewing.acquire(blocking=False):
            return  # the worker is renewing it just now
        try:
            if self._kept.get(id(batch)) is kept:  # not handed back meanwhile
                with kept.engine.begin() as connection:
                    renew(batch, connection, kept.lease)
                # Worth an operator's eye when it recurs: the relay is slow to answer.
                log.info(
                    "a send is waiting on the relay; hold kept on %d messages", len(batch.held)
                )
        except SQLAlchemyError as exc:  # tried again a fifth of a lease later
            log.warning("could not renew the hold on mail being sent: %s", exc)
        finally:
            batch.renewing.release()


KEEPER = HoldKeeper()
