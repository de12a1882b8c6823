"""A viral hour, compressed: ten minutes of readers, signers and confirmers at once.

The service runs as deployed (gunicorn, one `flask worker` process, a real SMTP server on
loopback, all on this machine) and is offered a steady mix: the petition page, its count and
the widget read far more often than anyone signs, and people confirming links from their
email. Each route has its own wrk, pacing its connections so that the load is a rate, not "as
fast as possible" (which would measure only saturation), and reports its own percentiles.

Every two seconds the outbox's waiting messages are counted. At the end: what each route
sustained, the outbox in the first minute and in the last (the median of each minute's
samples: a single sample catches whatever was signed in the last few milliseconds), and the
longest any confirmation email waited between its signature and the mail server taking it
(from the outbox's own clock).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg

from bench.common import (
    DATABASE_URL,
    WAITING_MAIL,
    Load,
    MailSink,
    app_env,
    database_name,
    flask,
    page_token,
    psql,
    scalar,
    wrk,
)
from petition.services.seed import PETITION_SLUG
from tests.parts import postgres_database
from tests.processes import WORKER, background
from tests.processes import gunicorn as server

SECONDS = int(os.environ.get("BENCH_VIRAL_SECONDS", 600))
LINKS = 200_000  # pending signatures whose confirm links the confirmers press
SAMPLE_EVERY = 2.0  # seconds between counts of the outbox


@dataclass(frozen=True)
class Stream:
    """One route's share of the load: `connections` each pausing `pause_ms` between requests."""

    name: str
    path: str
    script: str
    connections: int
    pause_ms: int

    @property
    def offered(self) -> float:
        """Requests a second asked for, were every answer instant."""
        return self.connections * 1000 / self.pause_ms


STREAMS = (
    Stream("petition page (HTML)", f"/petitions/{PETITION_SLUG}", "paced.lua", 8, 10),
    Stream("count API (JSON)", f"/api/v1/petitions/{PETITION_SLUG}", "paced.lua", 4, 10),
    Stream("widget page (HTML)", f"/embed/petitions/{PETITION_SLUG}", "paced.lua", 4, 20),
    Stream("sign (form post → 303)", f"/petitions/{PETITION_SLUG}/sign", "sign.lua", 8, 50),
    Stream("confirm (POST the link → 200)", "/signatures/confirm/", "confirm.lua", 4, 50),
)


@dataclass
class ViralResult:
    seconds: int
    loads: dict[str, Load] = field(default_factory=dict)
    outbox: list[tuple[float, int]] = field(default_factory=list)  # (seconds in, waiting)
    drained_seconds: float = float("nan")
    signed: int = 0
    confirmations_sent: int = 0
    longest_wait_s: float = float("nan")
    p99_wait_s: float = float("nan")


def run() -> ViralResult:
    mailbox = MailSink().start()
    result = ViralResult(SECONDS)
    try:
        with postgres_database(DATABASE_URL, database_name("viral")) as url:
            env = app_env(url, MAIL_URL=mailbox.url)
            flask("db", "upgrade", env=env)
            flask("seed", env=env)
            psql(url, "confirm_data.sql", petition_id=1, rows=LINKS)
            with server("app:app", env) as ours, background(WORKER, env):
                token = page_token(ours)
                started = time.monotonic()
                stop = threading.Event()
                sampler = threading.Thread(target=_sample, args=(url, started, stop, result))
                sampler.start()
                with ThreadPoolExecutor(len(STREAMS)) as pool:
                    futures = {
                        s.name: pool.submit(_load, s, ours, token, result.seconds) for s in STREAMS
                    }
                    result.loads = {name: f.result() for name, f in futures.items()}
                stop.set()
                sampler.join()
                ended = time.monotonic()
                while _waiting(url) and time.monotonic() - ended < 300:
                    time.sleep(0.5)
                result.drained_seconds = time.monotonic() - ended
            _confirmation_waits(url, result)
    finally:
        mailbox.stop()
    return result


def _load(stream: Stream, base: str, token: str, seconds: int) -> Load:
    if stream.script == "sign.lua":
        args: tuple[str, ...] = (stream.path, token, base, str(stream.pause_ms))
    elif stream.script == "confirm.lua":
        threads = str(min(2, stream.connections))  # as wrk() starts it
        args = (base, threads, str(LINKS), str(stream.pause_ms))
    else:
        args = (str(stream.pause_ms),)
    return wrk(
        base + stream.path, stream.script, args, seconds=seconds, connections=stream.connections
    )


def _sample(url: str, started: float, stop: threading.Event, result: ViralResult) -> None:
    while not stop.wait(SAMPLE_EVERY):
        result.outbox.append((time.monotonic() - started, _waiting(url)))


def _waiting(url: str) -> int:
    return int(scalar(url, WAITING_MAIL))


def _confirmation_waits(url: str, result: ViralResult) -> None:
    """From each signature's confirmation email being queued to the mail server taking it."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            """
            SELECT count(*),
                   max(extract(epoch FROM coalesce(sent_at, now()) - created_at)),
                   percentile_cont(0.99) WITHIN GROUP (
                       ORDER BY extract(epoch FROM coalesce(sent_at, now()) - created_at))
            FROM outbox WHERE kind = 'confirm'
            """
        ).fetchone()
        signed = conn.execute("SELECT count(*) FROM signatures WHERE source <> 'bench'").fetchone()
    assert row is not None and signed is not None
    result.confirmations_sent, result.longest_wait_s, result.p99_wait_s = (
        int(row[0]),
        float(row[1] or 0),
        float(row[2] or 0),
    )
    result.signed = int(signed[0])


def viral_table(r: ViralResult) -> str:
    first = [n for t, n in r.outbox if t <= 60]
    last = [n for t, n in r.outbox if t >= r.seconds - 60]
    minute_1 = statistics.median(first) if first else float("nan")
    end = statistics.median(last) if last else float("nan")
    peak = max((n for _, n in r.outbox), default=0)
    lines = [
        f"{r.seconds // 60} minutes of mixed load on the service as deployed (gunicorn, one "
        "`flask worker`, a real SMTP server, PostgreSQL, wrk: all on this machine). Each route "
        "has its own paced connections; p99 is per route.",
        "",
        "| route | offered req/s | served req/s | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for stream in STREAMS:
        load = r.loads[stream.name]
        lines.append(
            f"| {stream.name} | {stream.offered:,.0f} | {load.rps:,.1f} | {load.p50_ms:.1f} | "
            f"{load.p99_ms:.1f} | {load.errors} |"
        )
    lines += [
        "",
        "| mail during the run | figure |",
        "|---|---:|",
        f"| signatures made (sustained) | {r.signed:,} ({r.signed / r.seconds:,.1f} a second) |",
        f"| confirmation emails sent | {r.confirmations_sent:,} |",
        f"| outbox waiting, median of minute 1 / of the last minute / at most | {minute_1:,.0f} / "
        f"{end:,.0f} / {peak:,} |",
        f"| longest any confirmation email waited (p99) | {r.longest_wait_s:.1f} s "
        f"({r.p99_wait_s:.2f} s) |",
        f"| outbox empty again after the load stopped | {r.drained_seconds:.1f} s |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # python -m bench.viral, on its own
    print(viral_table(run()))
