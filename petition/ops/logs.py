"""Logs as events: one JSON object a line, each with the request it belongs to, and no
personal data (no addresses, names, tokens; IP addresses only when LOG_IPS is true)."""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from flask.wrappers import Response

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# Attributes every LogRecord has; anything else was passed as `extra=`.
STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
access = logging.getLogger("petition.access")


def scrub(text: str) -> str:
    """Email addresses out of any text bound for a log or an error report."""
    return EMAIL.sub("[email]", text)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """What was passed as `extra=` (and the request id), scrubbed."""
    return {
        key: scrub(value) if isinstance(value, str) else value
        for key, value in vars(record).items()
        if key not in STANDARD
    }


def entry_in(line: str, logger: str, message: str) -> dict[str, Any] | None:
    """The JSON line's fields if `logger` wrote it with `message` (whatever a log store put in
    front of it: a date, a host, journald's prefix); None for any other line."""
    start = line.find("{")
    if start < 0:
        return None
    try:
        entry = json.loads(line[start:])
    except ValueError:
        return None
    if not isinstance(entry, dict) or entry.get("logger") != logger:
        return None
    return entry if entry.get("message") == message else None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
            **_fields(record),
        }
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


JsonFormatter.converter = time.gmtime


class TextFormatter(logging.Formatter):
    """For a developer's terminal: one readable line, its fields as key=value, scrubbed as the
    JSON lines are."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = " ".join(f"{key}={value}" for key, value in _fields(record).items())
        return scrub(f"{line} {fields}" if fields else line)


class RequestIdFilter(logging.Filter):
    """Every line logged while a request is handled carries that request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and "request_id" not in vars(record):
            record.request_id = g.get("request_id")
        return True


def init_logging(app: Flask) -> None:
    root = logging.getLogger()
    # Only where nobody else set logging up (gunicorn, `flask run` and `flask worker` do not
    # touch the root logger; a test runner does).
    if not app.testing and not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        json_lines = app.config["LOG_FORMAT"] == "json"
        handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    app.before_request(_start)
    app.after_request(_finish)


def request_id(headers: Any, trusted: bool) -> str:
    """Our proxy's X-Request-ID when we run behind one, else a new one."""
    given = headers.get("X-Request-ID", "") if trusted else ""
    return given if REQUEST_ID.match(given) else secrets.token_hex(8)


def _start() -> None:
    trusted = current_app.config["TRUSTED_PROXY_COUNT"] > 0
    g.request_id = request_id(request.headers, trusted)
    g.started = time.perf_counter()


def _finish(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    took = time.perf_counter() - g.get("started", time.perf_counter())
    fields: dict[str, Any] = {
        "method": request.method,
        # The route, never the address: paths carry link tokens, query strings carry anything.
        "path": request.url_rule.rule if request.url_rule else "(no route)",
        "status": response.status_code,
        "duration_ms": round(took * 1000, 1),
    }
    if current_app.config["LOG_IPS"]:
        fields["ip"] = request.remote_addr
    access.info("request", extra=fields)
    return response
