"""The embeddable widget: the loader script news pages include, and the page it frames."""

from flask import Blueprint

bp = Blueprint("widget", __name__)

from petition.widget import views  # noqa: E402,F401
