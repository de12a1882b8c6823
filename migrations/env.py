"""Alembic environment: the app's engine and metadata, batch mode for SQLite."""

from __future__ import annotations

import logging
import re
from typing import Any

from alembic import context
from flask import current_app

from petition.database import for_this_database
from petition.models.base import UTCDateTime

logger = logging.getLogger("alembic.env")
config = context.config


def render_item(kind: str, obj: Any, autogen_context: Any) -> str | bool:
    # UTCDateTime is a Python-side adapter over a plain timezone-aware timestamp column.
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def skip_empty_revisions(context: Any, revision: Any, directives: list[Any]) -> None:
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_online() -> None:
    migrate = current_app.extensions["migrate"]
    options = dict(migrate.configure_args)
    options.setdefault("process_revision_directives", skip_empty_revisions)
    options.setdefault("render_item", render_item)
    options.setdefault("include_object", for_this_database)
    with migrate.db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # On a live database a migration waits only so long for a lock, then gives up
            # (and can be run again), rather than queueing every reader behind it.
            config = current_app.config
            connection.exec_driver_sql(
                f"SET lock_timeout = '{_duration(config['MIGRATION_LOCK_TIMEOUT'])}'"
            )
            connection.exec_driver_sql(
                f"SET statement_timeout = '{_duration(config['MIGRATION_STATEMENT_TIMEOUT'])}'"
            )
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=migrate.db.metadata,
            **options,
        )
        with context.begin_transaction():
            context.run_migrations()


def _duration(value: str) -> str:
    """A PostgreSQL duration as operators write one ("5s", "30min"), checked."""
    if not re.fullmatch(r"\d+\s*(ms|s|min|h)?", value.strip()):
        raise SystemExit(f"Not a duration: {value!r} (e.g. 5s, 30min)")
    return value.strip()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run `flask db upgrade`.")
run_migrations_online()
