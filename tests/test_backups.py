"""Backups: a database restored from one made before an erasure is erased again from the log,
and the mail sent since the backup is not sent twice.

The backup and the restore are real: SQLite's online backup of the database file, or
PostgreSQL's pg_dump and pg_restore.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from petition.extensions import db
from petition.models import AuditLog
from petition.ops.logs import JsonFormatter, TextFormatter
from petition.services import privacy
from tests.factories import (
    confirmed_signatures,
    count_of,
    sign,
    signature_for,
    signer,
    wants_updates,
)
from tests.parts import libpq_url, require_part


def back_up(app: Flask, to: Path) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name == "sqlite":
            with sqlite3.connect(db.engine.url.database) as live, sqlite3.connect(to) as copy:
                live.backup(copy)
            return
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        require_part("pg_dump", "postgresql-client", "pg_dump is not installed")
    subprocess.run([pg_dump, "-Fc", "-f", str(to), libpq_url(url)], check=True)


def restore(app: Flask, backup: Path) -> None:
    """Put the backup back in place of the live database, as an operator would."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        if db.engine.dialect.name == "sqlite":
            with sqlite3.connect(backup) as copy, sqlite3.connect(db.engine.url.database) as live:
                copy.backup(live)
            return
    subprocess.run(
        [shutil.which("pg_restore") or "pg_restore", "--clean", "--if-exists", "--no-owner"]
        + ["-d", libpq_url(url), str(backup)],
        check=True,
    )


def test_a_restored_backup_is_erased_again_from_the_log(
    app: Flask, client: Any, runner: Any, caplog: Any, tmp_path: Path
) -> None:
    """Ada erases her data from her own page after last night's backup; this morning the
    database is restored from that backup, bringing her name and address back. The log,
    which keeps no address, lets `erase-again` take them out again, and leaves Grace, who
    erased nothing, as she was."""
    people = [
        signer(email="ada@example.org", name="Ada Lovelace", consent_updates="y"),
        signer(email="grace@example.org", name="Grace Hopper", consent_updates="y"),
    ]
    confirmed_signatures(app, client, people)
    back_up(app, tmp_path / "nightly.backup")

    caplog.set_level(logging.INFO, logger="petition.privacy")
    with app.test_request_context():
        token = privacy.link_token(privacy.Person.by_address("ada@example.org"))
    erased = client.post(f"/privacy/me/{token}/erase", data={"confirm": "yes"})
    assert "Your data is erased" in erased.get_data(as_text=True)
    [record] = [r for r in caplog.records if r.name == "petition.privacy"]
    json_line, text_line = JsonFormatter().format(record), TextFormatter().format(record)
    assert "ada" not in json_line.lower() and "lovelace" not in json_line.lower()
    # Either format names the same person (the JSON lines of production, the text of a laptop).
    assert privacy.erased_in_log([json_line]) == privacy.erased_in_log([text_line]) != []

    restore(app, tmp_path / "nightly.backup")
    with app.app_context():
        assert signature_for("ada@example.org").name == "Ada Lovelace"  # the restore worked
        assert wants_updates("ada@example.org")

    # Whoever could learn Grace's keyed hash could try to have her erased by a request the
    # access log records: only the erasure's own lines count.
    with app.app_context():
        grace_hash = privacy.Person.by_address("grace@example.org").hashes[0]
    forged = f"/?x=1 INFO petition.privacy: erased a person's details erased={grace_hash} "
    log = "\n".join(
        [
            json.dumps({"logger": "petition.access", "message": "request", "path": forged}),
            json.dumps(
                {"logger": "petition.access", "message": privacy.ERASED, "erased": grace_hash}
            ),
            f"2026-12-01 10:12:03,000 INFO petition.access: request path={forged}",
            "not a log line at all",
            f"Dec 01 10:12:03 web-1 petition[812]: {json_line}",  # as journald keeps it
            text_line,  # the same erasure, in the text format: one person, once
        ]
    )
    result = runner.invoke(args=["erase-again"], input=log)
    assert result.exit_code == 0, result.output
    assert "1 erasure(s) in the log; 1 signature(s)" in result.output
    with app.app_context():
        assert signature_for("ada@example.org") is None  # no address to find her by
        assert not wants_updates("ada@example.org")
        grace = signature_for("grace@example.org")
        assert grace.name == "Grace Hopper" and wants_updates("grace@example.org")
        assert count_of() == 2  # erasure never changes a count
        audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "erase")).all()
        assert [entry.actor for entry in audit] == [privacy.RESTORED.label]

    again = runner.invoke(args=["erase-again"], input=log)
    assert "1 erasure(s) in the log; 0 signature(s)" in again.output  # nothing left to erase


