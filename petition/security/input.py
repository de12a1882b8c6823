"""Input no reader could have typed is refused at the door with 400, before any form sees it."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from flask import Flask, abort, request

UNREADABLE = "The request contained characters we cannot read."


def reject_unreadable_input() -> None:
    """NUL bytes anywhere (PostgreSQL cannot store them), and form bodies that are not UTF-8."""
    if "\x00" in request.path or "%00" in request.query_string.decode("latin-1"):
        abort(400, description=UNREADABLE)
    if request.method != "POST" or request.mimetype != "application/x-www-form-urlencoded":
        return
    raw = request.get_data(cache=True)  # bounded by MAX_CONTENT_LENGTH: 413 beyond it
    try:
        text = unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        abort(400, description=UNREADABLE)
    # Werkzeug would otherwise keep bad bytes as literal "%FF"; NUL would reach the database.
    if "\x00" in text:
        abort(400, description=UNREADABLE)


def init_input_checks(app: Flask) -> None:
    app.before_request(reject_unreadable_input)
