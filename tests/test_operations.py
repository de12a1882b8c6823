"""Health checks and operator commands."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from petition import create_app
from petition.extensions import db
from petition.models import Campaign, OutboxMessage, Petition
from tests.conftest import make_config
from tests.factories import sign
from tests.parts import libpq_url


def test_liveness_and_readiness(client):
    assert client.get("/healthz").get_data() == b"ok\n"
    assert client.get("/readyz").status_code == 200


def test_pages_answer_503_quickly_when_the_database_is_unreachable(tmp_path):
    unreachable = "postgresql://nobody@127.0.0.1:1/none"
    down = create_app(make_config(tmp_path, unreachable, "console"))
    response = down.test_client().get("/readyz")
    assert response.status_code == 503
    page = down.test_client().get("/")
    assert page.status_code == 503
    assert page.headers["Retry-After"]
    assert "very busy" in page.get_data(as_text=True)


def test_seed_is_idempotent(app, runner):
    for _ in range(2):
        result = runner.invoke(args=["seed"])
        assert result.exit_code == 0
        assert "nothing to do" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Campaign)) == 1
        assert db.session.scalar(select(func.count()).select_from(Petition)) == 1


def test_worker_once_sends_mail_and_folds_counts(app, client, runner, mailbox):
    sign(client)
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "Sent 1 email(s)" in result.output and "folded 1 count change(s)" in result.output
    mailbox.wait_for(1)
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage.sent_at)) is not None


@pytest.mark.postgres
def test_a_full_connection_pool_answers_503_at_once_instead_of_queueing(make_app):
    """Load shedding: when every connection is busy, readers hear "try again" within seconds."""
    import time

    app = make_app(DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0, DB_POOL_TIMEOUT=0.5)
    with app.app_context():
        db.engine.dispose()
        held = db.engine.connect()  # the only connection there is, busy elsewhere
        try:
            client = app.test_client()
            started = time.monotonic()
            ready = client.get("/readyz")
            page = client.get("/api/v1/petitions/help-ukraine-refugees")
            elapsed = time.monotonic() - started
        finally:
            held.close()
    assert ready.status_code == 503
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert page.get_json()["error"]["code"] == "unavailable"
    assert elapsed < 2.5


def test_the_daily_purge_runs_once_a_day_whichever_process_asks(app):
    from datetime import timedelta

    from petition.models import utcnow
    from petition.services.retention import purge_if_due

    with app.app_context():
        assert purge_if_due() is not None
        assert purge_if_due() is None  # another worker, a minute later: nothing to do
        assert purge_if_due(utcnow() + timedelta(days=1, minutes=1)) is not None


@pytest.mark.postgres
def test_a_connection_that_breaks_mid_signature_answers_503_not_500(app, client, monkeypatch):
    """As when the server restarts during the one-statement insert: the connection it was
    given dies under it (its server process is ended first). The reader is told to retry,
    nothing is half-written, and the dead connection never goes back to the pool."""
    from types import SimpleNamespace

    import psycopg

    from petition.services import new_signature

    plain = libpq_url(app.config["SQLALCHEMY_DATABASE_URI"])

    class Engine:
        """The app's engine, but the one-statement insert gets a connection about to die."""

        def __getattr__(self, name: str) -> Any:
            return getattr(db.engine, name)

        def raw_connection(self) -> Any:
            pooled = db.engine.raw_connection()
            backend = pooled.driver_connection.info.backend_pid
            with psycopg.connect(plain, autocommit=True) as other:
                ended = other.execute("SELECT pg_terminate_backend(%s, 5000)", [backend])
                assert ended.fetchone() == (True,)
            return pooled

    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    monkeypatch.setattr(new_signature, "db", SimpleNamespace(engine=Engine(), session=db.session))
    # The one-statement path, whatever the request read first: a read that left the session's
    # transaction open would send the insert through the session instead (seen once on CI).
    monkeypatch.setattr(new_signature, "_session_busy", lambda: False)
    response = sign(client)
    assert response.status_code == 503 and response.headers["Retry-After"]
    monkeypatch.undo()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == before
    assert sign(client).status_code == 303  # the next reader gets a live connection