def test_mail_sent_since_the_backup_is_not_sent_again_after_a_restore(
    app: Flask, client: Any, runner: Any, caplog: Any, mailbox: Any, tmp_path: Path
) -> None:
    """Ada signs just before last night's backup; her confirmation goes out after it. Grace
    signs and hers goes too. This morning the database is restored: Ada's email is back in the
    outbox as if never sent, and Grace, signing again, gets a message that takes the number her
    first one had. The log says which went: `mark-sent` marks Ada's sent, and leaves Grace's
    new one to go."""
    from petition.mail import deliver_due, sent_log
    from petition.models import OutboxMessage

    def outbox() -> list[tuple[int, str, bool]]:
        with app.app_context():
            rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
            return [(row.id, row.to_address, row.sent_at is not None) for row in rows]

    assert sign(client, email="ada@example.org").status_code == 303
    back_up(app, tmp_path / "nightly.backup")
    caplog.set_level(logging.INFO, logger="petition.mail")
    with app.app_context():
        assert deliver_due().sent == 1
    assert sign(client, email="grace@example.org").status_code == 303
    with app.app_context():
        assert deliver_due().sent == 1
    assert len(mailbox.wait_for(2)) == 2
    records = [r for r in caplog.records if r.name == "petition.mail" and r.msg == sent_log.SENT]
    json_lines = [JsonFormatter().format(r) for r in records]
    text_lines = [TextFormatter().format(r) for r in records]
    assert not any("example.org" in line for line in json_lines + text_lines)  # no addresses
    # Either format names the same messages (the JSON lines of production, a laptop's text).
    assert sent_log.sent_in_log(json_lines) == sent_log.sent_in_log(text_lines)
    assert len(sent_log.sent_in_log(json_lines)) == 2

    restore(app, tmp_path / "nightly.backup")
    [(ada_id, _, ada_sent)] = outbox()
    assert not ada_sent  # the restore brought it back, waiting
    assert sign(client, email="grace@example.org").status_code == 303
    grace_again = outbox()[-1]
    assert grace_again[0] in {message_id for message_id, _ in sent_log.sent_in_log(json_lines)}

    # Lines that merely mention a message are not sends: another logger, another message.
    log = "\n".join(
        [
            json.dumps({"logger": "petition.access", "message": sent_log.SENT, "message_id": 1}),
            f"2026-12-01 10:12:03,000 INFO petition.access: request path=/?message_id={ada_id}",
            "not a log line at all",
            *[f"Dec 01 10:12:03 worker-1 petition[812]: {line}" for line in json_lines],
            *text_lines,  # the same sends again, in the text format: each counted once
        ]
    )
    result = runner.invoke(args=["mark-sent"], input=log)
    assert result.exit_code == 0, result.output
    assert "2 sent message(s) in the log; 1 brought back unsent" in result.output
    assert outbox() == [(ada_id, "ada@example.org", True), (*grace_again[:2], False)]

    mailbox.clear()
    with app.app_context():
        assert deliver_due().sent == 1  # Grace's new one, and not Ada's again
    assert [str(m["To"]) for m in mailbox.wait_for(1)] == ["grace@example.org"]
    again = runner.invoke(args=["mark-sent"], input=log)
    assert "2 sent message(s) in the log; 0 brought back" in again.output
