"""Mail under faults, on PostgreSQL: several workers, tiny leases, a slow relay, killed sessions.

Every message is delivered exactly once: a worker sends only what it still holds, and a worker
whose database session dies settles what it sent and hands back the rest within seconds.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import TEST_DATABASE_URL
from tests.parts import Mailbox, postgres_database, require_part, start_mailbox
from tests.processes import WORKER, background, prepare_database, production_env

pytestmark = pytest.mark.faults

CONTEXT = (
    '{"name": "R", "petition_title": "P", "confirm_url": "http://x/c", "confirm_days": 30, '
    '"withdraw_url": "http://x/w", "receives_updates": false}'
)


@pytest.fixture
def database() -> Iterator[str]:
    require_part("PostgreSQL", TEST_DATABASE_URL)
    with postgres_database(TEST_DATABASE_URL, f"petition_mail_{uuid.uuid4().hex[:12]}") as url:
        yield url


def queue_confirmations(url: str, n: int) -> list[str]:
    """`n` confirmation emails waiting in the outbox, as signing leaves them."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO outbox (lane, kind, to_address, subject, context, created_at, "
            "next_attempt_at, attempts) SELECT 0, 'confirm', 'm' || g || '@example.org', "
            "'Please confirm', %s::json, now(), now(), 0 FROM generate_series(1, %s) AS g",
            (CONTEXT, n),
        )
    return [f"m{g}@example.org" for g in range(1, n + 1)]


def received(mailbox: Mailbox) -> Counter[str]:
    return Counter(str(m["To"]) for m in list(mailbox.messages))


def test_three_workers_with_a_short_lease_and_a_slow_relay_send_each_message_once(database):
    """Holds of three seconds, renewed every 0.3 s, passing between 24 threads in three
    processes, with a relay taking half a second a message. (Before holds were kept while a
    send waits, one-second holds under a loaded CI run ended mid-send for a few messages of
    the thousand, and another worker sent those again.)"""
    mailbox = start_mailbox(delay=0.5)  # half a second per message, like a busy relay
    env = production_env(
        database,
        MAIL_URL=mailbox.url,
        OUTBOX_LEASE_SECONDS="3",
        MAIL_WORKER_THREADS="8",
        WORKER_POLL_SECONDS="0.2",
    )
    try:
        prepare_database(env)
        addresses = queue_confirmations(database, 1000)
        with background(WORKER, env), background(WORKER, env), background(WORKER, env):
            mailbox.wait_for(len(addresses), timeout=120)
            time.sleep(3)  # anything sent twice would have arrived by now
        counts = received(mailbox)
    finally:
        mailbox.stop()
    assert counts == Counter(addresses), {a: n for a, n in counts.items() if n != 1}
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone() == (0,)


def test_workers_whose_sessions_are_killed_mid_batch_deliver_everything_soon_and_once(database):
    mailbox = start_mailbox(delay=0.02)
    env = production_env(
        database, MAIL_URL=mailbox.url, MAIL_WORKER_THREADS="2", WORKER_POLL_SECONDS="0.2"
    )
    assert float(env.get("OUTBOX_LEASE_SECONDS", "300")) >= 300  # the lease as deployed
    try:
        prepare_database(env)
        addresses = queue_confirmations(database, 400)
        with background(WORKER, env), background(WORKER, env):
            mailbox.wait_for(40, timeout=60)
            killed_at = time.monotonic()
            kills = 0
            with psycopg.connect(database, autocommit=True) as conn:
                for _ in range(3):  # kill every worker session, mid-batch, a few times
                    kills += conn.execute(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    ).fetchone()[0]
                    time.sleep(0.3)
            assert kills >= 2
            mailbox.wait_for(len(addresses), timeout=30)
            arrived_within = time.monotonic() - killed_at
            time.sleep(3)
        counts = received(mailbox)
    finally:
        mailbox.stop()
    assert arrived_within < 30
    assert counts == Counter(addresses), {a: n for a, n in counts.items() if n != 1}


def test_the_deliverer_settles_what_it_sent_when_its_session_dies(app, mailbox, monkeypatch):
    """One worker, in process: the session dies right after a send; nothing goes twice."""
    from sqlalchemy.exc import OperationalError

    from petition.extensions import db
    from petition.mail import delivery, queue_email
    from petition.mail.delivery import Deliverer

    with app.app_context():
        for i in range(6):
            queue_email(
                "confirm",
                f"s{i}@example.org",
                "Please confirm",
                name="S",
                petition_title="P",
                confirm_url="http://x/c",
                confirm_days=30,
                withdraw_url="http://x/w",
                receives_updates=False,
            )
        db.session.commit()
        real_mark = delivery._mark_sent
        calls = {"n": 0}

        def dying_mark(batch, row, outgoing):  # noqa: ANN001, ANN202
            calls["n"] += 1
            if calls["n"] == 3:  # the third message has gone; the database goes away
                db.session.execute(db.text("SELECT pg_terminate_backend(pg_backend_pid())"))
            return real_mark(batch, row, outgoing)

        monkeypatch.setattr(delivery, "_mark_sent", dying_mark)
        deliverer = Deliverer()
        with pytest.raises(OperationalError):
            deliverer.deliver_due()
        db.session.rollback()
        monkeypatch.setattr(delivery, "_mark_sent", real_mark)
        while deliverer.deliver_due():
            pass
        unsent = db.session.scalar(db.text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
    assert unsent == 0
    assert received(mailbox) == Counter(f"s{i}@example.org" for i in range(6))
