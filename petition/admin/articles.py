"""Articles: write, preview, publish and unpublish (editors and admins)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from wtforms import SelectChoice

from petition.admin import bp
from petition.admin.access import actor
from petition.admin.forms import ActionForm, ArticleForm, attach_errors
from petition.article_page import render_article
from petition.services import articles
from petition.services.dashboard import petition_overview
from petition.services.errors import InvalidInput, NotFound


def _form(obj: Any = None) -> ArticleForm:
    form = ArticleForm(obj=obj)
    form.petition.choices = [SelectChoice("", "None")] + [
        SelectChoice(p.slug, p.title) for p in petition_overview()
    ]
    if request.method == "GET" and obj is not None:
        form.key_points.data = "\n".join(obj.key_points or [])
        form.petition.data = obj.petition.slug if obj.petition else ""
        form.show_translations(obj.translations)
    return form


def _article_or_404(slug: str) -> Any:
    try:
        return articles.get(slug)
    except NotFound:
        abort(404)


@bp.get("/articles")
def article_admin_list() -> str:
    return render_template("admin/articles.html", articles=articles.all_articles())


@bp.route("/articles/new", methods=["GET", "POST"])
def article_new() -> Any:
    form = _form()
    if form.validate_on_submit():
        try:
            article = articles.create(form.draft(), actor())
        except InvalidInput as exc:
            attach_errors(form, exc)
        else:
            flash("Article saved as a draft. Preview it, then publish.")
            return redirect(url_for("admin.article_edit", slug=article.slug), 303)
    return render_template(
        "admin/article_form.html", form=form, article=None
    ), 422 if form.errors else 200


@bp.route("/articles/<slug>", methods=["GET", "POST"])
def article_edit(slug: str) -> Any:
    article = _article_or_404(slug)
    form = _form(article)
    if form.validate_on_submit():
        try:
            articles.update(slug, form.draft(), actor())
        except InvalidInput as exc:
            attach_errors(form, exc)
        else:
            flash("Saved.")
            return redirect(url_for("admin.article_edit", slug=slug), 303)
    return render_template(
        "admin/article_form.html", form=form, article=article, action=ActionForm()
    ), 422 if form.errors else 200


@bp.get("/articles/<slug>/preview")
def article_preview(slug: str) -> str:
    _article_or_404(slug)
    return render_article(articles.page(slug, include_drafts=True), preview=True)


@bp.post("/articles/<slug>/publish")
def article_publish(slug: str) -> Any:
    return _set_published(slug, True)


@bp.post("/articles/<slug>/unpublish")
def article_unpublish(slug: str) -> Any:
    return _set_published(slug, False)


def _set_published(slug: str, publish: bool) -> Any:
    _article_or_404(slug)
    if ActionForm().validate_on_submit():
        articles.set_published(slug, publish, actor())
        flash(
            "Published: readers can see it now." if publish else "Unpublished: it is a draft again."
        )
    return redirect(url_for("admin.article_edit", slug=slug), 303)
