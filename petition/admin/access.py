"""Who may see what under /admin: everyone signs in; personal data is for the admin role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, redirect, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from petition.admin import bp
from petition.extensions import login_manager
from petition.services.accounts import load_session_user
from petition.services.audit import Actor

OPEN_ENDPOINTS = {"admin.login", "admin.login_code"}


def init_admin_access(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    login_manager.login_view = "admin.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.user_loader(load_session_user)
    app.config.update(
        SESSION_COOKIE_NAME="rw_admin",
        SESSION_COOKIE_PATH="/admin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["PUBLIC_URL"].startswith("https://"),
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        REMEMBER_COOKIE_DURATION=0,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
    )


@bp.before_request
def require_sign_in() -> Any:
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    return None


def admin_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Personal data and exports: the admin role only (editors see aggregate figures)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            abort(403, description="Only admins can see signers' personal data.")
        return view(*args, **kwargs)

    return wrapped


def actor() -> Actor:
    return Actor(current_user.email, current_user.id, request.remote_addr, current_user.is_admin)


def safe_next(target: str | None) -> str:
    """Follow `next=` only to a path of ours under /admin, never to another site."""
    default = url_for("admin.dashboard")
    if not target or "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin"):
        return default
    return target


@bp.context_processor
def csrf_helper() -> dict[str, Any]:
    """`csrf_token()` for plain forms in admin templates (tokens live in the admin session)."""
    return {"csrf_token": generate_csrf}
