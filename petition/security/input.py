"""Input no reader could have typed is refused at the door with 400, before any form sees it;
what a refusal left unread is read to its end, so the refusal reaches the reader."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Flask, abort, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wsgi import LimitedStream

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


# Above the largest body nginx lets through (a picture, 13 MB); a bigger one is not read.
READ_UNREAD_AT_MOST = 16 * 1024 * 1024


def read_what_was_not_read(error: BaseException | None = None) -> None:
    """The rest of a body the answer did not need (a stranger's upload sent to sign in, a form
    refused with 413) is read and dropped, so the connection carries the answer. Left unread,
    gunicorn drops a connection with more than 64 KB waiting, and the reset can reach nginx
    before the answer does: the reader gets a 502 instead."""
    length = request.content_length
    if not length or length > READ_UNREAD_AT_MOST:
        return
    try:
        stream = request.stream
    except RequestEntityTooLarge:  # refused on its declared length, before a byte was read
        stream = LimitedStream(request.environ["wsgi.input"], length)
    try:
        while stream.read(64 * 1024):
            pass
    except (OSError, HTTPException):  # the client went away, or sent more than it said
        pass


MAX_JSON_DEPTH = 32


class GuardedJSONProvider(DefaultJSONProvider):
    """JSON from clients, refused (400) before it can hurt: nesting too deep for the parser's
    recursion, or lone surrogates ("\\ud800") that no database can store."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        text = s.decode("utf-8") if isinstance(s, bytes) else s
        if _depth(text) > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested more than {MAX_JSON_DEPTH} deep")
        value = super().loads(text, **kwargs)
        if _has_lone_surrogate(value):
            raise ValueError("JSON text with characters that cannot be stored")
        return value


def _depth(text: str) -> int:
    """The deepest nesting of arrays and objects, outside strings; a linear scan."""
    deepest = depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def init_input_checks(app: Flask) -> None:
    app.json = GuardedJSONProvider(app)
    app.before_request(reject_unreadable_input)
    app.teardown_request(read_what_was_not_read)
