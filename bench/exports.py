"""The signature export against PostgreSQL's own COPY of the same rows: speed and memory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import DATABASE_URL, ROOT, app_env, database_name, flask, psql, psql_command
from tests.parts import postgres_database

BASELINE = """
import sys, time, psycopg
started = time.perf_counter()
with psycopg.connect(sys.argv[1]) as conn, conn.cursor() as cur:
    query = ("COPY (SELECT s.name, s.email, s.postcode, s.country, s.state, s.consent_updates, "
             "c.version, s.created_at, s.confirmed_at, s.source FROM signatures s "
             "LEFT JOIN consent_wordings c ON c.id = s.consent_wording_id "
             "WHERE s.petition_id = %s ORDER BY s.id) TO STDOUT WITH (FORMAT csv)")
    with cur.copy(query, (int(sys.argv[2]),)) as copy:
        for _ in copy:
            pass
print(f"in {time.perf_counter() - started:.3f} s", file=sys.stderr)
"""


@dataclass
class Measured:
    rows: int
    seconds: float
    peak_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


def measure(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds the work took (as the program reports it) and its peak resident memory (MB).

    Peak memory is read from /proc while the program runs (VmHWM only grows), because a
    forked child's rusage would include the parent's memory at the fork.
    """
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak_kb = 0
    status = Path(f"/proc/{process.pid}/status")
    while process.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = max(peak_kb, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    report = process.stderr.read().decode() if process.stderr else ""
    if process.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{report}")
    seconds = float(re.search(r"in ([\d.]+) s", report).group(1))  # type: ignore[union-attr]
    return seconds, peak_kb / 1024


def load_rows(url: str, petition_id: int, rows: int) -> None:
    subprocess.run(
        [
            "psql",
            url,
            "-q",
            "-v",
            f"petition_id={petition_id}",
            "-v",
            f"rows={rows}",
            "-f",
            str(Path(__file__).with_name("export_data.sql")),
        ],
        check=True,
    )


def export(sizes: tuple[int, ...] = (100_000, 1_000_000)) -> list[tuple[str, Measured, Measured]]:
    """For each size: our export (the CLI, same service as the admin download) and COPY."""
    results = []
    for size in sizes:
        with postgres_database(DATABASE_URL, database_name(f"export_{size}")) as url:
            env = app_env(url)
            flask("db", "upgrade", env=env)
            flask("seed", env=env)
            psql(url, "export_data.sql", petition_id=1, rows=size)
            psql_command(url, "VACUUM ANALYZE signatures")
            ours_args = [
                sys.executable,
                "-m",
                "flask",
                "--app",
                "app",
                "export-signatures",
                "help-ukraine-refugees",
                "--state",
                "all",
                "--output",
                os.devnull,
            ]
            baseline_args = [sys.executable, "-c", BASELINE, url, "1"]
            # Alternate, keep the faster of two runs of each (a warm cache for both).
            ours = min((measure(ours_args, env) for _ in range(2)), key=lambda m: m[0])
            copy = min((measure(baseline_args, env) for _ in range(2)), key=lambda m: m[0])
            results.append((f"{size:,} rows", Measured(size, *ours), Measured(size, *copy)))
    return results


def export_table(results: list[tuple[str, Measured, Measured]]) -> str:
    lines = [
        "| export | rows/s | peak memory | `COPY … TO STDOUT` rows/s | COPY peak memory | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, ours, copy in results:
        lines.append(
            f"| {label} | {ours.rows_per_second:,.0f} | "
            f"{ours.peak_mb:.0f} MB | {copy.rows_per_second:,.0f} | {copy.peak_mb:.0f} MB | "
            f"{ours.rows_per_second / copy.rows_per_second:.2f}× |"
        )
    return "\n".join(lines)
