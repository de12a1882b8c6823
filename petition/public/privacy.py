"""Privacy for readers: the notice, and each reader's own page of what we hold about them."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, current_app, redirect, render_template, request, url_for

from petition.forms import PrivacyRequestForm
from petition.i18n import gettext as _
from petition.microcache import public_cache
from petition.public import bp
from petition.ratelimits import privacy_address_limit, privacy_limit
from petition.security import form_tokens
from petition.security.form_tokens import TokenCheck
from petition.security.origin import origin_allowed
from petition.services import privacy, signatures
from petition.services.errors import LinkInvalid

REQUEST = "privacy"


@bp.get("/privacy", endpoint="privacy")
@public_cache(3600)
def privacy_notice() -> str:
    return render_template("public/privacy.html", config=current_app.config)


@bp.get("/privacy/me")
@public_cache(60)
def privacy_me() -> str:
    return _request_page(PrivacyRequestForm())


def _request_page(form: PrivacyRequestForm, status: int = 200) -> Any:
    form.form_token.data = form_tokens.issue(REQUEST, "me")
    return render_template("public/privacy_me.html", form=form), status


@bp.post("/privacy/me")
@privacy_limit
@privacy_address_limit
def privacy_me_request() -> Any:
    if form_tokens.guard(REQUEST, "me", request.form.get("form_token")) is TokenCheck.EXPIRED:
        return _request_page(PrivacyRequestForm(request.form), 400)
    form = PrivacyRequestForm(request.form)
    if not form.validate():
        return _request_page(form, 422)
    if not form.website.data:
        privacy.request_link(form.email.data)
    # The same answer whether or not we hold anything about the address.
    return redirect(url_for(".privacy_me_sent"), 303)


@bp.get("/privacy/me/sent")
@public_cache(3600)
def privacy_me_sent() -> str:
    return render_template(
        "public/privacy_me_sent.html", minutes=current_app.config["PRIVACY_LINK_MINUTES"]
    )


def _person(token: str) -> privacy.Person:
    try:
        return privacy.person_in(token)
    except LinkInvalid:
        abort(404)


def _acting() -> None:
    """A POST from the reader's own page (the secret link is the authority, as for confirming)."""
    if not origin_allowed(allow_null=True):
        abort(403)


@bp.get("/privacy/me/<token>")
def privacy_me_page(token: str) -> Any:
    # Scanner-safe: opening the link shows, and only the buttons act.
    person = _person(token)
    return _own_page(token, privacy.page(person))


def _own_page(token: str, page: privacy.PrivacyPage, done: str | None = None) -> Any:
    html = render_template(
        "public/privacy_page.html",
        token=token,
        page=page,
        done=done,
        minutes=current_app.config["PRIVACY_LINK_MINUTES"],
    )
    response = Response(html)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.post("/privacy/me/<token>/copy")
def privacy_me_copy(token: str) -> Any:
    _acting()
    report = privacy.subject_access(_person(token), privacy.READER)
    if request.form.get("format") == "json":
        body = json.dumps(report, indent=2, ensure_ascii=False)
        response = Response(body, mimetype="application/json")
        response.headers["Content-Disposition"] = 'attachment; filename="my-petition-data.json"'
        return response
    return render_template(
        "public/privacy_copy.html",
        report=report,
        field_names=privacy.FIELD_NAMES,
        state_names=privacy.STATE_NAMES,
    )


@bp.post("/privacy/me/<token>/stop-updates")
def privacy_me_stop_updates(token: str) -> Any:
    _acting()
    person = _person(token)
    privacy.stop_updates(person)
    return _own_page(token, privacy.page(person), _("We will send you no more campaign updates."))


@bp.post("/privacy/me/<token>/withdraw/<int:signature_id>")
def privacy_me_withdraw(token: str, signature_id: int) -> Any:
    _acting()
    person = _person(token)
    try:
        link = signatures.withdraw_own(list(person.hashes), signature_id)
    except LinkInvalid:
        abort(404)
    done = _(
        "Your signature on “%(title)s” is withdrawn and no longer counted.",
        title=link.petition_title,
    )
    return _own_page(token, privacy.page(person), done)


@bp.post("/privacy/me/<token>/erase")
def privacy_me_erase(token: str) -> Any:
    _acting()
    person = _person(token)
    if request.form.get("confirm") != "yes":
        page = privacy.page(person)
        return _own_page(token, page, _("Tick the box to confirm, then press Erase.")), 422
    erased = privacy.erase(person, privacy.READER)
    return render_template("public/privacy_erased.html", erased=erased)
