"""Pages for readers: the campaign, the petition and its sign form, confirm and withdraw."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from petition.public import articles, integrity, media, privacy, site_files, views  # noqa: E402,F401
