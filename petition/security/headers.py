"""Headers every response carries: framing rules, a content policy, and safe caching defaults."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask.wrappers import Response

from petition.config import image_origins
from petition.security.origin import origin_of
from petition.templating import asset_url

BASE_POLICY = (
    "default-src 'self'; img-src 'self' data:{images}; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; object-src 'none'"
)


# Powerful features no page of ours uses, off for our pages and anything they might be made to
# run; sharing and copying a link (web-share, clipboard-write) stay on.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), payment=(), usb=()"
)


def header_sets(config: Any) -> dict[str, list[tuple[str, str]]]:
    """The default headers of each kind of response, worked out once from the configuration."""
    origins = [o.rstrip("/") for o in config["EMBED_ALLOWED_ORIGINS"].replace(",", " ").split()]
    # Our own pages (article pages, the admin's preview) may always show the widget.
    widget_frames = "*" if "*" in origins or not origins else " ".join(["'self'", *origins])
    form_action = ["'self'", "https://checkout.stripe.com"]
    if config["STRIPE_API_BASE"]:
        # Stripe Checkout (or a stand-in for it) is where the donate form's answer redirects.
        form_action.append(origin_of(config["STRIPE_API_BASE"]))
    images = "".join(f" {origin}" for origin in image_origins(config))
    page_policy = f"{BASE_POLICY.format(images=images)}; form-action {' '.join(form_action)}"
    common = [("X-Content-Type-Options", "nosniff")]
    if config["PUBLIC_URL"].startswith("https://"):
        common.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    referrer = ("Referrer-Policy", "strict-origin-when-cross-origin")
    common_html = [*common, referrer, ("Permissions-Policy", PERMISSIONS_POLICY)]
    return {
        "page": [
            *common_html,
            ("Content-Security-Policy", f"{page_policy}; frame-ancestors 'self'"),
            # For old browsers that ignore frame-ancestors.
            ("X-Frame-Options", "SAMEORIGIN"),
        ],
        "widget": [
            *common_html,
            ("Content-Security-Policy", f"{page_policy}; frame-ancestors {widget_frames}"),
        ],
        "admin": [
            *common_html,
            ("Content-Security-Policy", f"{page_policy}; frame-ancestors 'none'"),
            ("X-Frame-Options", "DENY"),
        ],
        # JSON is never rendered: nothing may load from it, nothing may frame it.
        "api": [*common, ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")],
    }


# Each kind of page's stylesheet, announced in the response's headers: the browser (or a CDN
# sending 103 Early Hints) starts fetching it before the HTML has been read.
STYLESHEETS = {"page": "site.css", "admin": "site.css", "widget": "widget.css"}


def _preload(stylesheet: str) -> str:
    """The Link header for a stylesheet, worked out once per app (its address has the file's
    hash, fixed while the process runs)."""
    links = current_app.extensions.setdefault("preload_links", {})
    if stylesheet not in links:
        links[stylesheet] = f"<{asset_url(stylesheet)}>; rel=preload; as=style"
    return links[stylesheet]


def set_headers(response: Response) -> Response:
    blueprint = request.blueprint
    kind = blueprint if blueprint in ("admin", "widget", "api") else "page"
    if request.path == "/oembed":
        kind = "api"
    headers = response.headers
    present = {key.lower() for key in headers.keys()}
    for key, value in current_app.extensions["security_headers"][kind]:
        if key.lower() not in present:
            headers.add(key, value)
    if kind in STYLESHEETS and response.mimetype == "text/html" and "link" not in present:
        headers.add("Link", _preload(STYLESHEETS[kind]))
    if kind == "admin":
        headers["Cache-Control"] = "no-store"
    elif "cache-control" not in present:
        headers.add("Cache-Control", "no-store")
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

    app.extensions["security_headers"] = header_sets(app.config)
    app.session_interface = AdminOnlySessionInterface()
    app.after_request(set_headers)
    init_input_checks(app)
