"""Article pages: the campaign's stories, each ending in the petition and the donate ask."""

from __future__ import annotations

from typing import Any

from flask import abort, make_response, render_template

from petition.article_page import render_article
from petition.microcache import public_cache
from petition.public import bp
from petition.services import article_stats, articles
from petition.services.errors import NotFound


@bp.get("/articles")
@public_cache(60)
def article_list() -> str:
    return render_template("public/articles.html", articles=articles.published())


@bp.get("/articles/<slug>")
def article(slug: str) -> Any:
    try:
        story = articles.page(slug)
    except NotFound:
        abort(404)
    # Counted here, on our server, with nothing stored about the reader.
    article_stats.record_view(story["id"])
    response = make_response(render_article(story))
    # Every view reaches us (so it can be counted); caches may keep a copy and revalidate.
    response.headers["Cache-Control"] = "no-cache"
    return response
