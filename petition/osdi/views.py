"""OSDI resources: the API entry point, petitions, and a partner's own opted-in signers.

Field names are OSDI's (https://opensupporter.github.io/osdi-docs/): `identifiers`,
`given_name`, `email_addresses[].address`, `postal_addresses[].postal_code`, `total_pages`,
`_links`, `_embedded`. Every answer is private to the key that asked (no shared caching)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flask import Response, abort, g, request
from werkzeug.datastructures import MultiDict

from petition import i18n
from petition.forms import SignatureForm, attribution
from petition.osdi import bp
from petition.ratelimits import partner_limit
from petition.services import images, partners, signing
from petition.services.campaigns import campaign_overview, petition_snapshot
from petition.services.errors import NotAllowed, NotFound, PetitionNotOpen
from petition.services.names import given_and_family
from petition.services.partners import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE
from petition.urls import external_url

NAMESPACE = "refugees_welcome"
CURIES = [
    {"name": "osdi", "href": "https://opensupporter.github.io/osdi-docs/{rel}", "templated": True}
]


# One budget for the whole API, checked before the key is.
partner_limit(bp)


@bp.before_request
def authenticate() -> None:
    """Every resource needs a partner's key: `OSDI-API-Token` (OSDI's header) or a bearer."""
    token = request.headers.get("OSDI-API-Token", "")
    if not token and request.authorization and request.authorization.type == "bearer":
        token = request.authorization.token or ""
    g.partner = partners.authenticate(token.strip())
    if g.partner is None:
        abort(401, description="Send a partner API key in the OSDI-API-Token header.")


@bp.after_request
def private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="osdi"'
    return response


def hal(payload: dict[str, Any], status: int = 200) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return Response(body, status=status, mimetype="application/hal+json")


def link(endpoint: str, **values: Any) -> dict[str, str]:
    return {"href": external_url(endpoint, **values)}


@bp.get("/")
def entry_point() -> Response:
    caller = g.partner
    return hal(
        {
            "motd": f"Welcome, {caller.name}: the Refugees Welcome petitions.",
            "vendor_name": "Refugees Welcome",
            "product_name": "Refugees Welcome petitions",
            "osdi_version": "1.0",
            "max_pagesize": MAX_PAGE_SIZE,
            "namespace": NAMESPACE,
            "_links": {
                "curies": CURIES,
                "self": {**link("osdi.entry_point"), "title": "This API entry point"},
                "osdi:petitions": {
                    **link("osdi.petitions"),
                    "title": "The campaign's petitions",
                },
            },
        }
    )


def page_asked() -> tuple[int, int]:
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", DEFAULT_PAGE_SIZE))
    except ValueError:
        abort(400, description="page and per_page are whole numbers.")
    if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= MAX_PAGE_SIZE:
        abort(
            400,
            description=f"page is 1 to {MAX_PAGE:,}; per_page is 1 to {MAX_PAGE_SIZE}.",
        )
    return page, per_page


def collection(
    name: str, items: list[dict[str, Any]], total: int, page: int, per_page: int, **values: Any
) -> Response:
    """An OSDI collection: one page of resources, with links to the next and previous."""
    endpoint = request.endpoint or ""
    pages = max(1, -(-total // per_page))
    links: dict[str, Any] = {
        "curies": CURIES,
        "self": link(endpoint, page=page, per_page=per_page, **values),
        f"osdi:{name}": [item["_links"]["self"] for item in items],
    }
    if page < pages:
        links["next"] = link(endpoint, page=page + 1, per_page=per_page, **values)
    if page > 1:
        links["prev"] = link(endpoint, page=min(page - 1, pages), per_page=per_page, **values)
    return hal(
        {
            "total_pages": pages,
            "per_page": per_page,
            "page": page,
            "total_records": total,
            "_links": links,
            "_embedded": {f"osdi:{name}": items},
        }
    )


def petition_resource(snapshot: dict[str, Any]) -> dict[str, Any]:
    slug = snapshot["slug"]
    links = {
        "self": link("osdi.petition", slug=slug),
        "osdi:signatures": link("osdi.signatures", slug=slug),
    }
    if g.partner.can_write:
        # Where a CRM that follows links finds how to send the signatures it collected.
        links["osdi:record_signature_helper"] = link("osdi.record_signature", slug=slug)
    resource = {
        "identifiers": [f"{NAMESPACE}:{slug}"],
        "origin_system": "Refugees Welcome",
        "created_date": _date(snapshot["created_at"]),
        "modified_date": _date(snapshot["updated_at"]),
        "name": slug,
        "title": snapshot["title"],
        "description": snapshot["background"],
        "petition_text": snapshot["ask"],
        "browser_url": snapshot["url"],
        "total_signatures": snapshot["signature_count"],
        "status": snapshot["state"],
        "_links": links,
    }
    if snapshot["image"]:
        resource["featured_image_url"] = images.largest_url(snapshot["image"])
    if snapshot["addressee"]:
        resource["target"] = [{"name": snapshot["addressee"]}]
    return resource


@bp.get("/petitions")
def petitions() -> Response:
    page, per_page = page_asked()
    every = campaign_overview()["petitions"]
    shown = every[(page - 1) * per_page : page * per_page]
    items = [petition_resource(petition_snapshot(p["slug"])) for p in shown]
    return collection("petitions", items, len(every), page, per_page)


@bp.get("/petitions/<slug>")
def petition(slug: str) -> Response:
    try:
        return hal(petition_resource(petition_snapshot(slug)))
    except NotFound:
        abort(404, description=f"There is no petition called {slug!r}.")


@bp.get("/petitions/<slug>/signatures")
def signatures(slug: str) -> Response:
    """The partner's own signers of this petition who said yes to its question."""
    page, per_page = page_asked()
    try:
        found, total = partners.opted_in_signers(g.partner, slug, page, per_page)
    except NotFound:
        abort(404, description=f"There is no petition called {slug!r}.")
    items = [signature_resource(slug, signer) for signer in found]
    return collection("signatures", items, total, page, per_page, slug=slug)


