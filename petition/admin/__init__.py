"""The admin side (`/admin`): signed-in staff only, sessions and CSRF protection, no caching."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from petition.admin import (  # noqa: E402,F401
    access,
    account,
    articles,
    audit_views,
    auth,
    dashboard,
    donations,
    mail,
    news,
    partners,
    petitions,
    privacy,
    signatures,
    team,
)
