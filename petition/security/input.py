"""Input no reader could have typed is refused at the door with 400, before any form sees it."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from flask import Flask, abort, request


def reject_unreadable_forms() -> None:
    """Form bodies must be UTF-8 (Werkzeug would otherwise keep bad bytes as literal `%FF`)."""
    if request.method != "POST" or request.mimetype != "application/x-www-form-urlencoded":
        return
    raw = request.get_data(cache=True)  # bounded by MAX_CONTENT_LENGTH: 413 beyond it
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        abort(400, description="The form contained characters we cannot read.")


def init_input_checks(app: Flask) -> None:
    app.before_request(reject_unreadable_forms)
