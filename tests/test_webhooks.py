"""Partners' webhooks (issue 24): events signed with the endpoint's secret, sent by the worker
to a real HTTP server on loopback, retried when it is down, and sent exactly once."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from petition.extensions import db
from tests.factories import SLUG, confirmed_signatures, links_in, sign, signature_for, signer
from tests.test_partners import cli, new_partner


class Receiver:
    """A partner's endpoint: records every POST (headers and raw body) and answers `status`,
    after `before_answering` (a partner's server sitting on a request, say)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.received: list[dict[str, Any]] = []
        self.status = 200
        self.server: ThreadingHTTPServer | None = None
        self.before_answering: Callable[[], object] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/petition"

    def start(self) -> Receiver:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                if outer.before_answering is not None:
                    outer.before_answering()
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append({"headers": dict(self.headers), "body": body})
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.received]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def verified(secret: str, request: dict[str, Any], tolerance: int = 300) -> bool:
    """The check the README documents for receivers: HMAC-SHA256 of "<t>.<body>"."""
    fields = dict(
        part.split("=", 1) for part in request["headers"]["X-Petition-Signature"].split(",")
    )
    signed = f"{fields['t']}.".encode() + request["body"]
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(fields["t"])) <= tolerance
    return fresh and hmac.compare_digest(expected, fields["v1"])


@pytest.fixture
def receiver():
    found = Receiver().start()
    yield found
    found.stop()


def hook(runner: Any, url: str) -> str:
    made = cli(runner, "webhook", "refugee-action", url)
    assert made.exit_code == 0, made.output
    return made.stdout.strip()


def deliver(app: Any) -> int:
    from petition.services import webhooks

    with app.app_context():
        return webhooks.deliver_due()


def test_confirming_sends_one_signed_event_with_what_the_signer_agreed_to_share(
    app, runner, client, receiver
):
    new_partner(runner, "refugee-action")
    secret = hook(runner, receiver.url)
    assert (
        sign(
            client, email="yes@example.org", partner="refugee-action", consent_partner="y"
        ).status_code
        == 303
    )
    assert sign(client, email="no@example.org", partner="refugee-action").status_code == 303
    assert sign(client, email="direct@example.org").status_code == 303
    assert deliver(app) == 0  # nothing happened yet that partners hear of
    from petition.services.signatures import Details, confirm

    with app.app_context():
        for email in ("yes@example.org", "no@example.org", "direct@example.org"):
            signature = signature_for(email)
            confirm(signature, Details.of(signature))
        db.session.commit()
    assert deliver(app) == 2 and deliver(app) == 0
    assert len(receiver.received) == 2
    for request in receiver.received:
        assert verified(secret, request)
        assert not verified(secret.replace("_", "-", 1), request)  # the check can fail
        assert request["headers"]["X-Petition-Event"] == "signature.confirmed"
        assert request["headers"]["Content-Type"] == "application/json"
    said_yes, said_no = receiver.events()
    assert said_yes["type"] == "signature.confirmed" and said_yes["data"]["petition"] == SLUG
    person = said_yes["data"]["person"]
    assert person["email_addresses"] == [{"address": "yes@example.org", "primary": True}]
    assert "person" not in said_no["data"] and "no@example.org" not in json.dumps(said_no)
    assert said_yes["id"] != said_no["id"]


def test_a_receiver_that_is_down_gets_the_event_later_exactly_once(app, runner, client):
    from petition.models import WebhookDelivery, WebhookEndpoint, utcnow

    new_partner(runner, "refugee-action")
    later = Receiver()  # its port is free: nothing answers yet
    secret = hook(runner, later.url)
    confirmed_signatures(
        app,
        client,
        [signer(email="kept@example.org", partner="refugee-action", consent_partner="y")],
    )
    assert deliver(app) == 0
    with app.app_context():
        [waiting] = db.session.scalars(db.select(WebhookDelivery)).all()
        assert waiting.attempts == 1 and waiting.delivered_at is None and waiting.last_error
        assert waiting.next_attempt_at > utcnow()  # backs off
        assert db.session.scalars(db.select(WebhookEndpoint)).one().failures == 1
        waiting.next_attempt_at = utcnow()  # as if the pause were over
        db.session.commit()
    later.start()
    try:
        assert deliver(app) == 1
        assert deliver(app) == 0
        with app.app_context():
            db.session.execute(db.update(WebhookDelivery).values(next_attempt_at=utcnow()))
            db.session.commit()
        assert deliver(app) == 0  # delivered is delivered: never sent again
    finally:
        later.stop()
    [request] = later.received
    assert verified(secret, request) and request["headers"]["X-Petition-Event-Id"].startswith(
        "evt_"
    )
    with app.app_context():
        assert db.session.scalars(db.select(WebhookEndpoint)).one().failures == 0


