"""The files every site is asked for: robots.txt, sitemap.xml, the favicon and security.txt."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, render_template, send_from_directory
from werkzeug.wrappers import Response

from petition import i18n
from petition.microcache import public_cache
from petition.models import utcnow
from petition.public import bp
from petition.services import articles
from petition.services.campaigns import campaign_overview
from petition.urls import site_path

# Kept out of search results: personal links, the staff side, frames meant for other sites,
# redirects and the pages that only make sense mid-journey.
NOT_FOR_CRAWLERS = (
    "/admin/",
    "/signatures/",
    "/embed/",
    "/go/",
    "/donate/thanks",
    "/petitions/*/thanks",
    "/api/",
)


@bp.get("/robots.txt")
@public_cache(3600)
def robots() -> Response:
    """The same paths kept out in every language (`/uk/signatures/…` is a personal link too)."""
    prefixes = ["", *(f"/{code}" for code in i18n.LANGUAGES if code != i18n.DEFAULT)]
    paths = [prefix + path for prefix in prefixes for path in NOT_FOR_CRAWLERS]
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in paths)]
    lines.append(f"Sitemap: {current_app.config['PUBLIC_URL']}/sitemap.xml")
    return Response("\n".join(lines) + "\n", mimetype="text/plain")


@bp.get("/sitemap.xml")
@public_cache(300)
def sitemap() -> Response:
    """The campaign, its petitions and its published stories, for search engines: each page in
    every language, with its other languages named (hreflang), as the pages name them."""
    pages = [
        (site_path("public.home"), None),
        *(
            (site_path("public.petition", slug=p["slug"]), None)
            for p in campaign_overview()["petitions"]
        ),
        (site_path("public.article_list"), None),
        *(
            (site_path("public.article", slug=story["slug"]), story["published_on"])
            for story in articles.published()
        ),
    ]
    root = current_app.config["PUBLIC_URL"]
    languages = [
        (language.tag, root + ("" if code == i18n.DEFAULT else f"/{code}"))
        for code, language in i18n.LANGUAGES.items()
    ]
    xml = render_template("public/sitemap.xml", pages=pages, languages=languages, default=root)
    return Response(xml, mimetype="application/xml")


@bp.get("/favicon.ico")
@public_cache(7 * 24 * 3600)
def favicon() -> Response:
    # Browsers ask for this on every site, whatever the page's <link rel="icon"> says.
    return send_from_directory(current_app.static_folder or "", "favicon.ico", max_age=None)


# RFC 9116 wants Expires under a year ahead, so that stale contacts are not trusted forever.
SECURITY_TXT_LIFETIME = timedelta(days=180)


@bp.get("/.well-known/security.txt")
@public_cache(3600)
def security_txt() -> Response:
    """Where to report a security problem (RFC 9116): SECURITY_CONTACT, or nothing."""
    contacts = current_app.config["SECURITY_CONTACT"]
    if not contacts:
        abort(404)
    expires = (utcnow() + SECURITY_TXT_LIFETIME).replace(hour=0, minute=0, second=0, microsecond=0)
    lines = [
        f"# {current_app.config['ORGANISATION_NAME']}: how to tell us of a security problem.",
        *(f"Contact: {contact}" for contact in contacts),
        f"Expires: {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"Preferred-Languages: {', '.join(i18n.LANGUAGES)}",
        f"Canonical: {current_app.config['PUBLIC_URL']}/.well-known/security.txt",
    ]
    return Response("\n".join(lines) + "\n", mimetype="text/plain")
