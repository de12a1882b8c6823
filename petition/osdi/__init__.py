"""The OSDI-compatible API for partners (`/api/osdi/v1`): HAL+JSON, as Action Network and
other CRMs speak it, behind a partner's API key."""

from flask import Blueprint

bp = Blueprint("osdi", __name__)

from petition.osdi import views  # noqa: E402,F401
