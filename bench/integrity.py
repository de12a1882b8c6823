"""The integrity report and the open data at a national campaign's scale (BENCH_INTEGRITY_ROWS
signatures, a million by default): the pages and endpoints under load next to a bare Flask
endpoint, whether serving them read the signatures table at all, and what publishing a digest
of every receipt, `verify-digests` and a recount take.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

import psycopg

from bench.common import (
    DATABASE_URL,
    ROOT,
    Row,
    Target,
    app_env,
    compare,
    database_name,
    flask,
    psql,
    table,
)
from petition.services.seed import PETITION_SLUG as SLUG
from tests.parts import postgres_database
from tests.processes import gunicorn as server

ROWS = int(os.environ.get("BENCH_INTEGRITY_ROWS", 1_000_000))
KEY = "an-email-hash-key-for-tests-and-benchmarks"  # tests.processes.production_env's
# PostgreSQL writes a backend's table statistics out once it has been idle this long.
STATS_FLUSH_SECONDS = 11


@dataclass
class Integrity:
    rows: list[Row]
    signature_reads: int  # scans of the signatures table while the endpoints were under load
    requests: int
    publish_s: float
    verify_s: float
    recount_s: float
    receipts: int


def _reads_of_signatures(url: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables "
            "WHERE relname = 'signatures'"
        ).fetchone()
    return int(row[0]) if row else 0


def _timed(*command: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def run() -> Integrity:
    with postgres_database(DATABASE_URL, database_name("integrity")) as url:
        env = app_env(url)
        flask("db", "upgrade", env=env)
        flask("seed", env=env)
        started = time.perf_counter()
        psql(url, "admin_data.sql", petition_id=1, rows=ROWS, mail=0, key=KEY)
        psql(url, "integrity_data.sql", petition_id=1)
        print(f"  {ROWS:,} signatures made in {time.perf_counter() - started:.0f} s", flush=True)
        python = (sys.executable, "-c")
        publish = _timed(
            *python,
            "from datetime import timedelta; from petition import create_app; "
            "from petition.services import digests\n"
            "with create_app().app_context(): assert digests.publish_due(every=timedelta(0)) == 1",
            env=env,
        )
        verify = _timed(sys.executable, "-m", "flask", "--app", "app", "verify-digests", env=env)
        recount = _timed(sys.executable, "-m", "flask", "--app", "app", "recount", env=env)
        with psycopg.connect(url) as connection:
            receipts = connection.execute("SELECT counted FROM count_digests").fetchone()[0]
        time.sleep(STATS_FLUSH_SECONDS)
        before = _reads_of_signatures(url)
        with server("app:app", env) as ours, server("bench.baseline_app:app", env) as bare:
            json_base, html_base = Target(f"{bare}/json"), Target(f"{bare}/html")
            api = f"{ours}/api/v1/petitions/{SLUG}"
            results = [
                ("integrity (JSON)", compare(Target(f"{api}/integrity"), json_base)),
                ("history (JSON)", compare(Target(f"{api}/history"), json_base)),
                ("history (CSV)", compare(Target(f"{api}/history.csv"), json_base)),
                (
                    "integrity page (HTML)",
                    compare(Target(f"{ours}/petitions/{SLUG}/integrity"), html_base),
                ),
            ]
        time.sleep(STATS_FLUSH_SECONDS)
        reads = _reads_of_signatures(url) - before
    rows = [
        Row(
            name,
            "bare Flask: jsonify a dict" if "HTML" not in name else "bare Flask: render a template",
            result,
        )
        for name, result in results
    ]
    requests = sum(r.ours.requests for r in rows)
    return Integrity(rows, reads, requests, publish, verify, recount, receipts)


def integrity_table(done: Integrity) -> str:
    return "\n".join(
        [
            f"A petition with {ROWS:,} signatures.",
            "",
            table(done.rows),
            "",
            f"Reads of the signatures table while serving those {done.requests:,} requests: "
            f"{done.signature_reads}.",
            "",
            "| once an hour, or by hand | seconds |",
            "|---|---:|",
            f"| publish a digest of {done.receipts:,} receipts | {done.publish_s:.1f} |",
            f"| `verify-digests` (recompute, compare) | {done.verify_s:.1f} |",
            f"| `recount` (the daily check) | {done.recount_s:.1f} |",
        ]
    )
