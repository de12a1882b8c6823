"""Error responses, registered once for the whole app: JSON under /api/, HTML elsewhere."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify, redirect, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from petition.extensions import db
from petition.ops import metrics

log = logging.getLogger("petition")

RETRY_AFTER_SECONDS = 5
TOO_MANY = _l("That has been sent many times in a short while. Please wait a minute and try again.")
# What readers are told when nothing more particular was said.
OUR_WORDS = {
    400: _l("We could not make sense of that request. Please go back and try again."),
    403: _l("That is not something this page can do."),
    404: _l("We could not find that page. It may have moved, or the address may be mistyped."),
    405: _l("That is not something this page can do."),
    413: _l("That was more than we can take in one go."),
    500: _l(
        "Something went wrong on our side, and we have been told. Please try again in a few "
        "minutes."
    ),
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/oembed"


def error_response(status: int, code: str, message: Any) -> Any:
    message = str(message)  # our words are translated when the answer is made
    if wants_json():
        response = jsonify({"error": {"code": code, "message": message}})
    else:
        template = "errors/429.html" if status == 429 else "errors/error.html"
        response = render_template(template, status=status, message=message)
    return response, status, {"Cache-Control": "no-store"}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if exc.code == 404 and (address := _without_trailing_slash()):
            return redirect(address, 308)
        code = (exc.name or "error").lower().replace(" ", "_").replace("'", "")
        message = exc.description or exc.name
        if message == type(exc).description:  # Werkzeug's own words: say it in ours
            message = OUR_WORDS.get(exc.code or 500, message)
        if exc.code == 429:
            message = TOO_MANY
        response, status, headers = error_response(exc.code or 500, code, message)
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        if exc.code == 429:
            headers["Retry-After"] = "60"
        return response, status, headers

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(exc: Exception) -> Any:
        # The database is down or every connection is busy: answer at once and ask the client
        # to come back, rather than queueing until it gives up.
        if (
            isinstance(exc, DBAPIError)
            and not exc.connection_invalidated
            and not _is_connection_error(exc)
        ):
            return internal_error(exc)
        _rollback()
        cause = "pool_timeout" if isinstance(exc, PoolTimeout) else "database"
        metrics.UNAVAILABLE.labels(cause).inc()
        log.warning("database unavailable: %s", exc.__class__.__name__)
        response, status, headers = error_response(
            503,
            "unavailable",
            str(
                _l("We are very busy and could not handle that just now. Please try again shortly.")
            ),
        )
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response, status, headers

    @app.errorhandler(Exception)
    def internal_error(exc: Exception) -> Any:
        _rollback()
        if isinstance(exc, HTTPException):
            return http_error(exc)
        log.exception("unhandled error on %s %s", request.method, request.path, exc_info=exc)
        return error_response(500, "internal_error", OUR_WORDS[500])


def _without_trailing_slash() -> str | None:
    """The address a link meant when someone's CMS added a slash: /petitions/x/ → /petitions/x."""
    path = request.path
    if request.method not in ("GET", "HEAD") or len(path) < 2 or not path.endswith("/"):
        return None
    meant = path.rstrip("/")
    try:
        current_app.url_map.bind_to_environ(request.environ).match(meant, method="GET")
    except HTTPException:  # no such page either, or itself a redirect
        return None
    query = request.query_string.decode("latin-1")
    address = request.script_root + meant
    return f"{address}?{query}" if query else address


def _is_connection_error(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return any(
        phrase in text
        for phrase in ("connection", "server closed", "terminating", "timeout", "could not connect")
    )


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the database may be the thing that is down
        log.debug("rollback failed", exc_info=True)