def test_an_endpoint_that_keeps_failing_is_turned_off_and_staff_are_told(
    app, runner, client, receiver
):
    from petition.models import AuditLog, WebhookDelivery, WebhookEndpoint, utcnow
    from petition.services import webhooks

    new_partner(runner, "refugee-action")
    hook(runner, receiver.url)
    receiver.status = 500
    fields = {"partner": "refugee-action", "consent_partner": "y"}
    confirmed_signatures(app, client, [signer(email=f"{n}@example.org", **fields) for n in "abc"])
    for _ in range(webhooks.ATTEMPTS):
        with app.app_context():
            db.session.execute(db.update(WebhookDelivery).values(next_attempt_at=utcnow()))
            db.session.commit()
        assert deliver(app) == 0
    with app.app_context():
        endpoint = db.session.scalars(db.select(WebhookEndpoint)).one()
        assert endpoint.disabled_at is not None and endpoint.last_error == "HTTP 500"
        # Turned off, it is sent nothing more; its events wait, none given up.
        waiting = db.session.scalars(db.select(WebhookDelivery)).all()
        assert len(waiting) == 3 and not any(d.failed_at or d.delivered_at for d in waiting)
        notices = db.session.scalars(
            db.select(AuditLog).where(AuditLog.action == "webhook_disabled")
        )
        assert len(notices.all()) == 1
    assert len(receiver.received) == webhooks.DISABLE_AFTER


def test_a_delivery_gives_up_after_its_attempts(app, runner, client, receiver):
    from petition.models import WebhookDelivery, utcnow
    from petition.services import webhooks

    new_partner(runner, "refugee-action")
    hook(runner, receiver.url)
    receiver.status = 503
    confirmed_signatures(app, client, [signer(email="one@example.org", partner="refugee-action")])
    for _ in range(webhooks.ATTEMPTS + 2):
        with app.app_context():
            db.session.execute(db.update(WebhookDelivery).values(next_attempt_at=utcnow()))
            db.session.commit()
        deliver(app)
    assert len(receiver.received) == webhooks.ATTEMPTS
    with app.app_context():
        assert db.session.scalars(db.select(WebhookDelivery)).one().failed_at is not None


def test_withdrawing_and_erasing_tell_the_partner(app, runner, client, receiver, mailbox):
    from petition.services import privacy
    from petition.services.audit import Actor
    from tests.factories import send_all_mail

    new_partner(runner, "refugee-action")
    hook(runner, receiver.url)
    fields = {"partner": "refugee-action", "consent_partner": "y"}
    confirmed_signatures(app, client, [signer(email="leaving@example.org", **fields)])
    confirmed_signatures(app, client, [signer(email="erased@example.org", **fields)])
    send_all_mail(app)
    withdraw = links_in(mailbox.to("leaving@example.org")[0])["withdraw"]
    assert client.post(withdraw).status_code == 200
    with app.test_request_context():
        privacy.erase(privacy.Person.by_address("erased@example.org"), Actor("test"))
    deliver(app)
    kinds = [(e["type"], json.dumps(e["data"])) for e in receiver.events()]
    assert [k for k, _ in kinds] == [
        "signature.confirmed",
        "signature.confirmed",
        "signature.withdrawn",
        "person.erased",
    ]
    assert "erased@example.org" in kinds[3][1] and "leaving@example.org" in kinds[2][1]


