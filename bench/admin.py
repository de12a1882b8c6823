"""Admin pages and commands at a national campaign's scale (BENCH_ADMIN_ROWS signatures,
ten million by default): each search, the dashboard from a cold process, the petition's page,
the Mail page, `purge` with nothing due, `recount`, and the export's speed and memory.

The signatures are made inside PostgreSQL (bench/admin_data.sql); pages are timed in a process
of their own with the production settings, signed in as an admin, through the test client
(what is timed is the service's work, not a network's).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.common import DATABASE_URL, ROOT, app_env, database_name, flask, psql
from bench.exports import Measured, measure
from tests.parts import postgres_database

ROWS = int(os.environ.get("BENCH_ADMIN_ROWS", 10_000_000))
MAIL = int(os.environ.get("BENCH_ADMIN_MAIL", 1_000_000))
KEY = "an-email-hash-key-for-tests-and-benchmarks"  # tests.processes.production_env's


@dataclass
class Timed:
    what: str
    first_ms: float  # the first time, in a process that has not seen it before
    again_ms: float  # the median of the next runs
    note: str = ""


def signature_of(n: int) -> dict[str, str]:
    """What admin_data.sql made for signature n (its address, network, postcode)."""
    ip = f"{1 + (n * 7) % 223}.{(n // 7) % 256}.{(n // 1789) % 256}.{n % 256}"
    areas = ["SW1A", "M1", "EC1A", "B1", "LS1", "G1", "CF10", "BS1", "NE1", "L1"]
    postcode = f"{areas[n % 10]} {(n // 10) % 10}{chr(65 + (n // 100) % 26)}"
    return {"email": f"reader{n}@gmail.com", "ip": ip, "postcode": postcode}


def pages_to_time() -> list[tuple[str, str]]:
    middle = signature_of(ROWS // 2 - ROWS // 2 % 10)  # n % 10 == 0: a gmail.com address
    network = middle["ip"].rsplit(".", 1)[0] + ".0/24"
    return [
        ("dashboard (cold process)", "/admin/"),
        ("search: email", f"/admin/signatures?email={middle['email']}"),
        ("search: common domain (gmail.com, 30%)", "/admin/signatures?domain=gmail.com"),
        ("search: rare domain", "/admin/signatures?domain=org4321.example.org.uk"),
        ("search: IP address", f"/admin/signatures?ip={middle['ip']}"),
        ("search: IP range /24", f"/admin/signatures?ip={network}"),
        ("search: IP range /8", "/admin/signatures?ip=10.0.0.0/8"),
        ("search: postcode area (SW1A, 8%)", "/admin/signatures?postcode=SW1A"),
        ("search: postcode start", f"/admin/signatures?postcode={middle['postcode']}"),
        ("search: rare name (Żółć)", "/admin/signatures?name=%C5%BC%C3%B3%C5%82%C4%87"),
        ("search: common surname (Shevchenko, 2%)", "/admin/signatures?name=shevchenko"),
        ("search: one day, pending", "/admin/signatures?state=pending&since=" + _days_ago(10)),
        ("search: page 100 of a common domain", "/admin/signatures?domain=gmail.com&page=100"),
        ("privacy lookup", f"/admin/privacy?email={middle['email']}"),
        ("petition page (admin)", "/admin/petitions/help-ukraine-refugees"),
        ("Mail page", "/admin/mail"),
        ("audit log", "/admin/audit"),
    ]


def _days_ago(days: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() - days * 86400))


def time_admin() -> None:
    """In a process of its own, with the production settings: time each command's work and
    each page, signed in as an admin; print JSON lines."""
    from app import app
    from petition.services import counting, figures, retention
    from tests.factories import log_in, make_admin

    def report(what: str, times: list[float], note: str = "") -> None:
        again = statistics.median(times[1:]) if len(times) > 1 else float("nan")
        print(json.dumps([what, times[0], again, note]), flush=True)

    def timed(work: Callable[[], object], runs: int) -> list[float]:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            work()
            times.append((time.perf_counter() - started) * 1000)
        return times

    with app.app_context():
        report("recount", timed(counting.recount, 2))
        report("purge (nothing due)", timed(retention.purge, 4))
        # Before the first dashboard, the worker has worked out what staff will see.
        report("figures, worked out by the worker", timed(figures.refresh_due, 1))
        make_admin("bench-admin@example.org")
    client = app.test_client()
    response = log_in(client, "bench-admin@example.org")
    assert response.status_code in (302, 303), response.status_code
    for what, path in pages_to_time():
        pages: list[Any] = []

        def get(path: str = path, pages: list[Any] = pages) -> None:
            pages.append(client.get(path))
            assert pages[-1].status_code == 200, (path, pages[-1].status_code)

        times = timed(get, 4)
        html = pages[-1].get_data(as_text=True)
        found = re.search(r"<h2>([^<]*) matching signatures?</h2>", html)
        report(what, times, found.group(1) if found else "")


def run() -> tuple[list[Timed], Measured]:
    with postgres_database(DATABASE_URL, database_name("admin")) as url:
        env = app_env(url)
        flask("db", "upgrade", env=env)
        flask("seed", env=env)
        started = time.perf_counter()
        psql(url, "admin_data.sql", petition_id=1, rows=ROWS, mail=MAIL, key=KEY)
        print(f"  {ROWS:,} signatures made in {time.perf_counter() - started:.0f} s", flush=True)
        results = [
            Timed(*json.loads(line)) for line in _in_process(env, "time_admin") if line[:1] == "["
        ]
        export = [
            *(sys.executable, "-m", "flask", "--app", "app", "export-signatures"),
            *("help-ukraine-refugees", "--state", "all", "--output", os.devnull),
        ]
        seconds, peak = measure(export, env)
        return results, Measured(ROWS, seconds, peak)


def _in_process(env: dict[str, str], function: str) -> list[str]:
    """Run one of this module's functions in a new process; its output's lines."""
    done = subprocess.run(
        [sys.executable, "-c", f"from bench.admin import {function}; {function}()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{function} failed:\n{done.stderr}")
    return done.stdout.splitlines()


def admin_table(results: list[Timed], export: Measured | None) -> str:
    lines = [
        f"{ROWS:,} signatures, {MAIL:,} sent emails kept. Milliseconds: the first time in a "
        "new process, then the median of the next runs.",
        "",
        "| page or command | first ms | again ms | found |",
        "|---|---:|---:|---|",
    ]
    for r in results:
        again = "" if r.again_ms != r.again_ms else f"{r.again_ms:,.0f}"
        lines.append(f"| {r.what} | {r.first_ms:,.0f} | {again} | {r.note} |")
    if export:
        lines.append(
            f"| export all {export.rows:,} (CSV) | {export.seconds * 1000:,.0f} | | "
            f"{export.rows_per_second:,.0f} rows/s, peak memory {export.peak_mb:.0f} MB |"
        )
    return "\n".join(lines)
