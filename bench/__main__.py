"""`python -m bench [scenario …]`: run benchmarks and print one table, ours next to baselines.

Needs PostgreSQL (BENCH_DATABASE_URL, default the local `test` server) and wrk
(`apt-get install -y wrk`). Each run uses a fresh database of its own.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from bench import admin, exports, integrity, mail, viral
from bench.common import (
    DATABASE_URL,
    WAITING_MAIL,
    MailSink,
    Row,
    Target,
    app_env,
    compare,
    database_name,
    flask,
    page_token,
    psql,
    psql_command,
    scalar,
    table,
    wrk,
)
from petition.services.seed import PETITION_SLUG as SEED_SLUG
from tests.parts import postgres_database
from tests.processes import WORKER, background
from tests.processes import gunicorn as server


def signing() -> list[Row]:
    """The real sign form post vs a bare one-row insert; then again with mail being sent."""
    mailbox = MailSink().start()
    try:
        with postgres_database(DATABASE_URL, database_name("signing")) as url:
            env = app_env(url, MAIL_URL=mailbox.url)
            flask("db", "upgrade", env=env)
            flask("seed", env=env)
            with (
                server("app:app", env) as ours,
                server("bench.baseline_app:app", env) as bare,
            ):
                sign = Target(
                    ours, "sign.lua", (f"/petitions/{SEED_SLUG}/sign", page_token(ours), ours)
                )
                insert = Target(bare, "sign.lua", ("/insert", "unused", bare))
                quiet = compare(sign, insert)
                unsent = scalar(url, WAITING_MAIL)
                # The worker as deployed: a process of its own, sending to a real SMTP server.
                with background(WORKER, env):
                    while scalar(url, WAITING_MAIL):  # it starts with what is queued
                        time.sleep(0.5)
                    busy = compare(sign, insert)
                    waiting = scalar(url, WAITING_MAIL)
    finally:
        mailbox.stop()
    baseline = "bare Flask: insert one row"
    return [
        Row("sign (form post → 303), no worker running", baseline, quiet, unsent),
        Row("sign, while the worker sends the mail", baseline, busy, waiting),
    ]


def timing() -> list[Row]:
    """Signing with a new address vs one that has already signed: equal work, equal time."""
    with postgres_database(DATABASE_URL, database_name("timing")) as url:
        env = app_env(url)
        flask("db", "upgrade", env=env)
        flask("seed", env=env)
        with server("app:app", env) as ours:
            args = (f"/petitions/{SEED_SLUG}/sign", page_token(ours), ours)
            wrk(f"{ours}", "sign_again.lua", args, seconds=1)  # it has signed before now
            new, again = Target(ours, "sign.lua", args), Target(ours, "sign_again.lua", args)
            # One reader at a time, as someone timing answers would: no queueing to hide in.
            alone = compare(new, again, connections=1)
            busy = compare(new, again)
    baseline = "the same, with an address that already signed"
    return [
        Row("sign, new address, one connection", baseline, alone),
        Row("sign, new address", baseline, busy),
    ]


def confirming() -> list[Row]:
    """Pressing "Confirm my signature" vs a bare one-row update by primary key."""
    rows = int(os.environ.get("BENCH_CONFIRM_ROWS", 400_000))
    with postgres_database(DATABASE_URL, database_name("confirm")) as url:
        env = app_env(url)
        flask("db", "upgrade", env=env)
        flask("seed", env=env)
        psql(url, "confirm_data.sql", petition_id=1, rows=rows)
        with server("app:app", env) as ours, server("bench.baseline_app:app", env) as bare:
            series = f"generate_series(1, {rows})"
            fill = f"INSERT INTO bench_rows (name, email) SELECT 'r', 'e' FROM {series}"
            psql_command(url, fill)
            confirm = Target(ours, "confirm.lua", (ours, "2", str(rows)))
            update = Target(bare, "update.lua", ("2",))
            result = compare(confirm, update)
    return [Row("confirm (POST the link → 200)", "bare Flask: update one row", result)]


def reads() -> list[Row]:
    """What a viral story's readers hit most: the count API, the petition page, the widget."""
    with postgres_database(DATABASE_URL, database_name("reads")) as url:
        env = app_env(url)
        flask("db", "upgrade", env=env)
        flask("seed", env=env)
        with server("app:app", env) as ours, server("bench.baseline_app:app", env) as bare:
            count = compare(Target(f"{ours}/api/v1/petitions/{SEED_SLUG}"), Target(f"{bare}/json"))
            page = compare(Target(f"{ours}/petitions/{SEED_SLUG}"), Target(f"{bare}/html"))
            widget = compare(Target(f"{ours}/embed/petitions/{SEED_SLUG}"), Target(f"{bare}/html"))
            # What our request cycle costs with nothing to do: every hook, header and log line.
            cycle = compare(Target(f"{ours}/healthz"), Target(f"{bare}/healthz"))
    return [
        Row("count API (JSON)", "bare Flask: jsonify a dict", count),
        Row("petition page (HTML)", "bare Flask: render a template", page),
        Row("widget page (HTML)", "bare Flask: render a template", widget),
        Row("health check (every hook, no database)", "bare Flask: return a string", cycle),
    ]


