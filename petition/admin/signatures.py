"""Signature search and moderation: find a flood of fakes, take it out of the count, or undo."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import flash, redirect, render_template, request, url_for

from petition.admin import bp
from petition.admin.access import actor, admin_only
from petition.admin.downloads import csv_download
from petition.admin.forms import BulkForm, SearchForm
from petition.services import exports, moderation
from petition.services.dashboard import petition_overview
from petition.services.errors import InvalidInput


def _search_form() -> SearchForm:
    form = SearchForm(request.args)
    form.petition.choices = [("", "All petitions")] + [
        (p.slug, p.title) for p in petition_overview()
    ]
    return form


@bp.get("/signatures")
@admin_only
def signature_search() -> Any:
    form = _search_form()
    matches = None
    bulk_changes = False
    if request.args and form.validate():
        criteria = form.filter()
        bulk_changes = not criteria.is_empty()
        try:
            matches = moderation.search(criteria, request.args.get("page", 1, type=int))
        except InvalidInput as exc:
            for field, message in exc.errors.items():
                getattr(form, field).errors = [message]
    query = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "admin/signatures.html",
        form=form,
        matches=matches,
        page=matches.page if matches else None,
        bulk_changes=bulk_changes,
        query=query,
        query_string=urlencode(query),
        count_limit=moderation.COUNT_LIMIT,
        bulk=BulkForm(formdata=None),
    ), 422 if form.errors else 200


@bp.get("/signatures.csv")
@admin_only
def signature_search_export() -> Any:
    """What the search found, as CSV: the same filters, audited with them."""
    form = _search_form()
    back = url_for("admin.signature_search", **request.args)
    if not form.validate():
        flash("That search could not be read: check it and try again.", "error")
        return redirect(back, 303)
    try:
        export = exports.start_search_export(form.filter(), actor())
    except InvalidInput as exc:
        flash(" ".join(exc.errors.values()), "error")
        return redirect(back, 303)
    return csv_download(export)


@bp.post("/signatures/invalidate")
@admin_only
def signatures_invalidate() -> Any:
    return _bulk(moderation.invalidate, "invalidated")


@bp.post("/signatures/restore")
@admin_only
def signatures_restore() -> Any:
    return _bulk(moderation.restore, "restored")


def _bulk(action: Any, done: str) -> Any:
    form, bulk = _search_form(), BulkForm()
    back = url_for("admin.signature_search", **request.args)
    if not (form.validate() and bulk.validate_on_submit()):
        flash("That could not be done: reload the search and try again.", "error")
        return redirect(back, 303)
    try:
        if action is moderation.invalidate:
            reason = bulk.reason.data or ""
            category = bulk.category.data or "other"
            moved = action(form.filter(), reason, bulk.expected.data, actor(), category)
        else:
            moved = action(form.filter(), bulk.expected.data, actor())
    except InvalidInput as exc:
        flash(" ".join(exc.errors.values()), "error")
        return redirect(back, 303)
    flash(f"{moved} signature(s) {done}. Counts update within seconds.")
    return redirect(back, 303)
