from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for

from petition import i18n
from petition.extensions import cache
from petition.forms import ConfirmForm, SignatureForm, attribution
from petition.i18n import gettext as _
from petition.microcache import public_cache
from petition.models import TokenPurpose
from petition.public import bp
from petition.ratelimits import sign_limit
from petition.security import count_links, form_tokens, thanks_links
from petition.security.form_tokens import TokenCheck
from petition.security.origin import origin_allowed
from petition.services import consent, partners, signatures, signing
from petition.services.campaigns import campaign_overview, petition_snapshot
from petition.services.errors import ConfirmationClosed, LinkInvalid, NotFound, PetitionNotOpen

SIGN = "sign"


def _snapshot_or_404(slug: str) -> dict[str, Any]:
    try:
        return petition_snapshot(slug)
    except NotFound:
        abort(404)


@bp.get("/")
@public_cache(10)
def home() -> str:
    return render_template("public/home.html", campaign=campaign_overview())


@bp.get("/petitions/<slug>")
@public_cache(10)
def petition(slug: str) -> str:
    snapshot = _snapshot_or_404(slug)
    seen = count_links.seen_in(request.args.get("seen"), slug)
    if seen is None:
        return _render_petition(snapshot, SignatureForm())
    # Back from confirming or withdrawing: the count that reader made, if the stored one has
    # not caught up with it yet, and no sign form for someone who has just signed.
    counted_at = snapshot["counted_at"]
    if counted_at is None or datetime.fromisoformat(counted_at) < seen.at:
        snapshot = {**snapshot, "signature_count": seen.count, "pending_count": seen.pending}
    return _render_petition(snapshot, SignatureForm(), you_signed=seen.signed)


def _render_petition(
    snapshot: dict[str, Any],
    form: SignatureForm,
    status: int = 200,
    notice: str | None = None,
    you_signed: bool = False,
) -> Any:
    form.form_token.data = form_tokens.issue(SIGN, snapshot["slug"])
    source = request.form if request.method == "POST" else request.args
    replaces = source.get("replaces")
    html = render_template(
        "public/petition.html",
        petition=snapshot,
        form=form,
        hidden=_hidden_fields(source),
        # A correction whose form came back with a mistake goes on correcting.
        replaces=replaces if thanks_links.signed_in(replaces) else None,
        consent=consent.consent_text(),
        show_publicly=snapshot["show_recent_signers"] and consent.show_publicly_text(),
        partner=partners.offer(source.get("partner")),
        notice=notice,
        you_signed=you_signed,
    )
    return html, status


def _hidden_fields(source: Any) -> dict[str, str]:
    """Attribution carried from the link a reader followed into the form."""
    fields = ("source", "ref", "utm_source", "utm_medium", "utm_campaign", "partner")
    return {name: source[name][:120] for name in fields if source.get(name)}


@bp.post("/petitions/<slug>/sign")
@sign_limit
def sign(slug: str) -> Any:
    snapshot = _snapshot_or_404(slug)
    token_state = form_tokens.guard(SIGN, slug, request.form.get("form_token"))
    form = SignatureForm(request.form)
    if token_state is TokenCheck.EXPIRED:
        notice = _(
            "This page was open for a long time. Check your details and send the form again."
        )
        return _render_petition(snapshot, form, 400, notice)
    if not form.validate():
        return _render_petition(snapshot, form, 422)
    if form.is_bot():
        return redirect(url_for(".thanks", slug=slug), 303)
    try:
        signed = signing.sign_petition(
            slug,
            form.entry(),
            attribution(request.form, request.remote_addr, "petition"),
            replaces=thanks_links.signed_in(request.form.get("replaces")),
        )
    except PetitionNotOpen:
        return _render_petition(snapshot, form, 409, _("This petition is not taking signatures."))
    return redirect(url_for(".thanks", slug=slug, s=thanks_links.token_for(signed)), 303)


@bp.get("/petitions/<slug>/embed")
@public_cache(300)
def petition_embed(slug: str) -> str:
    """For partner sites: the code that puts this petition on their pages."""
    return render_template(
        "public/embed.html",
        petition=_snapshot_or_404(slug),
        partner=partners.offer(request.args.get("partner")),
    )


