from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, jsonify, request, stream_with_context
from werkzeug.datastructures import MultiDict

from petition import i18n
from petition.api import bp
from petition.api.openapi import openapi_document
from petition.extensions import cache
from petition.forms import SignatureForm, attribution
from petition.i18n import gettext as _
from petition.json_responses import encode, encode_text, encoded_json, public_json
from petition.models import utcnow
from petition.ratelimits import sign_limit
from petition.security import form_tokens, thanks_links
from petition.security.form_tokens import TokenCheck
from petition.security.origin import embed_origins
from petition.security.thanks_links import Signed
from petition.services import digests, donations, integrity, signing
from petition.services.campaigns import campaign_overview, json_cache_key, petition_snapshot
from petition.services.errors import NotFound, PetitionNotOpen

PUBLIC_FIELDS = (
    "slug",
    "title",
    "url",
    "state",
    "goal",
    "display_goal",
    "signature_count",
    "opens_at",
    "closes_at",
)


def petition_json(snapshot: dict[str, Any], detail: bool = False) -> dict[str, Any]:
    data = {field: snapshot[field] for field in PUBLIC_FIELDS}
    # Beside the count, never in it: signatures whose signer has yet to press the link.
    data["awaiting_confirmation"] = snapshot["pending_count"]
    # Which language the title (and ask) came in: the one asked for (?lang=), or English
    # where staff have not translated it.
    data["language"] = snapshot["text_language"]["title"]
    if detail:
        data["ask"] = snapshot["ask"]
        data["signatures_by_country"] = snapshot["countries"]
        data["milestones"] = snapshot["milestones"]
        data["news"] = [
            {
                "title": item["title"],
                "body": item["body"],
                "published_at": item["published_at"],
                "language": item["text_language"]["title"],
            }
            for item in snapshot["news"]
        ]
    return data


@bp.get("/petitions")
def petitions() -> Response:
    overview = campaign_overview()
    return public_json({"petitions": [petition_json(p) for p in overview["petitions"]]})


@bp.get("/petitions/<slug>")
def petition(slug: str) -> Response:
    # The hottest read there is (every widget, every open page polls it): the encoded body and
    # its ETag are cached with the counts, so a request costs a dictionary look-up.
    ttl = current_app.config["COUNT_CACHE_SECONDS"]
    try:
        encoded = cache.get(
            json_cache_key(slug, i18n.current().code),
            ttl,
            lambda: encode(petition_json(petition_snapshot(slug), True)),
        )
    except NotFound:
        abort(404, description=_("There is no petition called “%(slug)s”.", slug=slug))
    return encoded_json(encoded, max_age=5)


@bp.get("/petitions/<slug>/integrity")
def integrity_figures(slug: str) -> Response:
    """How the count was made: every figure behind it, defined, and the digests published."""
    report = _or_404(integrity.report, slug)
    return public_json({key: report[key] for key in INTEGRITY_FIELDS}, max_age=30)


INTEGRITY_FIELDS = ("petition", "figures", "counted_at", "reconciled", "digests", "definitions")


@bp.get("/petitions/<slug>/history")
def history(slug: str) -> Response:
    """Open data: confirmed signatures hour by hour, and by country day by day."""
    return public_json(_or_404(integrity.history, slug), max_age=60)


@bp.get("/petitions/<slug>/history.csv")
def history_csv(slug: str) -> Response:
    return _csv(integrity.hours_csv(_or_404(integrity.history, slug)), f"{slug}-hourly.csv")


@bp.get("/petitions/<slug>/history/countries.csv")
def history_countries_csv(slug: str) -> Response:
    data = _or_404(integrity.history, slug)
    return _csv(integrity.countries_csv(data), f"{slug}-countries-daily.csv")


