from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, request

from petition.api import bp
from petition.services import donations
from petition.services.campaigns import campaign_overview
from petition.services.counting import petition_snapshot
from petition.services.errors import NotFound

PUBLIC_FIELDS = ("slug", "title", "state", "goal", "display_goal", "signature_count", "closes_at")


def public_json(payload: Any, max_age: int = 5) -> Response:
    """A cacheable JSON response anyone may read, with a strong ETag for cheap revalidation."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = f"public, max-age={max_age}, stale-while-revalidate=30"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    return response.make_conditional(request)


def petition_json(snapshot: dict[str, Any]) -> dict[str, Any]:
    data = {field: snapshot[field] for field in PUBLIC_FIELDS}
    data["url"] = snapshot.get("url")
    return data


@bp.get("/petitions")
def petitions() -> Response:
    overview = campaign_overview()
    return public_json({"petitions": [petition_json(p) for p in overview["petitions"]]})


@bp.get("/petitions/<slug>")
def petition(slug: str) -> Response:
    try:
        snapshot = petition_snapshot(slug)
    except NotFound:
        abort(404, description=f"There is no petition called {slug!r}.")
    return public_json(petition_json(snapshot))


@bp.get("/donations/summary")
def donation_summary() -> Response:
    """Paid, unrefunded card donations: how many and how much."""
    return public_json(donations.summary(), max_age=30)
