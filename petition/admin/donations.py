"""Donations: totals, the list, GoFundMe clicks by source, and an audited CSV export."""

from __future__ import annotations

from flask import Response, render_template, request, stream_with_context

from petition.admin import bp
from petition.admin.access import actor, admin_only
from petition.services import donation_reports


@bp.get("/donations")
@admin_only
def donation_list() -> str:
    return render_template(
        "admin/donations.html",
        totals=donation_reports.totals(),
        page=donation_reports.page_of_donations(request.args.get("page", 1, type=int)),
        clicks=donation_reports.clicks_by_source(),
    )


@bp.get("/donations.csv")
@admin_only
def donation_export() -> Response:
    export = donation_reports.start_export(actor())
    response = Response(stream_with_context(export.chunks()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response
