"""Background work: deliver mail, fold count changes in, apply retention.

`flask --app app worker` runs it in its own process; by default each web process also runs it
in a thread, so `flask --app app run` needs nothing else. Every job is safe to run in any
number of processes at once.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from petition.extensions import db
from petition.mail import deliver_due
from petition.mail.outbox import mail_waiting
from petition.models import utcnow
from petition.services.article_stats import flush_views
from petition.services.counting import flush_counts
from petition.services.retention import purge_if_due

log = logging.getLogger("petition.worker")


# How often a worker asks whether the daily retention run is due (the answer is shared).
PURGE_CHECK_EVERY = timedelta(minutes=10)


@dataclass
class Round:
    mail_sent: int = 0
    mail_deferred: int = 0
    counts_folded: int = 0
    purged: bool = False

    @property
    def busy(self) -> bool:
        return bool(self.mail_sent or self.counts_folded)


class Worker:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.poll = app.config["WORKER_POLL_SECONDS"]
        self._failing = False
        self._purge_checked: datetime | None = None

    def run_once(self) -> Round:
        """One round of every job, each in its own transaction."""
        done = Round()
        with self.app.app_context():
            try:
                mail_waiting.clear()
                report = deliver_due()
                done.mail_sent, done.mail_deferred = report.sent, report.deferred
                done.counts_folded = flush_counts()
                flush_views()
                now = utcnow()
                if self._purge_checked is None or now - self._purge_checked >= PURGE_CHECK_EVERY:
                    self._purge_checked = now
                    report = purge_if_due()
                    if report is not None:
                        log.info("retention: %s", report)
                        done.purged = True
            finally:
                db.session.remove()
        return done

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set; a fault (database down) is logged once and retried."""
        while not stop.is_set():
            try:
                done = self.run_once()
            except SQLAlchemyError as exc:
                if not self._failing:
                    log.error("worker round failed, retrying: %s", exc)
                self._failing = True
                stop.wait(self.poll)
                continue
            except Exception:
                log.exception("worker round failed")
                stop.wait(self.poll)
                continue
            if self._failing:
                log.info("worker recovered")
                self._failing = False
            if not done.busy:
                mail_waiting.wait(self.poll)


class EmbeddedWorker:
    """The worker as a daemon thread of a web process, started by its first request."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.pid: int | None = None
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        # Checked per request: after a fork (gunicorn) the parent's thread is gone.
        if self.pid == os.getpid():
            return
        with self._lock:
            if self.pid == os.getpid():
                return
            self.stop = threading.Event()
            thread = threading.Thread(
                target=Worker(self.app).run, args=(self.stop,), name="petition-worker", daemon=True
            )
            thread.start()
            self.pid = os.getpid()


def init_embedded_worker(app: Flask) -> None:
    if not app.config["EMBEDDED_WORKER"]:
        return
    embedded = EmbeddedWorker(app)
    app.extensions["petition_worker"] = embedded
    app.before_request(embedded.ensure_running)
