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
