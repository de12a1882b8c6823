"""WCAG 2.2 A and AA on every page and state of the staff side, on a phone and a desktop: staff
use screen readers and phones too (tests/a11y.py says what is checked)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from petition.mail import deliver_due
from tests.a11y import ARTICLE, WIDTHS, audit, page_rules, post_some_news
from tests.factories import ADMIN_PASSWORD, SLUG, confirmed_signatures, make_admin, sign, signer
from tests.parts import LiveServer

pytestmark = pytest.mark.browser


ADMIN_PAGES = {
    "dashboard": "/admin/",
    "petitions": "/admin/petitions",
    "petition form": f"/admin/petitions/{SLUG}",
    "new petition": "/admin/petitions/new",
    "campaign": "/admin/campaign",
    "articles": "/admin/articles",
    "article form": f"/admin/articles/{ARTICLE.rsplit('/', 1)[1]}",
    "article preview": f"/admin/articles/{ARTICLE.rsplit('/', 1)[1]}/preview",
    "closing a petition": f"/admin/petitions/{SLUG}/close",
    "signatures found": "/admin/signatures?domain=example.org",
    "signature search errors": "/admin/signatures?ip=not-an-address",
    "donations": "/admin/donations",
    "mail": "/admin/mail",
    "email news, asking first": f"/admin/petitions/{SLUG}/news/1/email",
    "privacy request": "/admin/privacy?email=reader%40example.org",
    "audit log": "/admin/audit",
    "your account": "/admin/account",
    "two-step setup": "/admin/account/two-step",
    "team": "/admin/team",
    "partners": "/admin/partners",
}


def add_a_partner() -> None:
    from petition.extensions import db
    from petition.services import partners, webhooks
    from petition.services.audit import Actor

    who = Actor("test")
    partner = partners.create(
        "refugee-action", "Refugee Action", who, question="Refugee Action may email me."
    )
    partners.issue_key("refugee-action", who, can_write=True)
    partners.add_webhook("refugee-action", "https://crm.example.org/hooks/petition", who)
    webhooks.enqueue(partner.id, "petition.milestone", {"petition": SLUG, "threshold": 100})
    db.session.commit()


def admin_states(page: Any, server: LiveServer) -> Iterator[str]:
    """Every admin page and state, reached in turn by one signed-in page: yields its name."""
    import pyotp

    for name, path in ADMIN_PAGES.items():
        page.goto(server.url + path)
        yield name
    # Two-step verification on; then signing out and in again to meet the code page.
    page.goto(f"{server.url}/admin/account/two-step")
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.get_by_label("Your password").fill(ADMIN_PASSWORD)
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-step verification").click()
    page.wait_for_selector("text=Two-step verification is on")
    yield "your account, two-step on"
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email").fill("admin@example.org")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/admin/login/code")
    yield "sign-in code"
    page.get_by_label("Code").fill("12")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector(".error-summary")
    yield "sign-in code with errors"


@pytest.mark.parametrize("width", WIDTHS)
def test_every_admin_page_has_no_wcag_violations(site, browser, axe, artifacts, mailbox, width):
    """Staff use screen readers and phones too: the admin side meets the same bar."""
    app, server = site
    client = app.test_client()
    with app.app_context():
        make_admin()
        # Wanting updates: the petition form offers to email its news to this reader.
        confirmed_signatures(app, client, [signer(email="reader@example.org", consent_updates="y")])
        post_some_news()  # the petition form lists it, with a button to remove it
        add_a_partner()  # with a key, a webhook endpoint and a delivery in its log
    # A relay refusing us: the mail page says why mail waits, in the relay's (long) words.
    mailbox.refuse["refused@example.org"] = (
        "554 5.7.1 <refused@example.org>: Relay access denied; "
        "see https://relay.example/help/relay-access-denied-for-unauthenticated-senders"
    )
    app.config.update(MAIL_RETRY_BASE_SECONDS=300, MAIL_RETRY_MAX_SECONDS=300)  # as deployed
    sign(client, email="refused@example.org")
    with app.app_context():
        assert deliver_due().deferred == 1
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{server.url}/admin/login")
    page.get_by_label("Email").fill("admin@example.org")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/admin/")
    failures: dict[str, Any] = {}
    try:
        for name in admin_states(page, server):
            violations = audit(page, axe)
            if violations:
                failures[name] = violations
            failures.update(page_rules(page, name, tables_fit=False))
            if name == "dashboard" and bar_colours(page) != [BRAND, TRACK]:
                failures[name] = [{"id": "bar-colours", "help": str(bar_colours(page))}]
            if name in failures:
                page.screenshot(
                    path=str(artifacts / f"a11y-admin-{width}-{name.replace(' ', '-')}.png"),
                    full_page=True,
                )
    finally:
        context.close()
    assert not failures, failures


BRAND, TRACK = (11, 61, 145), (219, 228, 243)  # --brand and --track in site.css


def bar_colours(page: Any) -> list[tuple[int, ...]]:
    """The colours of the dashboard's bar to the goal, filled halfway: a quarter of the way
    along (the count), and three quarters (the track)."""
    from io import BytesIO

    from PIL import Image

    bar = page.locator("svg.tally__bar").first
    bar.evaluate(
        """el => {
            el.querySelector("[data-bar-done]").setAttribute("width", 500);
            el.querySelector("[data-bar-pending]").setAttribute("width", 0);
        }"""
    )
    shot = Image.open(BytesIO(bar.screenshot(animations="disabled"))).convert("RGB")
    middle = shot.height // 2
    return [shot.getpixel((shot.width * x // 4, middle)) for x in (1, 3)]