@bp.get("/petitions/<slug>/signatures/<int:signature_id>")
def signature(slug: str, signature_id: int) -> Response:
    try:
        found, _ = partners.opted_in_signers(g.partner, slug, only=signature_id)
    except NotFound:
        found = []
    if not found:
        abort(404, description="No such signature among yours.")
    return hal(signature_resource(slug, found[0]))


def signature_resource(slug: str, signer: partners.Signer) -> dict[str, Any]:
    given, family = given_and_family(signer.name)
    person: dict[str, Any] = {
        "given_name": given,
        "family_name": family,
        "email_addresses": [{"address": signer.email, "primary": True}],
        "postal_addresses": [
            {"postal_code": signer.postcode, "country": signer.country, "primary": True}
        ],
        "languages_spoken": [signer.language],
    }
    referrer = {"source": signer.source}
    if signer.referrer_host:
        referrer["website"] = signer.referrer_host
    return {
        "identifiers": [f"{NAMESPACE}:{signer.id}"],
        "origin_system": "Refugees Welcome",
        "created_date": _date(signer.signed_at),
        "modified_date": _date(signer.updated_at),
        "action_date": _date(signer.signed_at),
        "confirmed_date": _date(signer.confirmed_at),
        "partner_consent_date": _date(signer.consented_at),
        "referrer_data": referrer,
        "_links": {
            "self": link("osdi.signature", slug=slug, signature_id=signer.id),
            "osdi:petition": link("osdi.petition", slug=slug),
        },
        "_embedded": {"osdi:person": person},
    }


def _date(value: datetime | str | None) -> str | None:
    """OSDI's datetimes, in UTC to the second: "2026-12-01T09:13:15Z"."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


@bp.post("/petitions/<slug>/signatures")
@bp.post("/petitions/<slug>/record_signature_helper")
def record_signature(slug: str) -> Any:
    """A signature the partner collected: OSDI's record signature helper (and a POST to the
    collection, as OSDI allows). The same rules as any signing: one signature per person
    however the address is spelled, and our confirmation email, unless the key is trusted.
    The answer is the same whether the person had signed before (it says nothing about them)."""
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("person"), dict):
        abort(400, description="Send a JSON object with a person in it.")
    fields, subscribed, wrong = person_fields(body["person"])
    form = SignatureForm(fields)
    if not form.validate() or wrong:
        errors = {**form.error_messages(), **wrong}
        return hal({"error": {"code": "invalid", "errors": errors}}, 422)
    # Our emails to them speak their language where it is one we have: OSDI's
    # preferred_language first, then languages_spoken in order.
    spoken = body["person"].get("languages_spoken")
    tags = [body["person"].get("preferred_language"), *(spoken if isinstance(spoken, list) else [])]
    entry = replace(form.entry(), consent_partner=subscribed, language=i18n.first_we_speak(tags))
    referrer = body.get("referrer_data") if isinstance(body.get("referrer_data"), dict) else {}
    seen = attribution(
        {"utm_source": referrer.get("source"), "ref": referrer.get("website")},
        request.remote_addr,
        "partner",
    )
    try:
        signing.record_for_partner(g.partner, slug, entry, seen)
    except NotAllowed:
        abort(403, description="This key may read only: ask for a key that may write.")
    except NotFound:
        abort(404, description=f"There is no petition called {slug!r}.")
    except PetitionNotOpen:
        abort(409, description="This petition is not taking signatures.")
    status = "counted" if g.partner.trusted else "awaiting_confirmation"
    return hal(
        {
            "status": status,
            "message": "Recorded and counted: your key is trusted to confirm its signers."
            if g.partner.trusted
            else "Recorded: it counts once its signer presses the link we have emailed them.",
            "_links": {"osdi:petition": link("osdi.petition", slug=slug)},
        },
        202,
    )


def person_fields(person: dict[str, Any]) -> tuple[MultiDict[str, str], bool, dict[str, str]]:
    """An OSDI person as our sign form's fields, whether their email address is marked
    subscribed (their yes to the partner, asked by the partner itself), and the fields given
    as something other than text (a list for a name would have been kept as "['Ada']")."""
    wrong: dict[str, str] = {}

    def text(value: Any, field: str) -> str:
        if value is None or isinstance(value, str):
            return (value or "").strip()
        if field == "postcode" and type(value) is int:
            return str(value)  # a postal code sent as a number still reads rightly
        wrong[field] = "Must be text"
        return ""

    def first(items: Any) -> dict[str, Any]:
        found = (
            [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
        )
        primary = [item for item in found if item.get("primary")]
        return (primary or found or [{}])[0]

    email = first(person.get("email_addresses"))
    postal = first(person.get("postal_addresses"))
    name = " ".join(text(person.get(part), "name") for part in ("given_name", "family_name"))
    fields: MultiDict[str, str] = MultiDict(
        {
            "name": name.strip(),
            "email": text(email.get("address"), "email"),
            "postcode": text(postal.get("postal_code"), "postcode"),
            "country": text(postal.get("country") or person.get("country"), "country"),
            # A partner cannot answer "did you mean …?": the address stays as collected.
            "email_choice": "typed",
        }
    )
    return fields, email.get("status") == "subscribed", wrong
