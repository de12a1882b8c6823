"""Pictures staff uploaded, served by us at addresses that never change meaning."""

from __future__ import annotations

from flask import abort, request
from werkzeug.wrappers import Response

from petition.public import bp
from petition.services import images
from petition.services.errors import NotFound

YEAR = 365 * 24 * 3600


@bp.get("/media/<string(length=64):digest>.jpg")
def media(digest: str) -> Response:
    if request.if_none_match.contains(digest):
        response = Response(status=304)
    else:
        try:
            data, media_type = images.rendition_bytes(digest)
        except NotFound:
            abort(404)
        response = Response(data, mimetype=media_type)
    # The address is the hash of the bytes: what it names can never change.
    response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    response.set_etag(digest)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
