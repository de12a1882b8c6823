"""The files every site is asked for: robots.txt, sitemap.xml and the favicon."""

from __future__ import annotations

from flask import current_app, render_template, send_from_directory
from werkzeug.wrappers import Response

from petition.microcache import public_cache
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
