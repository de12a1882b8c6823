"""Partners: who they are, their keys and webhook endpoints, and what was sent to them."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from petition.admin import bp
from petition.admin.access import actor, admin_only
from petition.admin.forms import ActionForm, KeyForm, PartnerForm, QuestionForm, WebhookForm
from petition.services import partners, webhooks
from petition.services.errors import InvalidInput, NotFound


def _page(status: int = 200, shown: dict[str, str] | None = None, **forms: Any) -> Any:
    everyone = partners.all_partners()
    deliveries = {
        endpoint.id: webhooks.recent_deliveries(endpoint.id)
        for partner in everyone
        for endpoint in partner.endpoints
    }
    page = render_template(
        "admin/partners.html",
        partners=everyone,
        deliveries=deliveries,
        shown=shown,
        action=ActionForm(),
        new=forms.get("new") or PartnerForm(),
        key=KeyForm(),
        ask=QuestionForm(),
        hook=forms.get("hook") or WebhookForm(),
    )
    # A key or secret shown once must not be kept by any cache.
    return page, status, {"Cache-Control": "no-store"}


@bp.get("/partners")
@admin_only
def partner_list() -> Any:
    return _page()


@bp.post("/partners")
@admin_only
def partner_create() -> Any:
    form = PartnerForm()
    if not form.validate_on_submit():
        return _page(422, new=form)
    try:
        made = partners.create(
            form.slug.data, form.name.data, actor(), form.website.data or "", form.question.data
        )
    except InvalidInput as exc:
        for field, message in exc.errors.items():
            getattr(form, field).errors.append(message)
        return _page(422, new=form)
    flash(f"Partner {made.name} added. Give them a key below.")
    return redirect(url_for("admin.partner_list"), 303)


@bp.post("/partners/<slug>/question")
@admin_only
def partner_question(slug: str) -> Any:
    form = QuestionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        partner = partners.set_question(
            slug, form.question.data, actor(), form.in_other_languages("question")
        )
    except NotFound:
        abort(404)
    except InvalidInput as exc:
        flash(" ".join(exc.errors.values()), "error")
        return redirect(url_for("admin.partner_list"), 303)
    asked = "is asked now" if partner.asks_opt_in else "is no longer asked: signers see ours alone"
    flash(f"{partner.name}'s question {asked}.")
    return redirect(url_for("admin.partner_list") + f"#partner-{slug}", 303)


@bp.post("/partners/<slug>/keys")
@admin_only
def partner_key(slug: str) -> Any:
    form = KeyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        new = partners.issue_key(
            slug, actor(), can_write=form.write.data, trusted=form.trusted.data
        )
    except NotFound:
        abort(404)
    # Shown in this answer only (never in a flash message, which travels in the session cookie).
    return _page(shown={"what": f"The new key for {slug}", "value": new.key})


@bp.post("/partners/keys/<prefix>/revoke")
@admin_only
def partner_key_revoke(prefix: str) -> Response:
    if ActionForm().validate_on_submit():
        try:
            partners.revoke_key(prefix, actor())
        except NotFound:
            abort(404)
        flash(f"Key {prefix} revoked: it no longer works.")
    return redirect(url_for("admin.partner_list"), 303)


@bp.post("/partners/<slug>/webhooks")
@admin_only
def partner_webhook(slug: str) -> Any:
    form = WebhookForm()
    if not form.validate_on_submit():
        return _page(422, hook=form)
    try:
        endpoint, secret = partners.add_webhook(slug, form.url.data, actor())
    except NotFound:
        abort(404)
    except InvalidInput as exc:
        form.url.errors.append(exc.errors["url"])
        return _page(422, hook=form)
    return _page(shown={"what": f"The signing secret for {endpoint.url}", "value": secret})


@bp.post("/partners/webhooks/<int:endpoint_id>/on")
@admin_only
def webhook_turn_on(endpoint_id: int) -> Response:
    if ActionForm().validate_on_submit():
        try:
            endpoint = webhooks.turn_on(endpoint_id, actor())
        except NotFound:
            abort(404)
        flash(f"{endpoint.url} is on again; its waiting events go out now.")
    return redirect(url_for("admin.partner_list"), 303)


@bp.post("/partners/deliveries/<int:delivery_id>/resend")
@admin_only
def webhook_resend(delivery_id: int) -> Response:
    if ActionForm().validate_on_submit():
        try:
            delivery = webhooks.resend(delivery_id, actor())
        except NotFound:
            abort(404)
        flash(f"{delivery.event} ({delivery.event_id}) will be sent again within seconds.")
    return redirect(url_for("admin.partner_list") + f"#endpoint-{request.args.get('e', '')}", 303)
