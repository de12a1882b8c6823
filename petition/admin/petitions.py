"""Petitions and the campaign's copy; the signature export lives here too."""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from petition.admin import bp
from petition.admin.access import actor, admin_only
from petition.admin.downloads import csv_download
from petition.admin.forms import (
    ActionForm,
    CampaignForm,
    ExportForm,
    FundraiserForm,
    NewsForm,
    PetitionForm,
    PictureForm,
    attach_errors,
)
from petition.services import exports, fundraiser, images, mailings, petitions
from petition.services.dashboard import petition_overview, wanting_updates
from petition.services.errors import InvalidInput, NotFound


def petition_or_404(slug: str) -> Any:
    try:
        return petitions.get(slug)
    except NotFound:
        abort(404)


@bp.get("/petitions")
def petition_list() -> str:
    return render_template(
        "admin/petitions.html", petitions=petition_overview(), action=ActionForm()
    )


@bp.route("/petitions/new", methods=["GET", "POST"])
def petition_new() -> Any:
    form = PetitionForm()
    if form.validate_on_submit():
        try:
            petition = petitions.create(form.draft(), actor())
        except InvalidInput as exc:
            attach_errors(form, exc)
        else:
            flash(f"Petition “{petition.title}” created as a draft. Open it when it is ready.")
            return redirect(url_for("admin.petition_edit", slug=petition.slug), 303)
    return render_template(
        "admin/petition_form.html", form=form, petition=None
    ), 422 if form.errors else 200


@bp.route("/petitions/<slug>", methods=["GET", "POST"])
def petition_edit(slug: str) -> Any:
    petition = petition_or_404(slug)
    form = PetitionForm()
    if request.method == "GET":
        form.show(petition)
    if form.validate_on_submit():
        try:
            petitions.update(slug, form.draft(), actor())
        except InvalidInput as exc:
            attach_errors(form, exc)
        else:
            flash("Saved.")
            return redirect(url_for("admin.petition_edit", slug=slug), 303)
    return edit_page(petition, form)


@bp.post("/petitions/<slug>/picture")
def petition_picture(slug: str) -> Any:
    """Upload the hero picture (or change its description). Pictures are larger than any
    other form, so this one request may be as large as an upload can be."""
    request.max_content_length = images.MAX_UPLOAD_BYTES + 64 * 1024
    petition = petition_or_404(slug)
    picture = PictureForm()
    if picture.validate_on_submit():
        try:
            petitions.set_picture(
                slug,
                picture.upload(),
                picture.alt.data or "",
                actor(),
                picture.in_other_languages("alt"),
            )
        except InvalidInput as exc:
            attach_errors(picture, exc)
        else:
            flash("Picture saved: it shows on the petition page now.")
            return redirect(url_for("admin.petition_edit", slug=slug, _anchor="picture-title"), 303)
    return edit_page(petition, picture=picture)


@bp.post("/petitions/<slug>/picture/remove")
def petition_picture_remove(slug: str) -> BaseResponse:
    petition_or_404(slug)
    if ActionForm().validate_on_submit():
        petitions.remove_picture(slug, actor())
        flash("Picture removed from the petition page.")
    return redirect(url_for("admin.petition_edit", slug=slug), 303)


def edit_page(
    petition: Any,
    form: PetitionForm | None = None,
    news: NewsForm | None = None,
    picture: PictureForm | None = None,
) -> tuple[str, int]:
    """The petition's page in the admin, its forms filled from the petition except the one
    just sent (shown with its errors)."""
    if form is None:
        form = PetitionForm(formdata=None)
        form.show(petition)
    news = news or NewsForm(formdata=None)
    if picture is None:
        picture = PictureForm(formdata=None)
        picture.show(petition)
    return render_template(
        "admin/petition_form.html",
        form=form,
        petition=petition,
        news=news,
        picture=picture,
        renditions=images.renditions(petition.image_id),
        wanting_updates=wanting_updates(petition.id),
        progress={
            item.id: mailings.progress(item.mailing) for item in petition.news if item.mailing
        },
        action=ActionForm(),
        export=ExportForm(formdata=None),
    ), 422 if form.errors or news.errors or picture.errors else 200


@bp.post("/petitions/<slug>/open")
def petition_open(slug: str) -> BaseResponse:
    petition_or_404(slug)
    if ActionForm().validate_on_submit():
        petitions.open_petition(slug, actor())
        flash("The petition is open: readers can sign it now.")
    return redirect(url_for("admin.petition_edit", slug=slug), 303)


@bp.get("/petitions/<slug>/close")
def petition_close_confirm(slug: str) -> Any:
    """Before signing stops: what closing means, and the button that does it."""
    petition = petition_or_404(slug)
    grace = current_app.config["CONFIRM_GRACE_HOURS"]
    return render_template(
        "admin/petition_close.html", petition=petition, grace=grace, action=ActionForm()
    )


@bp.post("/petitions/<slug>/close")
def petition_close(slug: str) -> BaseResponse:
    petition_or_404(slug)
    if ActionForm().validate_on_submit():
        petitions.close_petition(slug, actor())
        flash("The petition is closed. Signatures made before now can be confirmed for 24 hours.")
    return redirect(url_for("admin.petition_edit", slug=slug), 303)


@bp.get("/petitions/<slug>/signatures.csv")
@admin_only
def petition_export(slug: str) -> Response:
    form = ExportForm(request.args)
    if not form.validate():
        abort(400, description="; ".join(f"{k}: {v[0]}" for k, v in form.errors.items()))
    try:
        export = exports.start_export(slug, form.export_filter(), actor())
    except NotFound:
        abort(404)
    return csv_download(export)


@bp.route("/campaign", methods=["GET", "POST"])
def campaign_edit() -> Any:
    campaign = petitions.current_campaign()
    form = CampaignForm(obj=campaign)
    if request.method == "GET":
        form.show_translations(campaign.translations)
    if form.validate_on_submit():
        petitions.update_campaign(form.copy(), actor())
        flash("Campaign copy saved.")
        return redirect(url_for("admin.campaign_edit"), 303)
    return _campaign_page(campaign, form, FundraiserForm(obj=campaign))


def _campaign_page(campaign: Any, form: CampaignForm, money: FundraiserForm) -> tuple[str, int]:
    return render_template(
        "admin/campaign_form.html",
        form=form,
        money=money,
        current_fundraiser=campaign.gofundme_url,
        allowed_hosts=sorted(current_app.config["FUNDRAISER_HOSTS"]),
    ), 422 if form.errors or money.errors else 200


@bp.post("/campaign/fundraiser")
@admin_only
def campaign_fundraiser() -> Any:
    """Where every donate link leads: an admin's decision alone, checked and audited."""
    campaign = petitions.current_campaign()
    money = FundraiserForm()
    if money.validate_on_submit():
        try:
            fundraiser.set_fundraiser(money.gofundme_url.data, actor())
        except InvalidInput as exc:
            attach_errors(money, exc)
        else:
            flash("Fundraiser saved: every donate link leads there now.")
            return redirect(url_for("admin.campaign_edit"), 303)
    return _campaign_page(campaign, CampaignForm(formdata=None, obj=campaign), money)