def _csv(body: str, filename: str) -> Response:
    response = encoded_json(encode_text(body), 60, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@bp.get("/petitions/<slug>/digests/<int:number>.txt")
def digest(slug: str, number: int) -> Response:
    """A published digest's text, exactly the bytes its SHA-256 is of (streamed)."""
    lines = _or_404(digests.published_text, slug, number)
    # Published digests never change: cache them for as long as anyone likes.
    headers = {"Cache-Control": "public, max-age=31536000, immutable"}
    return Response(
        stream_with_context(line.encode() for line in lines),
        mimetype="text/plain",
        headers=headers,
    )


def _or_404(load: Any, *args: Any) -> Any:
    try:
        return load(*args)
    except NotFound:
        abort(404, description=f"There is no such petition or digest: {args[0]!r}.")


@bp.get("/donations/summary")
def donation_summary() -> Response:
    """Paid, unrefunded card donations: how many and how much."""
    return public_json(donations.summary(), max_age=30)


SIGN = "sign"
TEXT_FIELDS = ("name", "email", "postcode", "country", "website", "form_token", "source", "ref")
TEXT_FIELDS += ("utm_source", "utm_medium", "utm_campaign", "email_choice", "replaces", "partner")


@bp.route("/petitions/<slug>/signatures", methods=["POST", "OPTIONS"])
@sign_limit
def sign(slug: str) -> Any:
    """Sign from the widget or a partner: the same service and rules as the sign form."""
    if request.method == "OPTIONS":
        return _preflight()
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        abort(400, description=_("Send a JSON object."))
    token_state = form_tokens.guard(
        SIGN, slug, _text(data.get("form_token")), extra=embed_origins(), allow_null=True
    )
    if token_state is TokenCheck.EXPIRED:
        abort(403, description=_("This form has expired. Reload it and try again."))
    fields, wrong = _form_fields(data)
    form = SignatureForm(fields)
    if not form.validate() or wrong:
        # A code as every other error has, and each field's message by its name.
        answer: dict[str, Any] = {
            "error": {"code": "invalid", "message": _("Some details need correcting: see errors.")},
            "errors": {**form.error_messages(), **wrong},
        }
        if form.email_suggestion:
            # Send it again with email_choice "suggested" (or "typed" to keep the address).
            answer["suggestions"] = {"email": form.email_suggestion}
        return jsonify(answer), 422
    if form.is_bot():
        signed = Signed(signing.partly_hidden(form.email.data), "", utcnow())
    else:
        try:
            signed = signing.sign_petition(
                slug,
                form.entry(),
                attribution(fields, request.remote_addr, "api"),
                replaces=thanks_links.signed_in(fields.get("replaces")),
            )
        except NotFound:
            abort(404, description=_("There is no petition called “%(slug)s”.", slug=slug))
        except PetitionNotOpen:
            abort(409, description=_("This petition is not taking signatures."))
    answer = {
        "status": "check_email",
        "message": _(
            "Thank you. Now check your email: your signature counts once you press the link "
            "we sent."
        ),
        "sent_to": signed.shown_address,
        # Sent back as `replaces` with a corrected address, it takes this signature's place.
        "replaces": thanks_links.token_for(signed),
    }
    return jsonify(answer), 202


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _form_fields(data: dict[str, Any]) -> tuple[MultiDict[str, Any], dict[str, str]]:
    """JSON values as the form expects them; anything that is not text is refused by name."""
    fields: MultiDict[str, Any] = MultiDict()
    wrong: dict[str, str] = {}
    for name in TEXT_FIELDS:
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            fields[name] = value
        else:
            wrong[name] = _("Must be text")
            # Given, though unusable: no default stands in for it (a country taken as the
            # form's default, the UK, would ask for a postcode too).
            fields[name] = ""
    for name in ("consent_updates", "show_publicly", "consent_partner"):
        value = data.get(name, False)
        if not isinstance(value, bool):
            wrong[name] = _("Must be true or false")
        elif value:
            fields[name] = "y"
    return fields, wrong


def _preflight() -> Response:
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


@bp.after_request
def open_to_everyone(response: Response) -> Response:
    """Anyone may read the API from any page; nothing here depends on a cookie."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/openapi.json")
def openapi() -> Response:
    return public_json(openapi_document(), max_age=3600)
