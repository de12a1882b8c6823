"""A story's page, as readers see it and as staff preview a draft of it (the public and admin
blueprints both show it, so it lives here, under both)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from petition.forms import SignatureForm
from petition.security import form_tokens
from petition.services import articles, consent
from petition.services.campaigns import campaign_overview, petition_snapshot
from petition.services.errors import NotFound

UTM = ("utm_source", "utm_medium", "utm_campaign")


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
