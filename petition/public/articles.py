"""Article pages: the campaign's stories, each ending in the petition and the donate ask."""

from __future__ import annotations

from typing import Any

from flask import abort, make_response, render_template, request

from petition.forms import SignatureForm
from petition.microcache import public_cache
from petition.public import bp
from petition.security import form_tokens
from petition.services import article_stats, articles, consent
from petition.services.campaigns import campaign_overview, petition_snapshot
from petition.services.errors import NotFound

UTM = ("utm_source", "utm_medium", "utm_campaign")


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


def render_article(story: dict[str, Any], preview: bool = False) -> str:
    petition = None
    if story["petition_slug"]:
        try:
            petition = petition_snapshot(story["petition_slug"])
        except NotFound:
            petition = None
    form = SignatureForm()
    if petition:
        form.form_token.data = form_tokens.issue("sign", petition["slug"])
    hidden = {"source": articles.source_for(story["slug"])}
    hidden.update({k: request.args[k][:100] for k in UTM if request.args.get(k)})
    return render_template(
        "public/article.html",
        article=story,
        petition=petition,
        campaign=campaign_overview(),
        form=form,
        hidden=hidden,
        consent=consent.consent_text(),
        preview=preview,
    )
