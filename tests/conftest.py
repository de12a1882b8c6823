"""Fixtures: a fresh database per test (SQLite, or PostgreSQL when TEST_DATABASE_URL is set),
a real SMTP server on loopback, and the app's test client and CLI runner."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from petition import create_app
from petition.extensions import db
from petition.services.seed import seed
from tests.parts import Mailbox, postgres_database, require_part, start_mailbox

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith(("postgres://", "postgresql"))


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {'PostgreSQL ' + TEST_DATABASE_URL if ON_POSTGRES else 'SQLite'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests about PostgreSQL's behaviour, and the fault tests (which run a PostgreSQL of their
    # own), run in the PostgreSQL pass of the suite (.ci/run runs both passes); in the SQLite
    # pass they are deselected, not skipped.
    if ON_POSTGRES:
        return

    def postgres_only(item: pytest.Item) -> bool:
        return (
            item.get_closest_marker("postgres") is not None
            or item.get_closest_marker("faults") is not None
        )

    kept = [item for item in items if not postgres_only(item)]
    deselected = [item for item in items if postgres_only(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(scope="session")
def mailbox_server() -> Iterator[Mailbox]:
    mailbox = start_mailbox()
    yield mailbox
    mailbox.stop()


@pytest.fixture
def mailbox(mailbox_server: Mailbox) -> Mailbox:
    mailbox_server.clear()
    return mailbox_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of our own on the PostgreSQL server, one per test process."""
    if not ON_POSTGRES:
        yield ""
        return
    require_part("PostgreSQL", TEST_DATABASE_URL)
    # Unique per run: two runs on one server (a developer's and CI's) never drop each other's.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"petition_test_{worker}_{uuid.uuid4().hex[:12]}"
    with postgres_database(TEST_DATABASE_URL, name) as url:
        yield url


def make_config(
    tmp_path: Path, database_url: str, mail_url: str, **overrides: Any
) -> dict[str, Any]:
    config = {
        "TESTING": True,
        "APP_ENV": "testing",
        "SECRET_KEY": "test-secret-key-not-for-production",
        "EMAIL_HASH_KEY": "test-email-hash-key",
        "ORGANISATION_NAME": "Example News Ltd",
        "ORGANISATION_ADDRESS": "1 Example Street, London E1 1AA",
        "PRIVACY_CONTACT": "privacy@example.org",
        "DONATIONS_RECIPIENT": "Refugees Welcome Fund, registered charity 1234567",
        "DATABASE_URL": database_url,
        "PUBLIC_URL": "http://petition.test",
        "MAIL_URL": mail_url,
        "MAIL_FROM": "Refugees Welcome <petition@petition.test>",
        "MAIL_RETRY_BASE_SECONDS": 0.01,
        "MAIL_RETRY_MAX_SECONDS": 0.05,
        "EMBEDDED_WORKER": False,
        "AUTO_SETUP": False,
        "RATELIMIT_ENABLED": False,
        "REDIS_URL": "",
        "GOFUNDME_URL": "https://www.gofundme.com/f/refugees-welcome-test",
    }
    config.update(overrides)
    return config


def build_app(config: dict[str, Any]) -> Flask:
    """An app on a fresh, empty schema, with the seed data in it."""
    app = create_app(config)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            reset_postgres()
        else:
            db.create_all()
        seed()
        db.session.remove()
    from tests.factories import forget_cached

    forget_cached()
    return app


# Tables written since they were last emptied: any row ever put in one (even one rolled back
# or deleted since) leaves it at least a page long, and TRUNCATE makes it empty files again.
WRITTEN_TABLES = """
    SELECT c.relname FROM pg_class c
    WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
      AND pg_relation_size(c.oid) > 0
"""
# A sequence taken from by an INSERT that failed before writing its row.
USED_SEQUENCES = """
    SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false)
    FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL
"""


def reset_postgres() -> None:
    """Empty every table and restart every sequence. TRUNCATE, though DELETE costs a tenth:
    after a DELETE and a vacuum, new rows go where deleted ones were, so rows read without
    ORDER BY come back in another order from run to run (a test comparing such a list failed
    by chance). Each test starts from the same empty files. Only the tables written since
    they were emptied are truncated (with those referring to them, as TRUNCATE must): it
    costs about 6 ms a table, and most tests write to a few of the thirty-six."""
    db.create_all()
    ours = {table.name for table in db.metadata.sorted_tables}
    written = [
        name for name in db.session.execute(db.text(WRITTEN_TABLES)).scalars() if name in ours
    ]
    if written:
        tables = ", ".join(f'"{name}"' for name in written)
        db.session.execute(db.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.execute(db.text(USED_SEQUENCES))
    db.session.commit()


@pytest.fixture
def app_config(tmp_path: Path, postgres_url: str, mailbox: Mailbox) -> dict[str, Any]:
    url = postgres_url or f"sqlite:///{tmp_path / 'test.db'}"
    return make_config(tmp_path, url, mailbox.url)


def dispose(app: Flask) -> None:
    # A worker's threads first finish what they are doing and hand their connections back: one
    # still held when the pool goes would be closed by the garbage collector, in a later test.
    embedded = app.extensions.get("petition_worker")
    if embedded is not None:
        embedded.shutdown()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = build_app(app_config)
    yield app
    dispose(app)


@pytest.fixture
def make_app(app_config: dict[str, Any]) -> Iterator[Callable[..., Flask]]:
    """Build another app on the test's database, with some settings changed. The database is
    emptied and seeded again on PostgreSQL: build it before writing what the test reads."""
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        apps.append(build_app({**app_config, **overrides}))
        return apps[-1]

    yield factory
    for app in apps:
        dispose(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin(app: Flask, client: FlaskClient) -> FlaskClient:
    """The test client, signed in as an admin (admin@example.org)."""
    from tests.factories import signed_in_admin

    return signed_in_admin(app, client)


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def fake_stripe() -> Iterator[Any]:
    from tests.fake_stripe import FakeStripe

    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_app(make_app: Callable[..., Flask], fake_stripe: Any) -> Flask:
    from tests.fake_stripe import SECRET_KEY, WEBHOOK_SECRET

    return make_app(
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=fake_stripe.url,
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (no browser download is possible here)."""
    from pathlib import Path as _Path

    from tests.parts import CHROMIUM, CHROMIUM_ARGS

    if not _Path(CHROMIUM).exists():
        require_part("Chromium", CHROMIUM, "not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def axe() -> str:
    """axe-core's source, to run in a page (tests/a11y.py)."""
    from tests.parts import axe_source

    return axe_source()


@pytest.fixture
def site(stripe_app: Flask, fake_stripe: Any, mailbox: Mailbox) -> Iterator[tuple[Flask, Any]]:
    """The app with Stripe (the fake) behind a real HTTP server, as browser tests reach it."""
    from tests.parts import LiveServer

    with LiveServer(stripe_app) as server:
        stripe_app.config["PUBLIC_URL"] = server.url
        yield stripe_app, server


@pytest.fixture
def artifacts() -> Path:
    """Where browser tests leave screenshots for people to look at."""
    folder = Path(__file__).resolve().parent.parent / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder
