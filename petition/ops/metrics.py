"""Prometheus metrics: what the processes count as they work, and what the database says about
queues when scraped. Under gunicorn every worker writes to PROMETHEUS_MULTIPROC_DIR (set by
gunicorn.conf.py) and a scrape adds them up."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, g, request
from flask.wrappers import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import event, func, select

from petition.extensions import db
from petition.models import (
    CountJournalEntry,
    Lane,
    OutboxMessage,
    Petition,
    WorkerHeartbeat,
    utcnow,
)

REQUESTS = Counter(
    "petition_http_requests_total",
    "Requests answered, by route and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "petition_http_request_duration_seconds",
    "Time to answer, by route.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SIGNATURES = Counter(
    "petition_signatures_received_total",
    "Signatures received (new people, and addresses that had already signed).",
    ["outcome"],
)
CONFIRMED = Counter("petition_signatures_confirmed_total", "Signatures confirmed.")
UNAVAILABLE = Counter("petition_unavailable_total", "Requests answered 503, by cause.", ["cause"])
POOL_IN_USE = Gauge(
    "petition_db_pool_connections_in_use",
    "Database connections checked out, all processes.",
    multiprocess_mode="livesum",
)
MAIL = Counter(
    "petition_mail_total",
    "Messages the worker finished with, by lane and outcome.",
    ["lane", "outcome"],
)


class QueueCollector(Collector):
    """Queues as the database sees them at scrape time (the same for every process)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = utcnow()
        pending = GaugeMetricFamily(
            "petition_outbox_pending", "Messages not yet sent or failed, by lane.", labels=["lane"]
        )
        oldest = GaugeMetricFamily(
            "petition_outbox_oldest_due_age_seconds",
            "How long the oldest message that is due has waited, by lane.",
            labels=["lane"],
        )
        rows = {
            lane: (n, first)
            for lane, n, first in db.session.execute(
                select(
                    OutboxMessage.lane,
                    func.count(),
                    func.min(OutboxMessage.created_at).filter(OutboxMessage.next_attempt_at <= now),
                )
                .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
                .group_by(OutboxMessage.lane)
            )
        }
        for lane in Lane:
            n, first = rows.get(lane, (0, None))
            name = lane.name.lower()
            pending.add_metric([name], n)
            oldest.add_metric([name], (now - first).total_seconds() if first else 0.0)
        yield pending
        yield oldest
        journal = db.session.scalar(select(func.count()).select_from(CountJournalEntry)) or 0
        yield GaugeMetricFamily(
            "petition_count_journal_backlog", "Count changes not yet folded in.", value=journal
        )
        confirmed = db.session.scalar(select(func.sum(Petition.confirmed_count))) or 0
        yield GaugeMetricFamily(
            "petition_signatures_confirmed", "Confirmed signatures, all petitions.", value=confirmed
        )
        seen = db.session.scalar(select(func.max(WorkerHeartbeat.seen_at)))
        yield GaugeMetricFamily(
            "petition_worker_heartbeat_age_seconds",
            "Seconds since a worker last reported in (-1: none ever has).",
            value=(now - seen).total_seconds() if seen else -1.0,
        )
        db.session.rollback()


def scrape() -> Response:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    body = generate_latest(registry) + generate_latest(_queues())
    return Response(body, mimetype=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def _queues() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(QueueCollector())
    return registry


def init_metrics(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_count)
    with app.app_context():
        engine = db.engine
    event.listen(engine.pool, "checkout", lambda *args: POOL_IN_USE.inc())
    event.listen(engine.pool, "checkin", lambda *args: POOL_IN_USE.dec())


def _start() -> None:
    g.metrics_started = time.perf_counter()


def _count(response: Response) -> Response:
    endpoint = request.endpoint or "(no route)"
    REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    started: Any = g.get("metrics_started")
    if started is not None:
        LATENCY.labels(endpoint).observe(time.perf_counter() - started)
    return response
