from __future__ import annotations

from typing import Any

from flask import abort, jsonify, redirect, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from petition.donations import bp
from petition.forms import SOURCE, DonationForm
from petition.i18n import gettext as _
from petition.microcache import public_cache
from petition.ratelimits import donate_limit
from petition.security import form_tokens
from petition.security.form_tokens import TokenCheck
from petition.services import donations, fundraiser, stripe_gateway

DONATE = "donate"
WEBHOOK_MAX_BYTES = 1024 * 1024
CARDS_DOWN = _l(
    "Card payments are not working right now. "
    "Please try again in a few minutes, or give through GoFundMe."
)


def source_from(value: str | None, default: str) -> str:
    value = (value or "").strip().lower()
    return value if SOURCE.match(value) else default


def render_donate(form: DonationForm, status: int = 200, problem: str | None = None) -> Any:
    form.form_token.data = form_tokens.issue(DONATE, DONATE)
    return (
        render_template(
            "donations/donate.html",
            form=form,
            presets=donations.PRESET_POUNDS,
            cards=stripe_gateway.card_payments_enabled(),
            fundraiser=fundraiser.fundraiser_url(),
            problem=problem,
        ),
        status,
    )


@bp.get("/donate")
@public_cache(60)
def donate() -> Any:
    form = DonationForm(
        data={
            "amount": request.args.get("amount", ""),
            "source": source_from(request.args.get("source"), "donate"),
        }
    )
    return render_donate(form)


@bp.post("/donate")
@donate_limit
def donate_post() -> Any:
    token_state = form_tokens.guard(DONATE, DONATE, request.form.get("form_token"))
    form = DonationForm(request.form)
    if token_state is TokenCheck.EXPIRED:
        return render_donate(
            form, 400, _("This page was open for a long time. Please choose your amount again.")
        )
    if not stripe_gateway.card_payments_enabled():
        return render_donate(form, 409)
    if not form.validate():
        return render_donate(form, 422)
    try:
        checkout_url = donations.start_donation(form.amount_minor, form.source_label("donate"))
    except donations.PaymentsUnavailable:
        return render_donate(form, 503, CARDS_DOWN)
    return redirect(checkout_url, 303)


@bp.get("/donate/thanks")
def thanks() -> str:
    donation = donations.donation_for_session(request.args.get("session_id", ""))
    return render_template(
        "donations/thanks.html", donation=donation, fundraiser=fundraiser.fundraiser_url()
    )


@bp.get("/go/gofundme")
def gofundme() -> Response:
    # Only ever the campaign's own fundraiser: `url`, `next` and the like are ignored.
    try:
        source = source_from(request.args.get("source"), "direct")
        target = fundraiser.follow_link(source, request.user_agent.string)
    except fundraiser.NoFundraiser:
        abort(404, description=_("There is no fundraiser to go to right now."))
    response = redirect(target, 302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/stripe/webhook")
def stripe_webhook() -> Any:
    request.max_content_length = WEBHOOK_MAX_BYTES
    try:
        result = donations.handle_webhook(
            request.get_data(), request.headers.get("Stripe-Signature")
        )
    except donations.BadSignature:
        return jsonify(
            {"error": {"code": "bad_signature", "message": "Signature missing, wrong or stale."}}
        ), 400
    except donations.MalformedEvent as exc:
        return jsonify({"error": {"code": "malformed_event", "message": str(exc)}}), 400
    return jsonify({"received": True, "duplicate": result.duplicate})