def test_milestones_go_to_every_partner_once(app, runner, client, receiver):
    from petition.services.counting import _record_milestones

    new_partner(runner, "refugee-action")
    hook(runner, receiver.url)
    with app.app_context():
        _record_milestones(1, 0, 120)
        _record_milestones(1, 99, 130)  # the count fell and rose again: no second event
        db.session.commit()
    deliver(app)
    assert [(e["type"], e["data"]["threshold"]) for e in receiver.events()] == [
        ("petition.milestone", 100)
    ]
    assert receiver.events()[0]["data"]["petition"] == SLUG


def test_a_partner_server_that_hangs_holds_up_neither_the_counts_nor_the_mail(
    app, runner, client, mailbox
):
    """The worker sends webhooks in a thread of their own: while a partner's server sits on
    a request, confirmed signatures are still counted and confirmation emails still go."""
    from petition.models import Petition
    from petition.services.signatures import Details, confirm
    from petition.worker import Worker

    arrived, release = threading.Event(), threading.Event()
    hanging = Receiver()
    hanging.before_answering = lambda: (arrived.set(), release.wait(20))
    hanging.start()
    new_partner(runner, "refugee-action")
    hook(runner, hanging.url)
    fields = {"partner": "refugee-action", "consent_partner": "y"}
    confirmed_signatures(app, client, [signer(email="first@example.org", **fields)])
    stop = threading.Event()
    worker = threading.Thread(target=Worker(app).run, args=(stop,), daemon=True)
    worker.start()
    try:
        assert arrived.wait(10), "the worker never sent the webhook"
        time.sleep(1.2)  # the partner's server has sat on it for over a second now
        assert not transactions_left_open(app), "a transaction waits on the partner's server"
        assert sign(client, email="second@example.org").status_code == 303
        with app.app_context():
            signature = signature_for("second@example.org")
            confirm(signature, Details.of(signature))
            db.session.commit()

        def stored_count() -> int:
            with app.app_context():
                return db.session.scalar(
                    db.select(Petition.confirmed_count).where(Petition.slug == SLUG)
                )

        deadline = time.monotonic() + 3  # the webhook's own timeout is 5 s
        while stored_count() < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stored_count() == 2, "counting waited for a partner's server"
        while not mailbox.to("second@example.org") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert mailbox.to("second@example.org"), "mail waited for a partner's server"
        assert not hanging.received  # the partner's server is still sitting on it
    finally:
        release.set()
        stop.set()
        worker.join(10)
        hanging.stop()
    assert len(hanging.received) == 1


def transactions_left_open(app: Any) -> int:
    """Sessions of this database that have sat in a transaction, doing nothing, for over a
    second (PostgreSQL says; on SQLite such a transaction shows as "database is locked" for
    whoever writes next)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return 0
        with db.engine.connect() as connection:
            return connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
                " AND state_change < now() - interval '1 second'"
            ).scalar_one()


@pytest.mark.postgres
def test_workers_sending_at_once_send_each_event_once(app, runner, receiver):
    """The lease (FOR UPDATE SKIP LOCKED, then a later next attempt) on PostgreSQL: four
    workers at once, a slow-ish partner, and every event arrives exactly once."""
    from petition.services import webhooks

    new_partner(runner, "refugee-action")
    hook(runner, receiver.url)
    with app.app_context():
        for n in range(60):
            webhooks.enqueue(None, "petition.milestone", {"threshold": n})
        db.session.commit()
    barrier = threading.Barrier(4)
    delivered: dict[str, int] = {}

    def work() -> None:
        barrier.wait()
        while sent := deliver_in_batches_of(app, 5):
            name = threading.current_thread().name
            delivered[name] = delivered.get(name, 0) + sent

    workers = [threading.Thread(target=work) for _ in range(4)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(60)
    ids = [event["id"] for event in receiver.events()]
    assert len(ids) == 60 and len(set(ids)) == 60
    assert sum(delivered.values()) == 60 and len(delivered) > 1  # the work was shared out


def deliver_in_batches_of(app: Any, limit: int) -> int:
    """One worker's claim of `limit` events and their sending, in a session of its own."""
    from petition.services import webhooks

    with app.app_context():
        try:
            return webhooks.deliver_due(limit=limit)
        finally:
            db.session.remove()


