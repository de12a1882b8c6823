"""Input no reader could have typed is refused at the door with 400, before any form sees it."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Flask, abort, request
from flask.json.provider import DefaultJSONProvider

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