def languages() -> list[Row]:
    """The same pages in Ukrainian and in English, on one server: as deployed (the micro-cache
    answers repeats for a second) and rendered for every request (a new query each time)."""
    with postgres_database(DATABASE_URL, database_name("languages")) as url:
        env = app_env(url)
        flask("db", "upgrade", env=env)
        flask("seed", env=env)
        rows = []
        with server("app:app", env) as ours:
            for name, path in (
                ("petition page", f"/petitions/{SEED_SLUG}"),
                ("widget page", f"/embed/petitions/{SEED_SLUG}"),
            ):
                for how, script in (("", None), (", rendered each time", "uncached.lua")):
                    result = compare(
                        Target(f"{ours}/uk{path}", script), Target(f"{ours}{path}", script)
                    )
                    rows.append(Row(f"{name} in Ukrainian{how}", f"the English {name}", result))
    return rows


# Scenarios with tables of their own.
SEPARATE = ("viral", "export", "mail", "admin", "integrity")

SCENARIOS: dict[str, Callable[[], list[Row]]] = {
    "signing": signing,
    "confirming": confirming,
    "reads": reads,
    "timing": timing,
    "languages": languages,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "scenarios",
        nargs="*",
        metavar="scenario",
        help=f"any of: {', '.join([*SCENARIOS, *SEPARATE])}",
    )
    chosen = parser.parse_args().scenarios or [*SCENARIOS, *SEPARATE]
    unknown = set(chosen) - {*SCENARIOS, *SEPARATE}
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    rows: list[Row] = []
    for name in chosen:
        if name in SCENARIOS:
            print(f"running {name} …", flush=True)
            rows += SCENARIOS[name]()
    hour = None
    if "viral" in chosen:
        print(f"running viral ({viral.SECONDS} s) …", flush=True)
        hour = viral.run()
    exported = []
    if "export" in chosen:
        print("running export …", flush=True)
        exported = exports.export()
    mailed = None
    if "mail" in chosen:
        print("running mail …", flush=True)
        mailed = mail.run()
    administered = None
    if "admin" in chosen:
        print(f"running admin ({admin.ROWS:,} signatures) …", flush=True)
        administered = admin.run()
    checked = None
    if "integrity" in chosen:
        print(f"running integrity ({integrity.ROWS:,} signatures) …", flush=True)
        checked = integrity.run()
    print()
    if rows:
        print(table(rows))
        print()
    if hour:
        print(viral.viral_table(hour))
        print()
    if exported:
        print(exports.export_table(exported))
        print()
    if mailed:
        print(mail.mail_table(mailed))
        print()
    if administered:
        print(admin.admin_table(*administered))
        print()
    if checked:
        print(integrity.integrity_table(checked))


if __name__ == "__main__":
    main()
