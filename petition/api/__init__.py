"""The public JSON API (`/api/v1`): counts for anyone, signing for the widget and partners."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from petition.api import views  # noqa: E402,F401
