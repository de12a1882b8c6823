"""Operators' endpoints: liveness, readiness (database; and the worker, separately), metrics.

Point the load balancer at /readyz: a web server is ready when it can reach the database. A
stopped worker does not make web servers unready (they go on taking signatures; mail waits):
alert on /readyz/worker, or on the petition_worker_heartbeat_age_seconds metric, instead.
"""

from __future__ import annotations

import hmac

from flask import Response, current_app, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from petition.extensions import db
from petition.models import utcnow
from petition.ops import bp, metrics
from petition.services import workers


def _plain(body: str, status: int = 200) -> Response:
    response = Response(body + "\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> Response:
    return _plain("ok")


@bp.get("/readyz")
def readyz() -> Response:
    """Ready when the database answers; load balancers stop sending traffic otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return _plain("database unavailable", 503)
    return _plain("ok")


@bp.get("/readyz/worker")
def readyz_worker() -> Response:
    """Whether a worker has reported in lately (mail, counts and retention depend on one)."""
    try:
        seen = workers.last_seen()
    except SQLAlchemyError:
        db.session.rollback()
        return _plain("database unavailable", 503)
    stale = current_app.config["WORKER_STALE_SECONDS"]
    if seen is None:
        return _plain("no worker has reported in", 503)
    age = (utcnow() - seen).total_seconds()
    if age > stale:
        return _plain(f"no worker has reported in for {age:.0f} s (limit {stale} s)", 503)
    return _plain(f"ok: a worker reported in {age:.0f} s ago")


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        return _plain("not found", 404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = _plain("a bearer token is needed", 401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return metrics.scrape()
