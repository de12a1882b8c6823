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
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in NOT_FOR_CRAWLERS)]
    lines.append(f"Sitemap: {current_app.config['PUBLIC_URL']}/sitemap.xml")
    return Response("\n".join(lines) + "\n", mimetype="text/plain")


@bp.get("/sitemap.xml")
@public_cache(300)
def sitemap() -> Response:
    """The campaign, its petitions and its published stories, for search engines."""
    xml = render_template(
        "public/sitemap.xml", campaign=campaign_overview(), stories=articles.published()
    )
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
