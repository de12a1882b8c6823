"""Faults on the day it matters: the database restarts, mail and Redis go away, a worker dies.

Each test runs the service as it runs in production (gunicorn, a worker process) against a
PostgreSQL and a Redis of its own, which it stops and starts; never the machine's servers.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest

from tests.factories import SLUG, signer
from tests.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe, event, signed
from tests.parts import free_port, start_mailbox
from tests.processes import (
    ROOT,
    Gunicorn,
    PrivatePostgres,
    PrivateRedis,
    background,
    flask_command,
    prepare_database,
    production_env,
)

pytestmark = pytest.mark.faults


@pytest.fixture
def database() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres().start()
    yield server
    server.destroy()


def service_env(database_url: str, **extra: str) -> dict[str, str]:
    """Production settings, with short database timeouts and a small server."""
    settings = {"DB_POOL_TIMEOUT": "2", "DB_CONNECT_TIMEOUT": "2", "WEB_CONCURRENCY": "2"}
    return production_env(database_url, **{"GUNICORN_THREADS": "4", **settings, **extra})


@dataclass
class Answer:
    email: str
    status: int  # 0: no answer (connection reset, timeout)
    seconds: float
    retry_after: str | None
    started: float


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


def post(
    url: str, fields: dict[str, str], origin: str, timeout: float = 15
) -> tuple[int, str | None]:
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode(fields).encode(), headers={"Origin": origin}
    )
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=timeout) as response:
            return response.status, response.headers.get("Retry-After")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Retry-After")
    except (OSError, urllib.error.URLError):
        return 0, None


def form_token(base: str) -> str:
    page = urllib.request.urlopen(f"{base}/petitions/{SLUG}", timeout=10).read().decode()
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


@dataclass
class Load:
    """Readers signing as fast as they can, each with a new address; every answer is kept."""

    base: str
    token: str
    threads: int = 6
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> Load:
        def reader(n: int) -> None:
            i = 0
            while not self.stop.is_set():
                i += 1
                email = f"load{n}.{i}@example.org"
                started = time.monotonic()
                status, retry = post(
                    f"{self.base}/petitions/{SLUG}/sign",
                    {**signer(email=email), "form_token": self.token},
                    self.base,
                )
                self.answers.append(
                    Answer(email, status, time.monotonic() - started, retry, started)
                )
                if status != 303:
                    time.sleep(0.05)

        self._threads = [threading.Thread(target=reader, args=(n,)) for n in range(self.threads)]
        for thread in self._threads:
            thread.start()
        return self

    def finish(self) -> list[Answer]:
        self.stop.set()
        for thread in self._threads:
            thread.join(30)
        return self.answers

    def acknowledged(self) -> list[str]:
        return [a.email for a in self.answers if a.status == 303]


def stored_emails(url: str) -> Counter[str]:
    with psycopg.connect(url) as conn:
        return Counter(row[0] for row in conn.execute("SELECT email FROM signatures"))


def test_a_database_restart_under_load_loses_nothing_and_answers_503_quickly(database):
    env = service_env(database.url)
    prepare_database(env)
    with Gunicorn("app:app", env) as server:
        load = Load(server.url, form_token(server.url)).run()
        time.sleep(2)
        down_at = time.monotonic()
        database.stop("immediate")
        time.sleep(3)
        database.start()
        up_at = time.monotonic()
        deadline = up_at + 10
        while time.monotonic() < deadline:
            if any(a.status == 303 and a.started > up_at for a in load.answers):
                break
            time.sleep(0.1)
        time.sleep(1)
        answers = load.finish()

    acknowledged = [a.email for a in answers if a.status == 303]
    stored = stored_emails(database.url)
    assert len(acknowledged) > 20
    assert all(stored[email] == 1 for email in acknowledged), "an acknowledged signature was lost"
    assert max(stored.values()) == 1
    # While the database was down: a quick 503 that says when to come back, never a hang or a 500.
    during = [a for a in answers if down_at + 0.5 < a.started < up_at - 0.5]
    assert during and all(a.status == 503 for a in during), Counter(a.status for a in during)
    assert all(a.retry_after for a in during)
    assert max(a.seconds for a in during) < 2.5
    assert not any(a.status >= 500 and a.status != 503 for a in answers)
    # And service came back within 10 s of the database.
    recovered = [a.started for a in answers if a.status == 303 and a.started > up_at]
    assert recovered and min(recovered) - up_at < 10


def test_after_a_database_restart_no_reader_meets_a_connection_the_server_closed(database):
    env = service_env(database.url)
    prepare_database(env)
    with Gunicorn("app:app", env) as server:
        # Fill every worker's pool with open connections.
        load = Load(server.url, form_token(server.url), threads=12).run()
        time.sleep(2)
        load.finish()
        assert len(load.acknowledged()) > 20
        database.stop("fast")
        database.start()
        # The first requests after the restart land on the pooled connections of before.
        after = Load(server.url, form_token(server.url), threads=12).run()
        time.sleep(2)
        answers = after.finish()
    assert len(answers) > 20
    assert Counter(a.status for a in answers) == {303: len(answers)}


def test_kill_9_of_a_web_worker_under_load_loses_nothing_acknowledged(database):
    env = service_env(database.url)
    prepare_database(env)
    with Gunicorn("app:app", env) as server:
        load = Load(server.url, form_token(server.url)).run()
        time.sleep(2)
        victim = server.worker_pids()[0]
        subprocess.run(["kill", "-9", str(victim)], check=True)
        time.sleep(3)
        answers = load.finish()
    stored = stored_emails(database.url)
    acknowledged = [a.email for a in answers if a.status == 303]
    assert len(acknowledged) > 20
    assert all(stored[email] == 1 for email in acknowledged)
    assert not any(a.status >= 500 for a in answers), Counter(a.status for a in answers)
    assert any(a.status == 303 for a in answers if a.started > load.answers[0].started + 4)


def test_mail_server_down_then_up_delivers_every_email_exactly_once(database):
    port = free_port()
    env = service_env(database.url, MAIL_URL=f"smtp://127.0.0.1:{port}")
    prepare_database(env)
    with (
        Gunicorn("app:app", env) as server,
        background([sys.executable, "-m", "flask", "--app", "app", "worker"], env),
    ):
        token = form_token(server.url)
        emails = [f"mail{i}@example.org" for i in range(15)]
        for email in emails:
            assert (
                post(
                    f"{server.url}/petitions/{SLUG}/sign",
                    {**signer(email=email), "form_token": token},
                    server.url,
                )[0]
                == 303
            )
        time.sleep(3)  # the worker tries, and fails: nothing is listening
        mailbox = start_mailbox(port)
        try:
            received = mailbox.wait_for(len(emails), timeout=60)
            time.sleep(3)  # anything sent twice would have arrived by now
            received = list(mailbox.messages)
        finally:
            mailbox.stop()
    counts = Counter(str(m["To"]) for m in received)
    assert counts == Counter(emails)


def test_a_web_server_stopping_lets_its_own_worker_finish_the_message_it_is_sending(database):
    """With the worker in the web processes (EMBEDDED_WORKER), stopping gunicorn mid-send
    waits for the relay's answer and marks the message sent. (Before, the process left with
    the message held; the relay had it, and another worker would send it again once the hold
    ran out.)"""
    mailbox = start_mailbox(delay=2)  # a slow relay: the stop comes while it takes the message
    env = service_env(
        database.url,
        MAIL_URL=mailbox.url,
        EMBEDDED_WORKER="true",
        WORKER_POLL_SECONDS="0.2",
        WEB_CONCURRENCY="1",
    )
    prepare_database(env)
    try:
        with Gunicorn("app:app", env) as server:
            form = {**signer(email="stopping@example.org"), "form_token": form_token(server.url)}
            assert post(f"{server.url}/petitions/{SLUG}/sign", form, server.url)[0] == 303
            assert mailbox.receiving.wait(10), "the worker never sent the message"
            assert not mailbox.messages  # the relay has not answered yet: the stop comes now
        time.sleep(0.5)
        received = [str(m["To"]) for m in mailbox.messages]
    finally:
        mailbox.stop()
    with psycopg.connect(database.url) as conn:
        claim, sent_at = conn.execute(
            "SELECT claim, sent_at FROM outbox WHERE kind = 'confirm'"
        ).fetchone()
    assert received == ["stopping@example.org"]
    assert sent_at is not None and claim is None


def test_redis_going_away_does_not_stop_signing(database):
    redis_server = PrivateRedis().start()
    env = service_env(
        database.url,
        REDIS_URL=redis_server.url,
        RATELIMIT_ENABLED="true",
        SIGN_RATE_LIMIT="1000 per minute",
    )
    prepare_database(env)
    try:
        with Gunicorn("app:app", env) as server:
            token = form_token(server.url)

            def sign(email: str) -> int:
                form = {**signer(email=email), "form_token": token}
                return post(f"{server.url}/petitions/{SLUG}/sign", form, server.url)[0]

            before = [sign(f"r{i}@example.org") for i in range(5)]
            redis_server.stop()
            after = [sign(f"s{i}@example.org") for i in range(10)]
            reads = [
                urllib.request.urlopen(f"{server.url}/api/v1/petitions/{SLUG}", timeout=5).status
                for _ in range(5)
            ]
            log = server.log.read_text()
    finally:
        redis_server.stop()
    assert before == [303] * 5 and after == [303] * 10 and reads == [200] * 5
    assert "falling back to in-memory storage" in log
    assert len(stored_emails(database.url)) == 15


def test_two_workers_at_once_send_no_email_twice_and_count_nothing_twice(database):
    mailbox = start_mailbox()
    env = service_env(database.url, MAIL_URL=mailbox.url)
    prepare_database(env)
    worker = [sys.executable, "-m", "flask", "--app", "app", "worker"]
    try:
        with Gunicorn("app:app", env) as server, background(worker, env), background(worker, env):
            token = form_token(server.url)
            emails = [f"both{i}@example.org" for i in range(40)]
            for email in emails:
                post(
                    f"{server.url}/petitions/{SLUG}/sign",
                    {**signer(email=email), "form_token": token},
                    server.url,
                )
            received = mailbox.wait_for(len(emails), timeout=60)
            # Confirm them all while both workers fold counts and recounts run alongside.
            links = [
                re.search(r"(/signatures/confirm/\S+)", m.get_body(("plain",)).get_content()).group(
                    1
                )
                for m in received
            ]
            recounts = [
                subprocess.Popen(
                    [sys.executable, "-m", "flask", "--app", "app", "recount"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(2)
            ]
            for link in links:
                assert post(server.url + link, {}, server.url)[0] == 200
            for process in recounts:
                process.wait(60)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                count = urllib.request.urlopen(
                    f"{server.url}/api/v1/petitions/{SLUG}", timeout=5
                ).read()
                if b'"signature_count":40' in count:
                    break
                time.sleep(0.3)
            # Each confirmation is followed by its receipt (bulk mail, paced).
            mailbox.wait_for(2 * len(emails), timeout=60)
            time.sleep(2)
            received = list(mailbox.messages)
    finally:
        mailbox.stop()
    for kind in ("Please confirm your signature", "Your receipt"):
        sent = [m for m in received if str(m["Subject"]).startswith(kind)]
        assert Counter(str(m["To"]) for m in sent) == Counter(emails), kind
    assert len(received) == 2 * len(emails)
    assert b'"signature_count":40' in count
    with psycopg.connect(database.url) as conn:
        stored = conn.execute("SELECT confirmed_count, pending_count FROM petitions").fetchone()
        truth = conn.execute(
            "SELECT count(*) FILTER (WHERE state = 'confirmed'), "
            "count(*) FILTER (WHERE state = 'pending') FROM signatures"
        ).fetchone()
    assert stored == truth == (40, 0)
    recount = flask_command(env, "recount")
    assert "already right (40 confirmed)" in recount.stdout


def test_a_stripe_webhook_while_the_database_is_down_is_retried_into_one_donation(database):
    stripe_server = FakeStripe().start()
    env = service_env(
        database.url,
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=stripe_server.url,
    )
    prepare_database(env)
    try:
        with Gunicorn("app:app", env) as server:
            page = urllib.request.urlopen(f"{server.url}/donate", timeout=10).read().decode()
            token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
            status, _ = post(
                f"{server.url}/donate", {"amount": "20", "form_token": token}, server.url
            )
            assert status == 303
            session = {**stripe_server.sessions["cs_test_000001"], "payment_status": "paid"}
            body, header = signed(event("checkout.session.completed", session, "evt_during_outage"))

            def deliver() -> int:
                request = urllib.request.Request(
                    f"{server.url}/stripe/webhook",
                    data=body,
                    headers={"Stripe-Signature": header, "Content-Type": "application/json"},
                )
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        return response.status
                except urllib.error.HTTPError as exc:
                    return exc.code

            database.stop("immediate")
            assert deliver() >= 500  # Stripe will try again
            database.start()
            answers = []
            for _ in range(20):  # Stripe's retries
                answers.append(deliver())
                if answers[-1] == 200:
                    break
                time.sleep(0.5)
            assert answers[-1] == 200
            assert deliver() == 200  # and a late duplicate changes nothing
            summary = urllib.request.urlopen(
                f"{server.url}/api/v1/donations/summary", timeout=5
            ).read()
    finally:
        stripe_server.stop()
    with psycopg.connect(database.url) as conn:
        assert conn.execute(
            "SELECT count(*), sum(amount_minor) FROM donations WHERE status = 'paid'"
        ).fetchone() == (1, 2000)
        assert conn.execute("SELECT count(*) FROM stripe_events").fetchone() == (1,)
    assert b'"count":1,"amount_minor":2000' in summary
