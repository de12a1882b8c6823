"""Headers every response carries: framing rules, a content policy, and safe caching defaults."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, current_app, make_response, request
from flask.sessions import SecureCookieSessionInterface
from flask.wrappers import Response

from petition.security.origin import embed_origins, origin_of

BASE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; object-src 'none'"
)


def cacheable(max_age: int, stale: int = 60) -> Callable[..., Any]:
    """Let browsers and shared caches keep a successful response for a while."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Response:
            response = make_response(view(*args, **kwargs))
            if response.status_code == 200:
                response.headers["Cache-Control"] = (
                    f"public, max-age={max_age}, stale-while-revalidate={stale}"
                )
            return response

        return wrapped

    return decorate


def frame_ancestors() -> str:
    if request.blueprint == "admin":
        return "'none'"
    if request.blueprint == "widget":
        origins = embed_origins()
        # Our own pages (article pages, the admin's preview) may always show the widget.
        return "*" if "*" in origins or not origins else " ".join(["'self'", *origins])
    return "'self'"


def form_action() -> str:
    """Our own pages, plus Stripe Checkout, where the donate form's answer redirects to."""
    sources = ["'self'", "https://checkout.stripe.com"]
    if current_app.config["STRIPE_API_BASE"]:
        sources.append(origin_of(current_app.config["STRIPE_API_BASE"]))
    return " ".join(sources)


def set_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault(
        "Content-Security-Policy",
        f"{BASE_POLICY}; form-action {form_action()}; frame-ancestors {frame_ancestors()}",
    )
    if request.blueprint != "widget":
        # Old browsers that ignore frame-ancestors; the widget must stay framable.
        headers.setdefault(
            "X-Frame-Options", "DENY" if request.blueprint == "admin" else "SAMEORIGIN"
        )
    if request.blueprint == "admin":
        headers["Cache-Control"] = "no-store"
    else:
        headers.setdefault("Cache-Control", "no-store")
    if current_app.config["PUBLIC_URL"].startswith("https://"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


class AdminOnlySessionInterface(SecureCookieSessionInterface):
    """Sessions exist only under /admin: public pages can never set (or vary on) a cookie."""

    def open_session(self, app: Flask, request: Any) -> Any:
        if not _is_admin_path(request.path):
            return self.null_session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if _is_admin_path(request.path):
            super().save_session(app, session, response)


def _is_admin_path(path: str) -> bool:
    return path == "/admin" or path.startswith("/admin/")


def init_security(app: Flask) -> None:
    from petition.security.input import init_input_checks

    app.session_interface = AdminOnlySessionInterface()
    app.after_request(set_headers)
    init_input_checks(app)
