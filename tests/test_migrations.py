"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from petition import create_app
from petition.extensions import db
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL, make_config
from tests.parts import postgres_database


@pytest.fixture
def empty_database_url(tmp_path) -> Iterator[str]:
    if ON_POSTGRES:
        name = f"petition_migrate_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
        with postgres_database(TEST_DATABASE_URL, name) as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'empty.db'}"


def test_upgrade_on_an_empty_database_matches_the_models(tmp_path, empty_database_url):
    app = create_app(make_config(tmp_path, empty_database_url, "console"))
    runner = app.test_cli_runner()
    try:
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            with db.engine.connect() as connection:
                context = MigrationContext.configure(connection)
                differences = compare_metadata(context, db.metadata)
                tables = set(inspect(connection).get_table_names())
        assert differences == []
        assert set(db.metadata.tables) <= tables
        check = runner.invoke(args=["db", "check"])
        assert check.exit_code == 0, check.output
        # Seeding a freshly migrated database works, twice, without duplicates.
        first = runner.invoke(args=["seed"])
        second = runner.invoke(args=["seed"])
        assert "created campaign" in first.output
        assert "nothing to do" in second.output
    finally:
        with app.app_context():
            db.engine.dispose()


def test_upgrading_hashes_existing_signers_and_keeps_their_answers(tmp_path, empty_database_url):
    """Data written before consent moved to the person comes through the upgrade intact."""
    from sqlalchemy import text

    from petition.security.email_hash import email_hash

    app = create_app(make_config(tmp_path, empty_database_url, "console"))
    runner = app.test_cli_runner()
    try:
        assert runner.invoke(args=["db", "upgrade", "ea10182fdc15"]).exit_code == 0
        assert runner.invoke(args=["seed"]).exit_code == 0
        with app.app_context(), db.engine.begin() as connection:
            petition_id = connection.execute(text("SELECT id FROM petitions")).scalar_one()
            for n, (state, consent, stopped) in enumerate(
                [("confirmed", True, False), ("confirmed", True, True), ("pending", True, False)]
            ):
                connection.execute(
                    text(
                        "INSERT INTO signatures (petition_id, state, name, email, canonical_email,"
                        " country, consent_updates, consented_at, consent_withdrawn_at, source,"
                        " duplicate_notices, created_at, updated_at) VALUES (:p, :state, 'R',"
                        " :email, :email, 'GB', :consent, :at, :stopped, 'petition', 0, :at, :at)"
                    ),
                    {
                        "p": petition_id,
                        "state": state,
                        "email": f"r{n}@example.org",
                        "consent": consent,
                        "at": "2026-11-01 10:00:00",
                        "stopped": "2026-11-02 10:00:00" if stopped else None,
                    },
                )
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            rows = db.session.execute(
                text("SELECT canonical_email, email_hash FROM signatures ORDER BY id")
            ).all()
            assert [h for _, h in rows] == [email_hash(c) for c, _ in rows]
            wants = dict(
                db.session.execute(
                    text("SELECT email_hash, wants_updates FROM update_consents")
                ).all()
            )
            assert wants == {
                email_hash("r0@example.org"): True,
                email_hash("r1@example.org"): False,
            }
            events = db.session.scalar(text("SELECT count(*) FROM consent_events"))
            assert events == 3  # given, given and taken back; nothing for the pending one
    finally:
        with app.app_context():
            db.engine.dispose()
