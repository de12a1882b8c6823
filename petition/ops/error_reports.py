"""Error reports to Sentry, when SENTRY_DSN is set: what broke and where, never who was there."""

from __future__ import annotations

from typing import Any

from flask import Flask

from petition.ops.logs import scrub

# Request parts that may hold personal data or secrets: never sent.
DROPPED_REQUEST_KEYS = ("data", "cookies", "query_string", "env")
KEPT_HEADERS = {"User-Agent", "Accept", "Content-Type", "X-Request-ID"}


def init_error_reports(app: Flask) -> None:
    dsn = app.config["SENTRY_DSN"]
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=app.config["APP_ENV"],
        integrations=[FlaskIntegration()],
        send_default_pii=False,
        # Local variables hold what readers typed and the links we mailed them.
        include_local_variables=False,
        traces_sample_rate=0.0,
        before_send=scrubbed,
    )


def scrubbed(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """An event with no email address, body, cookie, address or IP address left in it."""
    request = event.get("request") or {}
    for key in DROPPED_REQUEST_KEYS:
        request.pop(key, None)
    if "headers" in request:
        request["headers"] = {k: v for k, v in request["headers"].items() if k in KEPT_HEADERS}
    # Paths carry link tokens: the route (the event's transaction) says where it broke.
    request.pop("url", None)
    event.pop("user", None)
    return _scrub_all(event)


def _scrub_all(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrub_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_all(v) for v in value]
    return value
