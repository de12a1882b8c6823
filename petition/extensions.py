"""Unbound extensions, bound to an app in `create_app` (no import cycles through an app global)."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from petition.cache import Cache
from petition.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
# Limits are declared on the views that need them; nothing is limited by default.
limiter = Limiter(get_remote_address, in_memory_fallback_enabled=True, swallow_errors=True)
cache = Cache()
# Admin only: public pages never touch the session (see security/headers.py).
login_manager = LoginManager()
