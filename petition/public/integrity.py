"""How the count is made, for readers: a petition's integrity report, and checking a receipt."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request

from petition.microcache import public_cache
from petition.public import bp
from petition.ratelimits import verify_limit
from petition.services import integrity, partners
from petition.services.campaigns import petition_snapshot
from petition.services.errors import NotFound


@bp.get("/petitions/<slug>/integrity", endpoint="integrity")
@public_cache(30)
def integrity_report(slug: str) -> str:
    try:
        report = integrity.report(slug)
        history = integrity.history(slug)
        snapshot = petition_snapshot(slug)
    except NotFound:
        abort(404)
    return render_template(
        "public/integrity.html",
        report=report,
        petition=snapshot,
        points=integrity.chart_points(history),
        partners=partners.by_partner(snapshot["id"]),
    )


@bp.get("/verify")
@public_cache(3600)
def verify() -> str:
    return render_template("public/verify.html", result=None, code="")


# A form that reads and changes nothing: no token needed (and the code stays out of addresses
# and logs, as it would not with a GET).
@bp.post("/verify")
@verify_limit
def verify_code() -> Any:
    code = request.form.get("code", "")[:100]
    result = integrity.verify_receipt(code)
    status = 200 if result else 404
    return render_template("public/verify.html", result=result, code=code, asked=True), status
