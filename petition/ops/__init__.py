"""For operators: health checks, Prometheus metrics, structured logs and error reports."""

from flask import Blueprint

bp = Blueprint("ops", __name__)

from petition.ops import views  # noqa: E402,F401
