"""Privacy requests: everything we hold about one reader, a copy for them, or erasure."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for

from petition.admin import bp
from petition.admin.access import actor, admin_only
from petition.admin.forms import PrivacyActionForm, PrivacyForm
from petition.services import privacy
from petition.services.errors import InvalidInput


@bp.get("/privacy")
@admin_only
def privacy_lookup() -> Any:
    form = PrivacyForm(request.args)
    signatures = None
    wants_updates = None
    if request.args and form.validate():
        try:
            person = privacy.Person.by_address(form.email.data)
        except InvalidInput as exc:
            form.email.errors = [exc.errors["email"]]
        else:
            signatures = privacy.signatures_of(person)
            wants_updates = privacy.page(person).wants_updates
    action = PrivacyActionForm(formdata=None, email=form.email.data)
    return render_template(
        "admin/privacy.html",
        form=form,
        signatures=signatures,
        wants_updates=wants_updates,
        action=action,
    ), 422 if form.errors else 200


@bp.post("/privacy/export")
@admin_only
def privacy_export() -> Any:
    form = PrivacyActionForm()
    if not form.validate_on_submit():
        flash("That could not be done: search again and retry.", "error")
        return redirect(url_for("admin.privacy_lookup"), 303)
    report = privacy.subject_access(privacy.Person.by_address(form.email.data), actor())
    body = json.dumps(report, indent=2, ensure_ascii=False)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="subject-access-request.json"'
    return response


@bp.post("/privacy/erase")
@admin_only
def privacy_erase() -> Any:
    form = PrivacyActionForm()
    back = url_for("admin.privacy_lookup", email=form.email.data or "")
    if not form.validate_on_submit() or not form.confirm.data:
        flash("Tick the box to confirm this is the reader's own request, then erase.", "error")
        return redirect(back, 303)
    erased = privacy.erase(privacy.Person.by_address(form.email.data), actor())
    flash(f"Erased the personal data of {erased} signature(s). The counts are unchanged.")
    return redirect(back, 303)