def test_the_confirmed_event_says_what_the_signer_confirmed_and_when(
    app, runner, client, receiver, mailbox
):
    """Pressing the button with corrected details: the partner hears the details as confirmed
    (not as first typed) and when it was confirmed."""
    from tests.factories import send_all_mail

    new_partner(runner, "refugee-action")
    hook(runner, receiver.url)
    typed = signer(email="olena@example.org", name="Olena Typo", country="GB")
    assert sign(client, partner="refugee-action", consent_partner="y", **typed).status_code == 303
    send_all_mail(app)
    confirm = links_in(mailbox.to("olena@example.org")[0])["confirm"]
    ours = app.config["PUBLIC_URL"].rstrip("/")
    corrected = {"details_shown": "1", "name": "Olena Kovalenko", "country": "FR", "postcode": ""}
    assert client.post(confirm, data=corrected, headers={"Origin": ours}).status_code == 200
    deliver(app)
    [event] = receiver.events()
    assert event["type"] == "signature.confirmed"
    data = event["data"]
    assert data["confirmed_date"] is not None and data["confirmed_date"] >= data["action_date"]
    person = data["person"]
    assert (person["given_name"], person["family_name"]) == ("Olena", "Kovalenko")
    assert person["postal_addresses"] == [{"postal_code": "", "country": "FR"}]


class Trickler:
    """A partner's server that answers a byte at a time: each byte well within any one read's
    timeout, the whole answer far beyond the webhook's."""

    def __init__(self, seconds: float) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hooks/petition"
        self.seconds = seconds
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            connection.recv(65536)
            answer = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"x" * 200 + b"\r\n\r\n"
            pause = self.seconds / len(answer)
            try:
                for byte in answer:
                    if self.done.wait(pause):
                        return
                    connection.sendall(bytes([byte]))
            except OSError:
                return  # the webhook hung up

    def stop(self) -> None:
        self.done.set()
        self.listener.close()


def test_a_partner_server_that_trickles_its_answer_is_cut_off_in_time(
    app, runner, client, receiver, monkeypatch
):
    """The webhook's timeout is for the whole answer: a server sending a 200 a byte at a time
    (each byte in well under a second) is cut off, and the event is retried later."""
    from petition.models import WebhookDelivery
    from petition.services import webhooks

    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 1)
    slow = Trickler(seconds=20)
    new_partner(runner, "refugee-action")
    hook(runner, slow.url)
    fields = {"partner": "refugee-action", "consent_partner": "y"}
    try:
        confirmed_signatures(app, client, [signer(email="slow@example.org", **fields)])
        started = time.monotonic()
        assert deliver(app) == 0
        took = time.monotonic() - started
    finally:
        slow.stop()
    assert took < 3, f"the webhook waited {took:.1f} s on a trickling server"
    with app.app_context():
        [delivery] = db.session.scalars(db.select(WebhookDelivery)).all()
        assert delivery.delivered_at is None and delivery.attempts == 1
        assert delivery.last_error == "no answer within 1 s"
    # The same event to a server that answers at once is delivered (the positive control).
    hook(runner, receiver.url)
    confirmed_signatures(app, client, [signer(email="quick@example.org", **fields)])
    assert deliver(app) == 1 and len(receiver.received) == 1


@pytest.mark.postgres
def test_failures_at_the_same_moment_all_count(app, runner, receiver):
    """Eight workers' attempts fail against one endpoint at once (its server answers them all
    together): each failure counts towards turning the endpoint off, none is lost."""
    from petition.models import WebhookEndpoint
    from petition.services import webhooks

    attempts = 8
    receiver.status = 500
    together = threading.Barrier(attempts)
    receiver.before_answering = lambda: together.wait(10)
    new_partner(runner, "refugee-action")
    hook(runner, receiver.url)
    with app.app_context():
        for n in range(attempts):
            webhooks.enqueue(None, "petition.milestone", {"threshold": n})
        db.session.commit()

    workers = [
        threading.Thread(target=deliver_in_batches_of, args=(app, 1)) for _ in range(attempts)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(30)
    assert len(receiver.received) == attempts  # every attempt reached the server
    with app.app_context():
        assert db.session.scalars(db.select(WebhookEndpoint)).one().failures == attempts
