"""The Refugees Welcome campaign service: `create_app` is the only way to make the app."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, request
from sqlalchemy import inspect, text
from werkzeug.middleware.proxy_fix import ProxyFix

from petition.config import load_config
from petition.database import engine_options, init_engine
from petition.extensions import cache, db, limiter, migrate

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=os.environ.get("INSTANCE_PATH") or None,
        template_folder="../templates",
    )
    load_config(app, test_config)
    register_operations(app)
    follow_the_dev_server(app)
    register_extensions(app)
    register_blueprints(app)
    register_errors_and_security(app)
    register_templates(app)
    register_i18n(app)
    register_cli(app)
    register_worker(app)
    register_metrics(app)
    register_microcache(app)
    set_up_database(app)
    return app


def register_operations(app: Flask) -> None:
    """Logs (JSON events with request ids) and error reports, before anything else runs."""
    from petition.ops.error_reports import init_error_reports
    from petition.ops.logs import init_logging

    init_logging(app)
    init_error_reports(app)


def follow_the_dev_server(app: Flask) -> None:
    """In development, with no PUBLIC_URL set, links follow the port `flask run` serves on."""
    if not app.config["PUBLIC_URL_FROM_REQUEST"]:
        return

    @app.before_request
    def public_url_from_request() -> None:
        if app.config["PUBLIC_URL_FROM_REQUEST"] and request.host.split(":")[0] in (
            "127.0.0.1",
            "localhost",
        ):
            app.config["PUBLIC_URL"] = request.host_url.rstrip("/")
            app.config["PUBLIC_URL_FROM_REQUEST"] = False


def register_metrics(app: Flask) -> None:
    from petition.ops.metrics import init_metrics

    init_metrics(app)


def register_extensions(app: Flask) -> None:
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    db.init_app(app)
    init_engine(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    limiter.init_app(app)
    cache.init_app(app)
    if app.config["TRUSTED_PROXY_COUNT"]:
        # Believe X-Forwarded-For/-Proto only from the number of proxies we run ourselves.
        n = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]


def register_blueprints(app: Flask) -> None:
    from petition.urls import DatabaseInt

    app.url_map.converters["int"] = DatabaseInt
    from petition.admin import bp as admin_bp
    from petition.admin.access import init_admin_access
    from petition.api import bp as api_bp
    from petition.donations import bp as donations_bp
    from petition.ops import bp as ops_bp
    from petition.osdi import bp as osdi_bp
    from petition.public import bp as public_bp
    from petition.widget import bp as widget_bp

    app.register_blueprint(ops_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(donations_bp)
    app.register_blueprint(widget_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(osdi_bp, url_prefix="/api/osdi/v1")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    init_admin_access(app)


def register_errors_and_security(app: Flask) -> None:
    from petition.errors import register_error_handlers
    from petition.security.headers import init_security

    register_error_handlers(app)
    init_security(app)


def register_templates(app: Flask) -> None:
    from petition.templating import init_templating

    init_templating(app)


def register_i18n(app: Flask) -> None:
    """Languages: gettext catalogues, and the language prefix in the address (inside the
    micro-cache, so each language's page is cached under its own address)."""
    from petition.i18n import init_i18n

    init_i18n(app)


def register_cli(app: Flask) -> None:
    from petition.cli import register_commands

    register_commands(app)


def register_worker(app: Flask) -> None:
    from petition.worker import init_embedded_worker

    init_embedded_worker(app)


def register_microcache(app: Flask) -> None:
    from petition.microcache import init_microcache

    init_microcache(app)


def set_up_database(app: Flask) -> None:
    """On a laptop (SQLite, development) bring the schema up to date and seed it, unasked.
    Alembic runs (and reports what it applies) only when a migration is waiting, so every
    `flask` command does not start with its log lines."""
    if not app.config["AUTO_SETUP"]:
        return
    from alembic.script import ScriptDirectory
    from flask_migrate import upgrade

    from petition.services.seed import seed

    with app.app_context():
        if applied_migrations() != set(ScriptDirectory(str(MIGRATIONS)).get_heads()):
            upgrade(directory=str(MIGRATIONS))
        seed()
        db.session.remove()


def applied_migrations() -> set[str]:
    """The revisions the database says it is at (none for a new one)."""
    with db.engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return set()
        return set(connection.scalars(text("SELECT version_num FROM alembic_version")))
