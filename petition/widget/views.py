from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import abort, current_app, render_template, request
from werkzeug.wrappers import Response

from petition import i18n
from petition.forms import HOST, PARTNER, SignatureForm, attribution
from petition.i18n import gettext
from petition.json_responses import public_json
from petition.microcache import public_cache
from petition.ratelimits import sign_limit
from petition.security import form_tokens
from petition.security.form_tokens import TokenCheck
from petition.security.origin import embed_origins, origin_of
from petition.services import consent, partners, signing
from petition.services.campaigns import petition_snapshot
from petition.services.errors import NotFound, PetitionNotOpen
from petition.urls import external_url
from petition.widget import bp

SIGN = "sign"
PETITION_PATH = re.compile(r"^/(?:embed/)?petitions/([a-z0-9]+(?:-[a-z0-9]+)*)/?$")


def host_page() -> dict[str, str]:
    """What the widget knows of the page it sits on: from `ref`, the host page's address; and
    whose widget it is (a partner's snippet has data-partner, its oEmbed address ?partner=)."""
    partner = request.values.get("partner", "")
    theirs = {"partner": partner} if PARTNER.match(partner) else {}
    ref = request.values.get("ref", "")[:2000]
    parts = urlsplit(ref)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not HOST.match(host):
        return theirs
    fields = {"source": f"widget:{host}"[:120], "ref": host, **theirs}
    # Campaign tags of the host page's address, or given to the frame itself (by oEmbed).
    tags = {**request.args, **dict(parse_qsl(parts.query))}
    for key in ("utm_source", "utm_medium", "utm_campaign"):
        if tags.get(key):
            fields[key] = tags[key][:100]
    origin = origin_of(ref)
    allowed = embed_origins()
    if "*" in allowed or origin in allowed:
        fields["parent_origin"] = origin
    return fields


def render_widget(
    slug: str, form: SignatureForm | None = None, state: str = "form", status: int = 200
) -> Any:
    try:
        petition = petition_snapshot(slug)
    except NotFound:
        abort(404)
    form = form or SignatureForm()
    form.form_token.data = form_tokens.issue(SIGN, slug)
    html = render_template(
        "widget/petition.html",
        petition=petition,
        form=form,
        host=host_page(),
        consent=consent.consent_text(),
        partner=partners.offer(request.values.get("partner")),
        state=state,
    )
    return html, status


@bp.get("/embed/petitions/<slug>")
@public_cache(30, stale=120)
def petition(slug: str) -> Any:
    return render_widget(slug)


@bp.post("/embed/petitions/<slug>/sign")
@sign_limit
def sign(slug: str) -> Any:
    """The widget without JavaScript: a plain form post, answered with the widget itself."""
    token_state = form_tokens.guard(
        SIGN, slug, request.form.get("form_token"), extra=embed_origins(), allow_null=True
    )
    form = SignatureForm(request.form)
    if token_state is TokenCheck.EXPIRED or not form.validate():
        return render_widget(slug, form, status=422 if form.errors else 400)
    if not form.is_bot():
        try:
            signing.sign_petition(
                slug, form.entry(), attribution(request.form, request.remote_addr, "widget")
            )
        except PetitionNotOpen:
            return render_widget(slug, form, status=409)
        except NotFound:
            abort(404)
    return render_widget(slug, state="thanks")


@bp.get("/embed.js")
def loader() -> Response:
    """The loader news pages include: tiny, dependency-free and cacheable."""
    titles = {}
    for code in i18n.LANGUAGES:
        with i18n.speaking(code):
            titles[code] = gettext("Sign the petition")
    body = render_template(
        "widget/embed.js", origin=current_app.config["PUBLIC_URL"], titles=titles
    )
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=300, stale-while-revalidate=3600"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    return response.make_conditional(request)


OEMBED_WIDTH, OEMBED_HEIGHT = 560, 600


@bp.get("/oembed")
def oembed() -> Any:
    """oEmbed (type "rich") for our petition pages, so CMSs embed the widget from a link."""
    if request.args.get("format", "json") != "json":
        # As the oEmbed specification asks of a format the provider does not offer.
        abort(501, description="Only format=json is offered.")
    try:
        max_width = int(request.args.get("maxwidth", OEMBED_WIDTH))
        max_height = int(request.args.get("maxheight", OEMBED_HEIGHT))
    except ValueError:
        abort(400, description="maxwidth and maxheight must be whole numbers.")
    pasted = request.args.get("url", "")
    slug = _petition_slug(pasted)
    # The widget's language: `lang=`, or the pasted page's own (/uk/petitions/…), or English.
    lang = request.args.get("lang", "")
    if lang not in i18n.LANGUAGES:
        lang = i18n.language_in(pasted)
    try:
        with i18n.speaking(lang):
            petition = petition_snapshot(slug) if slug else None
    except NotFound:
        petition = None
    if petition is None:
        abort(404, description="That address is not one of our petitions.")
    width, height = max(200, min(max_width, OEMBED_WIDTH)), max(250, min(max_height, OEMBED_HEIGHT))
    # The host page's attribution, from the address the editor pasted (the frame itself, in a
    # sandbox, cannot tell where it is).
    src = external_url("widget.petition", slug=slug, _language=lang, **_attribution_in(pasted))
    with i18n.speaking(lang):
        html = render_template(
            "widget/oembed.html", src=src, width=width, height=height, title=petition["title"]
        )
    payload = {
        "version": "1.0",
        "type": "rich",
        "title": petition["title"],
        "provider_name": "Refugees Welcome",
        "provider_url": current_app.config["PUBLIC_URL"] + "/",
        "html": html.strip(),
        "width": width,
        "height": height,
        "cache_age": 3600,
    }
    return public_json(payload, max_age=3600)


def _attribution_in(url: str) -> dict[str, str]:
    """`ref` (the host page, or its host) and `utm_*` from a pasted petition address."""
    fields = {}
    for key, value in parse_qsl(urlsplit(url.strip()[:2000]).query):
        if key in ("ref", "utm_source", "utm_medium", "utm_campaign", "partner") and value:
            fields[key] = value[:300]
    if "ref" in fields and "://" not in fields["ref"]:
        fields["ref"] = f"https://{fields['ref']}/"
    return fields


def _petition_slug(url: str) -> str | None:
    """The slug in one of our petition or widget addresses, or None for anything else."""
    parts = urlsplit(url.strip()[:2000])
    ours = urlsplit(current_app.config["PUBLIC_URL"])
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != ours.netloc.lower():
        return None
    path = parts.path
    if ours.path and path.startswith(ours.path):
        path = path[len(ours.path) :]
    lang = i18n.language_in(url)
    if lang != i18n.DEFAULT:
        path = path[len(lang) + 1 :]
    match = PETITION_PATH.match(path)
    return match.group(1) if match else None
