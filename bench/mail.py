"""Mail on a viral day: confirmations behind a 100,000-strong mailing, bulk speed, claims.

Runs the service as deployed (gunicorn, `flask worker` processes of their own) against a
fresh PostgreSQL database and a real SMTP server on loopback that notes when each message
arrives. Baselines from the same run: the empty queue, and a bare smtplib loop into the same
server.
"""

from __future__ import annotations

import logging
import os
import smtplib
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import psycopg

from bench.common import (
    DATABASE_URL,
    ROOT,
    app_env,
    database_name,
    flask,
    page_token,
    psql,
    scalar,
)
from petition.services.seed import PETITION_SLUG
from tests.parts import Mailbox, postgres_database
from tests.processes import WORKER, background
from tests.processes import gunicorn as server

RECIPIENTS = int(os.environ.get("BENCH_MAILING_ROWS", 100_000))
SIGNERS = 200

START_MAILING = """
from petition import create_app
from petition.services import mailings, petitions
from petition.services.audit import Actor
app = create_app()
with app.app_context():
    draft = petitions.NewsDraft("Handed in", "We handed the petition in. " * 20)
    news = petitions.post_news("{slug}", draft, Actor("bench"))
    print(mailings.start("{slug}", news.id, Actor("bench")))
"""


class TimedSink(Mailbox):
    """A real SMTP server that notes when each recipient's message arrived, and forgets it."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: dict[str, float] = {}
        self.count = 0

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        now = time.monotonic()
        for address in envelope.rcpt_tos:
            self.arrivals[address.lower()] = now
        self.count += 1
        return "250 Accepted"


@dataclass
class Latency:
    p50_ms: float
    p99_ms: float
    arrived: int


@dataclass
class MailResult:
    empty: Latency
    backlog: Latency
    backlog_size: int  # bulk messages still queued when the confirmations were measured
    queued_seconds: float
    growth_mb: float
    bulk_rate_default: float
    throughput: dict[int, float] = field(default_factory=dict)  # workers → messages/s
    smtplib_rate: float = 0.0
    claims_ms: list[float] = field(default_factory=list)
    worker_mb: tuple[float, float] = (0.0, 0.0)


def confirmations(base: str, sink: TimedSink, label: str, n: int = SIGNERS) -> Latency:
    """Sign `n` times (20 a second, four readers at once); time from each 303 to its email."""
    token = page_token(base)
    signed: dict[str, float] = {}
    refused: list[str] = []
    lock = threading.Lock()

    def reader(k: int) -> None:
        for i in range(k, n, 4):
            email = f"{label}{i}@bench.example"
            form = {"name": "Bench Reader", "email": email, "country": "FR", "form_token": token}
            request = urllib.request.Request(
                f"{base}/petitions/{PETITION_SLUG}/sign",
                data=urllib.parse.urlencode(form).encode(),
                headers={"Origin": base},
            )
            started = time.monotonic()
            try:
                urllib.request.build_opener(NoRedirect).open(request, timeout=10)
            except urllib.error.HTTPError as exc:
                with lock:
                    if exc.code == 303:
                        signed[email] = time.monotonic()
                    else:
                        refused.append(f"{exc.code}: {exc.read()[:300]!r}")
            time.sleep(max(0.0, 0.2 - (time.monotonic() - started)))

    readers = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
    for thread in readers:
        thread.start()
    for thread in readers:
        thread.join()
    if refused or len(signed) < n:
        raise SystemExit(f"signing failed: {len(signed)} of {n} signed; {refused[:3]}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(e not in sink.arrivals for e in signed):
        time.sleep(0.05)
    waits = sorted((sink.arrivals[e] - t) * 1000 for e, t in signed.items() if e in sink.arrivals)
    return Latency(percentile(waits, 50), percentile(waits, 99), len(waits))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def percentile(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def smtplib_rate(sink: TimedSink, seconds: float = 5.0) -> float:
    """The baseline: one smtplib connection sending a message the size of ours, in a loop."""
    message = EmailMessage()
    message["From"] = "petition@bench.example"
    message["To"] = "baseline@bench.example"
    message["Subject"] = "Handed in"
    message.set_content("We handed the petition in. " * 40)
    message.add_alternative("<p>" + "We handed the petition in. " * 40 + "</p>", subtype="html")
    sent = 0
    with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            smtp.send_message(message)
            sent += 1
    return sent / seconds


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def waiting_bulk(url: str) -> int:
    return scalar(
        url, "SELECT count(*) FROM outbox WHERE lane = 1 AND sent_at IS NULL AND failed_at IS NULL"
    )


class ClaimTimer:
    """Times our claim statement as the worker runs it, by EXPLAIN ANALYZE in a rolled-back
    transaction (so nothing is taken), every half second while the queue drains."""

    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.url = url
        self.samples: list[float] = []
        self._stop = threading.Event()
        from petition import create_app

        self.app = create_app({**_app_config(env), "DATABASE_URL": url, "AUTO_SETUP": False})

    def sql(self) -> tuple[str, dict[str, Any]]:
        from sqlalchemy.dialects import postgresql

        from petition.mail.delivery import claim_statement
        from petition.models import Lane, utcnow

        with self.app.app_context():
            statement = claim_statement(Lane.BULK, 20, "bench-claim", utcnow(), 300)
            compiled = statement.compile(dialect=postgresql.psycopg.dialect())
        params = {k: int(v) if k.startswith("lane") else v for k, v in compiled.params.items()}
        return str(compiled), params

    def run(self) -> None:
        with psycopg.connect(self.url) as conn:
            while not self._stop.wait(0.5):
                sql, params = self.sql()
                with conn.transaction(force_rollback=True):
                    plan = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
                    self.samples.append(plan.fetchone()[0][0]["Execution Time"])

    def __enter__(self) -> ClaimTimer:
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def _app_config(env: dict[str, str]) -> dict[str, Any]:
    return {
        "APP_ENV": "production",
        "SECRET_KEY": env["SECRET_KEY"],
        "EMAIL_HASH_KEY": env["EMAIL_HASH_KEY"],
        "ORGANISATION_NAME": env["ORGANISATION_NAME"],
        "PRIVACY_CONTACT": env["PRIVACY_CONTACT"],
        "EMBEDDED_WORKER": False,
        "PUBLIC_URL": "http://127.0.0.1",
        "ALLOW_LOCAL_PUBLIC_URL": True,
        "MAIL_URL": env["MAIL_URL"],
        "MAIL_FROM": env["MAIL_FROM"],
    }


def run() -> MailResult:
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's line per command
    sink = TimedSink().start()
    try:
        with postgres_database(DATABASE_URL, database_name("mail")) as url:
            env = app_env(url, MAIL_URL=sink.url)
            flask("db", "upgrade", env=env)
            flask("seed", env=env)
            with server("app:app", env) as ours:
                with background(WORKER, env):
                    time.sleep(2)
                    empty = confirmations(ours, sink, "empty")

                psql(url, "mail_data.sql", petition_id=1, rows=RECIPIENTS)
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("ANALYZE outbox")  # statistics of its usual state: empty
                size_before = scalar(url, "SELECT pg_database_size(current_database())")
                with background(WORKER, env) as worker:
                    started = time.monotonic()
                    slug = PETITION_SLUG
                    subprocess.run(
                        [sys.executable, "-c", START_MAILING.format(slug=slug)],
                        cwd=ROOT,
                        env=env,
                        check=True,
                        capture_output=True,
                    )
                    while scalar(url, "SELECT count(*) FROM mailings WHERE state = 'queued'") < 1:
                        time.sleep(0.1)
                    queued_seconds = time.monotonic() - started
                    size_after = scalar(url, "SELECT pg_database_size(current_database())")
                    memory_start = rss_mb(worker.pid)
                    backlog_size = waiting_bulk(url)
                    backlog = confirmations(ours, sink, "backlog")
                    before, t0 = sink.count, time.monotonic()
                    time.sleep(10)
                    bulk_rate_default = (sink.count - before) / (time.monotonic() - t0)

            fast = {**env, "MAIL_BULK_RATE": "1000000"}
            result = MailResult(
                empty,
                backlog,
                backlog_size,
                queued_seconds,
                (size_after - size_before) / 1e6,
                bulk_rate_default,
            )
            with ClaimTimer(url, env) as claims:
                for workers in (1, 2):
                    processes = [background(WORKER, fast) for _ in range(workers)]
                    started_workers = [p.__enter__() for p in processes]
                    time.sleep(3)  # started, connected, sending
                    before, t0 = sink.count, time.monotonic()
                    time.sleep(15)
                    result.throughput[workers] = (sink.count - before) / (time.monotonic() - t0)
                    if workers == 1:
                        result.worker_mb = (memory_start, rss_mb(started_workers[0].pid))
                    for p in processes:
                        p.__exit__(None, None, None)
            result.claims_ms = claims.samples
            result.smtplib_rate = smtplib_rate(sink)
    finally:
        sink.stop()
    return result


def mail_table(r: MailResult) -> str:
    claims = r.claims_ms or [float("nan")]
    lines = [
        f"{RECIPIENTS:,} signers who want updates; one news mailing to all of them.",
        "",
        "| mail | ours | baseline (same run) |",
        "|---|---|---|",
        f"| confirmation email, sign (303) → arrival, p50 / p99 | {r.backlog.p50_ms:,.0f} / "
        f"{r.backlog.p99_ms:,.0f} ms with {r.backlog_size:,} bulk messages queued "
        f"({r.backlog.arrived}/{SIGNERS} arrived) | {r.empty.p50_ms:,.0f} / "
        f"{r.empty.p99_ms:,.0f} ms with an empty queue ({r.empty.arrived}/{SIGNERS}) |",
        f"| queueing the mailing ({RECIPIENTS:,} recipients, chunks of 5,000) | "
        f"{r.queued_seconds:.1f} s, database +{r.growth_mb:.1f} MB | — |",
        f"| bulk sending at the default MAIL_BULK_RATE | {r.bulk_rate_default:.1f} messages/s | "
        "— |",
        f"| bulk sending, rate uncapped, 1 worker (2 threads) | {r.throughput.get(1, 0):,.0f} "
        f"messages/s | bare smtplib loop, one connection: {r.smtplib_rate:,.0f} messages/s |",
        f"| bulk sending, rate uncapped, 2 workers | {r.throughput.get(2, 0):,.0f} messages/s | "
        "— |",
        f"| claim statement while the mailing drains (EXPLAIN ANALYZE, {len(r.claims_ms)} "
        f"samples) | median {statistics.median(claims):.2f} ms, max {max(claims):.2f} ms | — |",
        f"| worker memory (1 worker) | {r.worker_mb[0]:.0f} MB → {r.worker_mb[1]:.0f} MB after "
        "sending | — |",
    ]
    return "\n".join(lines)
