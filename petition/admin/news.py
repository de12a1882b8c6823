"""News on a petition's page, and emailing it to the signers who want updates."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from petition.admin import bp
from petition.admin.access import actor, admin_only
from petition.admin.forms import ActionForm, NewsForm
from petition.admin.petitions import edit_page, petition_or_404
from petition.services import mailings, petitions
from petition.services.errors import InvalidInput, NotFound


def _back(slug: str) -> BaseResponse:
    return redirect(url_for("admin.petition_edit", slug=slug, _anchor="petition-news"), 303)


@bp.post("/petitions/<slug>/news")
def petition_news_post(slug: str) -> Any:
    petition = petition_or_404(slug)
    news = NewsForm()
    if not news.validate_on_submit():
        return edit_page(petition, news=news)
    petitions.post_news(slug, news.draft(), actor())
    flash("News posted: it is on the petition page now.")
    return _back(slug)


@bp.post("/petitions/<slug>/news/<int:news_id>/remove")
def petition_news_remove(slug: str, news_id: int) -> BaseResponse:
    if ActionForm().validate_on_submit():
        try:
            petitions.remove_news(slug, news_id, actor())
        except NotFound:
            abort(404)
        flash("News removed from the petition page. Anything of it still queued is not emailed.")
    return _back(slug)


@bp.get("/petitions/<slug>/news/<int:news_id>/email")
@admin_only
def petition_news_email_confirm(slug: str, news_id: int) -> Any:
    """Before anything goes: how many people it will reach, and a test to yourself first."""
    try:
        plan = mailings.plan(slug, news_id)
    except NotFound:
        abort(404)
    except InvalidInput as exc:
        flash(" ".join(exc.errors.values()), "error")
        return _back(slug)
    return render_template("admin/news_email.html", plan=plan, action=ActionForm())


@bp.post("/petitions/<slug>/news/<int:news_id>/email")
@admin_only
def petition_news_email(slug: str, news_id: int) -> BaseResponse:
    if ActionForm().validate_on_submit():
        try:
            recipients = mailings.start(slug, news_id, actor())
        except NotFound:
            abort(404)
        except InvalidInput as exc:
            flash(" ".join(exc.errors.values()), "error")
        else:
            flash(
                f"Emailing the news to {recipients:,} signer(s) who want updates. It goes out "
                "over the next while, after any confirmations waiting; this page shows progress."
            )
    return _back(slug)


@bp.post("/petitions/<slug>/news/<int:news_id>/email/test")
@admin_only
def petition_news_email_test(slug: str, news_id: int) -> BaseResponse:
    if ActionForm().validate_on_submit():
        try:
            mailings.send_test(slug, news_id, actor(), current_user.email)
        except NotFound:
            abort(404)
        flash(f"A test is on its way to {current_user.email}.")
    return redirect(url_for("admin.petition_news_email_confirm", slug=slug, news_id=news_id), 303)


@bp.post("/petitions/<slug>/news/<int:news_id>/email/stop")
@admin_only
def petition_news_email_stop(slug: str, news_id: int) -> BaseResponse:
    if ActionForm().validate_on_submit():
        try:
            held_back = mailings.stop(slug, news_id, actor())
        except NotFound:
            abort(404)
        except InvalidInput as exc:
            flash(" ".join(exc.errors.values()), "error")
        else:
            flash(f"Mailing stopped: {held_back:,} email(s) still queued will not be sent.")
    return _back(slug)
