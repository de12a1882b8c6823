"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from petition import create_app
from petition.database import for_this_database
from petition.extensions import db
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL, make_config
from tests.parts import libpq_url, postgres_database


@pytest.fixture
def empty_database_url(tmp_path) -> Iterator[str]:
    if ON_POSTGRES:
        with postgres_database(
            TEST_DATABASE_URL, f"petition_migrate_{uuid.uuid4().hex[:12]}"
        ) as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'empty.db'}"


# SQLite cannot reflect expression indexes; the one we have is PostgreSQL's only anyway.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_upgrade_on_an_empty_database_matches_the_models(tmp_path, empty_database_url):
    app = create_app(make_config(tmp_path, empty_database_url, "console"))
    runner = app.test_cli_runner()
    try:
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            with db.engine.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"include_object": for_this_database}
                )
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
        with app.app_context(), db.engine.begin() as connection:
            # As that release's seed left it (today's models know columns it did not have).
            connection.execute(
                text(
                    "INSERT INTO campaigns (slug, name, tagline, intro, history, created_at,"
                    " updated_at) VALUES ('c', 'C', '', '', '', :at, :at)"
                ),
                {"at": "2026-11-01 10:00:00"},
            )
            connection.execute(
                text(
                    "INSERT INTO petitions (campaign_id, slug, title, ask, background, goal, state,"
                    " confirmed_count, pending_count, withdrawn_count, invalidated_count,"
                    " created_at, updated_at) SELECT id, 'p', 'P', 'Ask', '', 100, 'open',"
                    " 0, 0, 0, 0, :at, :at FROM campaigns"
                ),
                {"at": "2026-11-01 10:00:00"},
            )
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


# The release before "admin at scale" (0014): what production runs while 0014 is applied.
BEFORE_ADMIN_AT_SCALE = "94bc9101aedf"
OLD_RELEASE_INSERT = (
    "INSERT INTO signatures (petition_id, state, name, email, canonical_email, email_hash,"
    " country, consent_updates, source, duplicate_notices, created_at, updated_at)"
    " VALUES (%s, 'pending', 'Live Signer', %s, %s, md5(%s), 'GB', false, 'petition', 0,"
    " now(), now())"
)


@pytest.mark.postgres
def test_upgrading_a_live_database_never_holds_up_signing():
    """`flask db upgrade` from 0013 (through 0014, which indexes for scale, to the newest)
    while the previous release keeps signing: the backfills and the index builds
    (CONCURRENTLY) hold no lock signing waits a second for."""
    import psycopg

    from tests.processes import flask_command, production_env

    with postgres_database(TEST_DATABASE_URL, f"petition_live_{uuid.uuid4().hex[:12]}") as url:
        env = production_env(url)
        done = flask_command(env, "db", "upgrade", BEFORE_ADMIN_AT_SCALE)
        assert done.returncode == 0, done.stderr
        plain = libpq_url(url)
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO campaigns (slug, name, tagline, intro, history, created_at,"
                " updated_at) VALUES ('c', 'C', '', '', '', now(), now())"
            )
            petition_id = conn.execute(
                "INSERT INTO petitions (campaign_id, slug, title, ask, background, goal, state,"
                " confirmed_count, pending_count, withdrawn_count, invalidated_count, created_at,"
                " updated_at) SELECT id, 'p', 'P', 'Ask', '', 100, 'open', 0, 0, 0, 0, now(),"
                " now() FROM campaigns RETURNING id"
            ).fetchone()[0]
            # Enough signatures that building an index the blocking way would stop signing
            # for seconds (the trigram index alone).
            conn.execute(
                "INSERT INTO signatures (petition_id, state, name, email, canonical_email,"
                " email_hash, country, consent_updates, source, duplicate_notices, created_at,"
                " updated_at, ip_address, postcode) SELECT %s, 'confirmed', 'Reader number ' || n,"
                " 'r' || n || '@example.org', 'r' || n || '@example.org', md5(n::text), 'GB',"
                " false, 'petition', 0, now(), now(), '192.0.2.' || n %% 250, 'SW1A ' || n %% 10"
                " FROM generate_series(1, 300000) AS n",
                (petition_id,),
            )
            # As a production database is: vacuumed, and those rows written out.
            conn.execute("VACUUM (ANALYZE) signatures")
            conn.execute("CHECKPOINT")

        # What is measured is waiting on a lock: the signer gives up on any it waits a second
        # for. Time alone would also count the machine being busy (CI's other test process,
        # a checkpoint writing out the rows above), which is not what a migration holds.
        waits: list[float] = []
        failures: list[BaseException] = []
        stop = threading.Event()

        def old_release_signing() -> None:
            with psycopg.connect(plain, autocommit=True) as conn:
                conn.execute("SET lock_timeout = '1s'")
                n = 0
                while not stop.is_set():
                    n += 1
                    email = f"live{n}@example.net"
                    started = time.perf_counter()
                    try:
                        conn.execute(OLD_RELEASE_INSERT, (petition_id, email, email, email))
                    except psycopg.Error as exc:
                        failures.append(exc)
                    waits.append(time.perf_counter() - started)
                    time.sleep(0.005)

        signer = threading.Thread(target=old_release_signing)
        signer.start()
        try:
            # The positive control: what a blocking index build does to signing (a SHARE lock
            # for as long as the build takes) is caught.
            time.sleep(0.3)
            with psycopg.connect(plain) as blocking:
                blocking.execute("LOCK TABLE signatures IN SHARE MODE")
                time.sleep(1.5)
            time.sleep(0.3)
            caught = list(failures)
            failures.clear()

            before = len(waits)
            started = time.perf_counter()
            done = flask_command(env, "db", "upgrade")
            took = time.perf_counter() - started
            during = len(waits) - before
            time.sleep(0.3)
        finally:
            stop.set()
            signer.join()
        assert caught and all(isinstance(e, psycopg.errors.LockNotAvailable) for e in caught)
        assert done.returncode == 0, done.stderr
        assert failures == []  # no signature waited a second for a lock the upgrade held
        assert took > 2  # long enough to matter: the old release signed throughout
        assert during > took * 20
        # However busy the machine, nothing stalled signing outright.
        assert max(waits[before:]) < 5, f"a signature took {max(waits[before:]):.2f} s"

        with psycopg.connect(plain, autocommit=True) as conn:
            unfilled = conn.execute(
                "SELECT count(*) FROM signatures WHERE email_domain IS NULL AND id <= 300000"
            ).fetchone()[0]
            invalid = conn.execute(
                "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " WHERE c.relname LIKE 'ix_signatures_%' AND NOT i.indisvalid"
            ).fetchone()[0]
            built = {
                row[0]
                for row in conn.execute(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'signatures'"
                )
            }
        assert unfilled == 0 and invalid == 0
        assert {"ix_signatures_name_trgm", "ix_signatures_ip_inet"} <= built
