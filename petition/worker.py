"""Background work: deliver mail and partners' webhooks, queue mailings and reminders, fold
count changes in, publish the hourly digests, apply retention.

`flask --app app worker` runs it in its own process: MAIL_WORKER_THREADS threads send mail
(each with its own SMTP connection, transactional mail first, bulk mail at MAIL_BULK_RATE for
the whole process), one thread sends partners' webhooks (a partner's slow server holds up
nothing else), and the main thread does the housekeeping. In development each web process
also runs a small one in a thread (EMBEDDED_WORKER), so `flask --app app run` needs nothing
else; that one never runs retention, which belongs to `flask worker` (or `flask purge`). Every
job is safe to run in any number of processes at once.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from petition.extensions import db
from petition.mail.delivery import Deliverer, RateLimiter
from petition.mail.outbox import mail_waiting
from petition.models import utcnow
from petition.services import digests, figures, mailings, reminders, webhooks, workers
from petition.services.article_stats import flush_views
from petition.services.counting import flush_counts, reconcile_due
from petition.services.retention import purge_if_due

log = logging.getLogger("petition.worker")


# How often a worker asks whether the daily retention run is due (the answer is shared).
PURGE_CHECK_EVERY = timedelta(minutes=10)
# How often a worker reports in (operators' /readyz/worker reads it).
HEARTBEAT_EVERY = timedelta(seconds=5)
# How often a worker looks for staff figures that are due to be worked out again, reminders to
# confirm that are due, and petitions due an hourly digest.
FIGURES_EVERY = timedelta(minutes=1)


@dataclass
class Round:
    mail_sent: int = 0
    mail_deferred: int = 0
    counts_folded: int = 0
    mailing_queued: int = 0
    webhooks_delivered: int = 0
    purged: bool = False

    @property
    def busy(self) -> bool:
        return bool(
            self.mail_sent or self.counts_folded or self.mailing_queued or self.webhooks_delivered
        )


class Worker:
    def __init__(self, app: Flask, mail_threads: int | None = None, embedded: bool = False) -> None:
        self.app = app
        self.poll = app.config["WORKER_POLL_SECONDS"]
        self.mail_threads = mail_threads or app.config["MAIL_WORKER_THREADS"]
        self.bulk_rate = RateLimiter(app.config["MAIL_BULK_RATE"])
        # Retention and the daily recount run in batches of their own, never in a web process.
        self.purges = not embedded
        self.embedded = embedded
        self.name = workers.this_worker()
        self.started_at = utcnow()
        self._purge_checked: datetime | None = None
        self._reported: datetime | None = None
        self._figured: datetime | None = None

    def run_once(self) -> Round:
        """One round of every job, each in its own transaction."""
        done = Round()
        report = self._in_context(Deliverer(self.bulk_rate).deliver_due)
        done.mail_sent, done.mail_deferred = report.sent, report.deferred
        done.webhooks_delivered = self._in_context(webhooks.deliver_due)
        self._housekeeping(done)
        return done

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set: mail and webhooks in threads of their own, the rest in
        this one."""
        senders = [
            threading.Thread(
                target=self._send_mail, args=(stop,), name=f"petition-mail-{n}", daemon=True
            )
            for n in range(self.mail_threads)
        ]
        senders.append(
            threading.Thread(
                target=self._send_webhooks, args=(stop,), name="petition-webhooks", daemon=True
            )
        )
        for sender in senders:
            sender.start()
        self._keep_going(stop, lambda: self._housekeeping(Round()).busy, "housekeeping")
        for sender in senders:
            sender.join(30)

    def _send_mail(self, stop: threading.Event) -> None:
        deliverer = Deliverer(self.bulk_rate, stop)
        poll = self.app.config["MAIL_POLL_SECONDS"]
        job = lambda: bool(self._in_context(deliverer.deliver_due))  # noqa: E731
        self._keep_going(stop, job, "mail", poll)

    def _send_webhooks(self, stop: threading.Event) -> None:
        """Partners' webhooks: each waits up to its timeout for an answer, so they are sent
        apart from the counts and the mail."""
        job = lambda: bool(self._in_context(webhooks.deliver_due))  # noqa: E731
        self._keep_going(stop, job, "webhooks", wake=None)

    def _keep_going(
        self,
        stop: threading.Event,
        job: Callable[[], bool],
        name: str,
        poll: float | None = None,
        wake: threading.Event | None = mail_waiting,
    ) -> None:
        """Run `job` until stopped; when idle, wait for `wake` (mail queued) or the poll
        interval.

        A fault (the database down) is logged once and retried until it clears.
        """
        poll = poll or self.poll
        failing = False
        while not stop.is_set():
            try:
                busy = job()
            except SQLAlchemyError as exc:
                if not failing:
                    log.error("worker %s failed, retrying: %s", name, exc)
                failing = True
                stop.wait(self.poll)
                continue
            except Exception:
                log.exception("worker %s failed", name)
                stop.wait(self.poll)
                continue
            if failing:
                log.info("worker %s recovered", name)
                failing = False
            if busy:
                continue
            if wake is None:
                stop.wait(poll)
            elif wake.wait(poll):
                wake.clear()

    def _housekeeping(self, done: Round) -> Round:
        with self.app.app_context():
            try:
                now = utcnow()
                if self._reported is None or now - self._reported >= HEARTBEAT_EVERY:
                    workers.report_in(self.name, self.embedded, self.started_at)
                    self._reported = now
                done.counts_folded = flush_counts()
                flush_views()
                done.mailing_queued = mailings.queue_next_chunk()
                mailings.drop_stopped_chunk()
                if self._figured is None or now - self._figured >= FIGURES_EVERY:
                    figures.refresh_due(now)
                    reminders.send_due(now)
                    digests.publish_due(now)
                    self._figured = now
                due = self._purge_checked is None or now - self._purge_checked >= PURGE_CHECK_EVERY
                if self.purges and due:
                    self._purge_checked = now
                    report = purge_if_due()
                    if report is not None:
                        log.info("retention: %s", report)
                        done.purged = True
                    for result in reconcile_due(now):
                        level = logging.INFO if not result.changed else logging.WARNING
                        log.log(level, "recount of %s: %s", result.slug, result.after)
            finally:
                db.session.remove()
        return done

    def _in_context(self, work: Callable[[], object]) -> object:
        with self.app.app_context():
            try:
                return work()
            finally:
                db.session.remove()


class EmbeddedWorker:
    """The worker as daemon threads of a web process, started by its first request."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.pid: int | None = None
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        # Checked per request: after a fork (gunicorn) the parent's threads are gone.
        if self.pid == os.getpid():
            return
        with self._lock:
            if self.pid == os.getpid():
                return
            self.stop = threading.Event()
            worker = Worker(self.app, mail_threads=1, embedded=True)
            thread = threading.Thread(
                target=worker.run, args=(self.stop,), name="petition-worker", daemon=True
            )
            thread.start()
            self.thread = thread
            self.pid = os.getpid()

    def shutdown(self, timeout: float = 15.0) -> None:
        """Stop, and wait for the threads to finish what they are doing: a message being sent is
        marked sent (a process leaving mid-send would leave it held, and sent again once its
        hold ran out). Called as the web process stops."""
        self.stop.set()
        if self.thread is not None and self.pid == os.getpid():
            self.thread.join(timeout)


def init_embedded_worker(app: Flask) -> None:
    if not app.config["EMBEDDED_WORKER"]:
        return
    embedded = EmbeddedWorker(app)
    app.extensions["petition_worker"] = embedded
    app.before_request(embedded.ensure_running)