@bp.get("/petitions/<slug>/thanks")
def thanks(slug: str) -> Any:
    """After signing: where the email went (partly hidden), and a way to sign again at the
    right address, which replaces the signature just made. Only the signer's own link shows
    an address, so such a page is never stored by anyone; the plain page is public."""
    petition = _snapshot_or_404(slug)
    token = request.args.get("s")
    signed = thanks_links.signed_in(token)
    if signed is None:
        return public_cache(60)(render_template)("public/thanks.html", petition=petition)
    form = SignatureForm()
    form.form_token.data = form_tokens.issue(SIGN, slug)
    page = render_template(
        "public/thanks.html",
        petition=petition,
        shown_address=signed.shown_address,
        replaces=token,
        form=form,
        consent=consent.consent_text(),
        hidden={},
    )
    return page, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@bp.route("/signatures/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> Any:
    try:
        if request.method == "GET":
            # Mail scanners open links before people do: looking changes nothing.
            link = signatures.look_up_link(token, TokenPurpose.CONFIRM)
            return _confirm_page(link, token, _form_showing(link))
        # The secret in the link is the protection here; `null` comes from strict privacy modes.
        if not origin_allowed(allow_null=True):
            abort(403)
        form = ConfirmForm(request.form)
        if form.details_shown.data and not form.validate():
            link = signatures.look_up_link(token, TokenPurpose.CONFIRM)
            return _confirm_page(link, token, form, 422)
        link = signatures.confirm_signature(token, form.corrections())
    except LinkInvalid:
        return render_template("public/link_invalid.html"), 404
    except ConfirmationClosed as exc:
        return render_template("public/confirm_closed.html", title=str(exc)), 410
    page = _confirmed_page(_snapshot_or_404(link.petition_slug), link.changed)
    return page.replace(RECEIPT_SLOT, _receipt_block(link.receipt), 1)


# Where the signer's own receipt goes on the thank-you page (rendered for them alone).
RECEIPT_SLOT = "<!--receipt-->"
CODE_SLOT = "RECEIPT-CODE"


def _receipt_block(code: str | None) -> str:
    """The receipt on the thank-you page: rendered once per process, the code put in after
    (it is letters, digits and dashes only)."""
    if not code:
        return ""
    block = cache.get(
        f"receipt-block:v3:{i18n.current().code}",
        3600,
        lambda: render_template("public/_receipt.html", code=CODE_SLOT),
    )
    return block.replace(CODE_SLOT, code)


def _confirmed_page(petition: dict[str, Any], changed: bool) -> str:
    """The thank-you page, the same for everyone confirming this second (the only personal
    thing on it, the receipt, is put in its slot afterwards), so each process renders it about
    once a second however many confirm."""
    # Stored counts catch up within seconds; show the reader their own signature now, taken
    # out of those awaiting confirmation.
    count = petition["signature_count"] + (1 if changed else 0)
    pending = max(petition["pending_count"] - (1 if changed else 0), 0)
    return cache.get(
        f"confirmed-page:v3:{i18n.current().code}:{petition['slug']}:{count}:{pending}",
        current_app.config["COUNT_CACHE_SECONDS"],
        lambda: render_template(
            "public/confirmed.html",
            petition={**petition, "signature_count": count, "pending_count": pending},
            receipt_slot=RECEIPT_SLOT,
            back=count_links.seen_token(petition["slug"], count, pending, True),
        ),
    )


def _form_showing(link: signatures.SignatureLink) -> ConfirmForm:
    details = link.details
    if details is None:
        return ConfirmForm()
    return ConfirmForm(data=asdict(details))


def _confirm_page(
    link: signatures.SignatureLink, token: str, form: ConfirmForm, status: int = 200
) -> Any:
    petition = _snapshot_or_404(link.petition_slug)
    page = render_template(
        "public/confirm.html",
        link=link,
        token=token,
        form=form,
        petition=petition,
        consent=consent.consent_text(),
        show_publicly=petition["show_recent_signers"] and consent.show_publicly_text(),
    )
    return page, status


@bp.route("/signatures/withdraw/<token>", methods=["GET", "POST"])
def withdraw(token: str) -> Any:
    try:
        if request.method == "GET":
            link = signatures.look_up_link(token, TokenPurpose.WITHDRAW)
            return render_template("public/withdraw.html", link=link, token=token)
        if not origin_allowed(allow_null=True):
            abort(403)
        link = signatures.withdraw_signature(token)
    except LinkInvalid:
        return render_template("public/link_invalid.html"), 404
    petition = _snapshot_or_404(link.petition_slug)
    count = max(petition["signature_count"] - (1 if link.changed else 0), 0)
    back = count_links.seen_token(link.petition_slug, count, petition["pending_count"], False)
    return render_template("public/withdrawn.html", link=link, back=back)


@bp.post("/signatures/withdraw/<token>/updates")
def stop_updates(token: str) -> Any:
    """The withdraw link also stops campaign updates, keeping the signature."""
    if not origin_allowed(allow_null=True):
        abort(403)
    try:
        link = signatures.stop_updates(token)
    except LinkInvalid:
        return render_template("public/link_invalid.html"), 404
    return render_template("public/updates_stopped.html", link=link)


@bp.route("/signatures/stop-updates/<token>", methods=["GET", "POST"])
def stop_updates_link(token: str) -> Any:
    """The link in every update email: opening it asks, and the button stops them.

    Mail programs' "Unsubscribe" buttons POST here from their own servers (RFC 8058), with no
    page and no `Origin`: the signed link is the only authority needed, as for a withdrawal.
    """
    try:
        if request.method == "GET":
            link = signatures.look_up_stop_link(token)
            return render_template("public/stop_updates.html", link=link, token=token)
        one_click = request.form.get("List-Unsubscribe") == "One-Click"
        link = signatures.stop_updates_from_email(token, one_click=one_click)
    except LinkInvalid:
        return render_template("public/link_invalid.html"), 404
    return render_template("public/updates_stopped.html", link=link)


@bp.get("/accessibility")
@public_cache(3600)
def accessibility() -> str:
    return render_template(
        "public/accessibility.html", contact=parseaddr(current_app.config["MAIL_FROM"])[1]
    )
