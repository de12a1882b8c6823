"""Unbound extensions, bound to an app in `create_app` (no import cycles through an app global)."""

from flask import request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from petition.cache import Cache
from petition.models.base import Base
from petition.security.clients import client_key

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
# Limits are declared on the views that need them; nothing is limited by default.
limiter = Limiter(client_key, in_memory_fallback_enabled=True, swallow_errors=True)
# Limits guard POSTs: public reads and CORS preflights never spend anyone's allowance. The
# partners' API is the exception: every request there reads personal data or tries a key.
limiter.request_filter(lambda: request.method != "POST" and request.blueprint != "osdi")
cache = Cache()
# Admin only: public pages never touch the session (see security/headers.py).
login_manager = LoginManager()
