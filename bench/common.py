"""Running servers and load for the benchmarks: gunicorn, a mail sink, wrk."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from petition.services.seed import PETITION_SLUG
from tests.parts import Mailbox
from tests.processes import production_env as app_env  # noqa: F401 (the benchmarks' settings)

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", 32))
DURATION = int(os.environ.get("BENCH_SECONDS", 8))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 5))
# Each run's databases have names of their own, so two runs on one server never collide.
RUN_ID = uuid.uuid4().hex[:8]


def database_name(scenario: str) -> str:
    return f"petition_bench_{scenario}_{RUN_ID}"


def flask(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def psql(url: str, script: str, **variables: object) -> None:
    """Run one of bench/*.sql with psql variables (the client that comes with PostgreSQL)."""
    args = ["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-f", str(ROOT / "bench" / script)]
    for name, value in variables.items():
        args[3:3] = ["-v", f"{name}={value}"]
    subprocess.run(args, check=True)


def psql_command(url: str, sql: str) -> None:
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True)


def scalar(url: str, sql: str) -> Any:
    """One value from the database (how many messages wait, how big it has grown)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
    return row[0] if row else None


WAITING_MAIL = "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"


def page_token(base: str) -> str:
    """The form token of the petition page, as a reader's browser gets it."""
    page = urllib.request.urlopen(f"{base}/petitions/{PETITION_SLUG}").read().decode()
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


class MailSink(Mailbox):
    """A real SMTP server that accepts and forgets: tens of thousands of messages arrive."""

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 Accepted"


@dataclass
class Load:
    """What wrk measured."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def wrk(
    url: str,
    script: str | None = None,
    args: tuple[str, ...] = (),
    seconds: int = DURATION,
    connections: int = CONNECTIONS,
) -> Load:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["--timeout", "10s"]
    if script:
        command += ["-s", str(ROOT / "bench" / script)]
    command.append(url)
    if args:
        command += ["--", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(
            f"wrk failed ({done.returncode}): {' '.join(command)}\n{done.stderr}{done.stdout}"
        )
    output = done.stdout
    if os.environ.get("BENCH_VERBOSE"):
        print(" ".join(command), output, sep="\n", flush=True)
    return parse_wrk(output)


def parse_wrk(output: str) -> Load:
    def ms(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(bad.group(1)) if bad else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Load(requests=requests, rps=rps, p50_ms=ms("50"), p99_ms=ms("99"), errors=errors)


@dataclass(frozen=True)
class Target:
    """One side of a comparison: a server URL, a wrk script and its arguments."""

    url: str
    script: str | None = None
    args: tuple[str, ...] = ()


@dataclass
class Comparison:
    ours: Load
    baseline: Load
    ratio: float  # the median of the ratios of back-to-back runs


def compare(
    ours: Target, baseline: Target, rounds: int = ROUNDS, connections: int = CONNECTIONS
) -> Comparison:
    """Alternate runs of ours and the baseline, back to back, and take medians.

    This machine's speed swings between runs (its disk, its neighbours), so each run of ours is
    paired with the baseline run right after it and the ratio is the median of those pairs.
    Both sides get a short unmeasured warm-up first (connections, prepared statements).
    """
    for side in (ours, baseline):
        wrk(side.url, side.script, side.args, seconds=2, connections=connections)
    mine, theirs = [], []
    for _ in range(rounds):
        mine.append(wrk(ours.url, ours.script, ours.args, connections=connections))
        theirs.append(wrk(baseline.url, baseline.script, baseline.args, connections=connections))
    ratios = [m.rps / t.rps for m, t in zip(mine, theirs, strict=True) if t.rps]
    return Comparison(
        median(mine), median(theirs), statistics.median(ratios) if ratios else float("nan")
    )


def median(loads: list[Load]) -> Load:
    def mid(values: list[float]) -> float:
        return statistics.median(values)

    return Load(
        requests=sum(x.requests for x in loads),
        rps=mid([x.rps for x in loads]),
        p50_ms=mid([x.p50_ms for x in loads]),
        p99_ms=mid([x.p99_ms for x in loads]),
        errors=sum(x.errors for x in loads),
    )


@dataclass
class Row:
    scenario: str
    baseline_name: str
    result: Comparison
    # Messages still waiting in the outbox when the scenario ended (where it queues mail).
    outbox: int | None = None

    @property
    def ours(self) -> Load:
        return self.result.ours

    @property
    def baseline(self) -> Load:
        return self.result.baseline

    @property
    def ratio(self) -> float:
        return self.result.ratio


COLUMNS = (
    "scenario",
    "req/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "baseline",
    "baseline req/s",
    "baseline p50 ms",
    "baseline p99 ms",
    "ratio",
    "outbox at end",
)


def table(rows: list[Row]) -> str:
    """The results as a Markdown table, ready for the README."""
    lines = [
        f"Machine: {machine()}. PostgreSQL; {CONNECTIONS} concurrent connections; "
        f"medians of {ROUNDS} alternating {DURATION} s runs of each side; ratio: median of "
        "the back-to-back pairs' ratios.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cells = (
            r.scenario,
            f"{r.ours.rps:,.0f}",
            f"{r.ours.p50_ms:.1f}",
            f"{r.ours.p99_ms:.1f}",
            str(r.ours.errors),
            r.baseline_name,
            f"{r.baseline.rps:,.0f}",
            f"{r.baseline.p50_ms:.1f}",
            f"{r.baseline.p99_ms:.1f}",
            f"{r.ratio:.2f}×",
            "—" if r.outbox is None else f"{r.outbox:,}",
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {sys.version.split()[0]}"
