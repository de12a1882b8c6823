"""Alembic environment: the app's engine and metadata, batch mode for SQLite."""

from __future__ import annotations

import logging
from typing import Any

from alembic import context
from flask import current_app

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
    with migrate.db.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=migrate.db.metadata,
            **options,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run `flask db upgrade`.")
run_migrations_online()
