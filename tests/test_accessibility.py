"""WCAG 2.2 A and AA, checked by axe-core in Chromium on every page and state readers meet,
in English and Ukrainian, on a phone and a desktop (tests/a11y.py says what is checked)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from petition.mail import deliver_due
from petition.services.counting import flush_counts
from tests.a11y import ARTICLE, WIDTHS, audit, news_story, page_rules, post_some_news
from tests.factories import (
    SLUG,
    forget_cached,
    links_in,
    sign,
    signature_for,
)
from tests.fake_stripe import event, signed
from tests.parts import LiveServer, StaticSite

pytestmark = pytest.mark.browser


RESIZED = "(f => f && f.style.height !== '520px')(document.querySelector('iframe'))"


@pytest.fixture
def news(site) -> Iterator[StaticSite]:
    with StaticSite("localhost") as other_site:
        other_site.pages["/story"] = news_story(site[1])
        other_site.pages["/story-uk"] = news_story(site[1], lang="uk")
        yield other_site


def words_in(app: Any, code: str) -> Any:
    """What a message says in a language: labels and buttons are found by what readers see."""
    from flask_babel import force_locale, gettext

    def t(message: str) -> str:
        with app.test_request_context(), force_locale(code):
            return gettext(message)

    return t


def states(
    app: Any,
    server: LiveServer,
    news: StaticSite,
    mailbox: Any,
    fake_stripe: Any,
    language: str = "en",
) -> dict[str, Any]:
    """Every page and state in a language, as a name and a way to reach it in a page."""
    client = app.test_client()
    t = words_in(app, language)
    site = server.url + ("" if language == "en" else f"/{language}")

    def sign_and_link(kind: str, email: str, **fields: str) -> str:

        assert sign(client, email=email, **fields).status_code == 303
        with app.app_context():
            deliver_due()
        message = next(m for m in mailbox.wait_for(1) if email in str(m["To"]))
        return site + links_in(message)[kind]

    def donate_thanks(page: Any) -> None:
        page.goto(f"{site}/donate")
        page.get_by_role("button", name="£10").click()
        session = fake_stripe.sessions[sorted(fake_stripe.sessions)[-1]]
        body, header = signed(
            event("checkout.session.completed", {**session, "payment_status": "paid"})
        )
        app.test_client().post("/stripe/webhook", data=body, headers={"Stripe-Signature": header})
        page.goto(f"{site}/donate/thanks?session_id={session['id']}")

    def form_with_errors(page: Any) -> None:
        page.goto(f"{site}/petitions/{SLUG}")
        page.get_by_label(t("Full name")).fill("=1")
        page.get_by_role("button", name=t("Sign the petition")).click()
        page.wait_for_selector(".error-summary")

    def confirmed(page: Any) -> None:
        page.goto(sign_and_link("confirm", f"confirmed{id(page)}@example.org"))
        page.get_by_role("button", name=t("Confirm my signature")).click()
        page.wait_for_selector("text=" + t("Thank you: your signature is counted"))

    def confirm_opened_again(page: Any) -> None:
        """The confirm link opened once it has been used: "already confirmed", and sharing."""
        link = sign_and_link("confirm", f"again{id(page)}@example.org")
        client.post(link.removeprefix(site))
        page.goto(link)
        page.wait_for_selector("text=" + t("You've already confirmed"))

    def counted(page: Any) -> None:
        """A confirmed signature, in the counts and in the pages showing them."""
        confirmed(page)
        with app.app_context():
            flush_counts()
            forget_cached()

    def petition_with_signers(page: Any) -> None:
        """The petition page once confirmed signers fill its count and where-they-live chart."""
        counted(page)
        # A new address: this browser already holds the page from before, cacheable for a while.
        page.goto(f"{site}/petitions/{SLUG}?utm_source=signers")
        page.wait_for_selector("text=" + t("Where signers live"))

    def integrity_with_its_chart(page: Any) -> None:
        """How the count is made, once there is a running total to draw and digests to list."""
        from petition.services import digests

        counted(page)
        with app.app_context():
            digests.publish_due(every=timedelta(0))
            forget_cached()
        page.goto(f"{site}/petitions/{SLUG}/integrity?utm_source=chart")
        page.wait_for_selector("figure.chart svg")

    def petition_with_news(page: Any) -> None:
        with app.app_context():
            post_some_news()
            forget_cached()
        page.goto(f"{site}/petitions/{SLUG}?utm_source=news")
        page.wait_for_selector("text=" + t("Latest news"))

    def withdrawn(page: Any) -> None:
        page.goto(sign_and_link("withdraw", f"withdrawn{id(page)}@example.org"))
        page.get_by_role("button", name=t("Withdraw my signature")).click()
        page.wait_for_selector("text=" + t("Your signature has been withdrawn"))

    def keen_signer(email: str) -> str:
        """Sign asking for updates and confirm (consent counts once the owner confirms)."""
        withdraw_link = sign_and_link("withdraw", email, consent_updates="y")
        confirm = next(m for m in mailbox.messages if email in str(m["To"]))
        client.post(links_in(confirm)["confirm"])
        return withdraw_link

    def withdraw(page: Any) -> None:
        """The withdraw page of a signer who asked for updates: it offers to stop just those."""
        page.goto(keen_signer(f"withdraw{id(page)}@example.org"))

    def stop_link(page: Any) -> None:
        """The page behind the stop link in an update email."""
        from petition.security.stop_links import stop_token

        email = f"stop{id(page)}@example.org"
        keen_signer(email)
        with app.app_context():
            token = stop_token(signature_for(email).id)
        page.goto(f"{site}/signatures/stop-updates/{token}")

    def updates_stopped(page: Any) -> None:
        withdraw(page)
        page.get_by_role("button", name=t("Stop campaign updates")).click()
        page.wait_for_selector("text=" + t("We will send you no more campaign updates"))

    def confirm_with_errors(page: Any) -> None:
        page.goto(sign_and_link("confirm", f"fix{id(page)}@example.org"))
        page.get_by_label(t("Full name")).fill("")
        page.get_by_role("button", name=t("Confirm my signature")).click()
        page.wait_for_selector(".error-summary")

    def privacy_request_errors(page: Any) -> None:
        page.goto(f"{site}/privacy/me")
        page.get_by_label(t("Email address")).fill("not an address")
        page.get_by_role("button", name=t("Email me a link")).click()
        page.wait_for_selector(".error-summary")

    def own_data_link(email: str) -> str:
        from petition.services import privacy

        keen_signer(email)
        with app.test_request_context():
            return privacy.link_token(privacy.Person.by_address(email))

    readers = iter(range(1000))

    def own_data_page(page: Any) -> None:
        page.goto(f"{site}/privacy/me/{own_data_link(f'mine{next(readers)}@example.org')}")

    def own_data_copy(page: Any) -> None:
        own_data_page(page)
        page.get_by_role("button", name=t("Show it as a page")).click()
        page.wait_for_selector(f"h1:has-text('{t('A copy of your data')}')")

    def own_data_erased(page: Any) -> None:
        own_data_page(page)
        page.get_by_label(t("I understand this cannot be undone")).check()
        page.get_by_role("button", name=t("Erase my data")).click()
        page.wait_for_selector("text=" + t("Your data is erased"))

    def donate_errors(page: Any) -> None:
        page.goto(f"{site}/donate")
        page.get_by_label(t("Or give another amount, in pounds")).fill("abc")
        page.get_by_role("button", name=t("Continue to secure payment")).click()
        page.wait_for_selector(".error-summary")

    def widget_on_a_news_page(page: Any) -> None:
        page.goto(f"{news.url}/story" + ("" if language == "en" else f"-{language}"))
        page.wait_for_function(RESIZED)

    simple = {
        "home": "/",
        "petition": f"/petitions/{SLUG}",
        "thanks": f"/petitions/{SLUG}/thanks",
        "donate": "/donate",
        "articles": "/articles",
        "article": ARTICLE,
        "widget page": f"/embed/petitions/{SLUG}",
        "embed code for partners": f"/petitions/{SLUG}/embed",
        "admin login": "/admin/login",
        "privacy": "/privacy",
        "your data: ask for a link": "/privacy/me",
        "your data: link sent": "/privacy/me/sent",
        "accessibility": "/accessibility",
        "how the count is made": f"/petitions/{SLUG}/integrity",
        "check a receipt": "/verify",
        "link not valid": "/signatures/confirm/not-a-token",
        "not found": "/no-such-page",
    }
    if language != "en":
        del simple["admin login"]  # staff work in English
    reached: dict[str, Any] = {
        name: (lambda p, path=path: p.goto(site + path)) for name, path in simple.items()
    }
    reached.update(
        {
            "form with errors": form_with_errors,
            "confirm": lambda p: p.goto(sign_and_link("confirm", f"confirm{id(p)}@example.org")),
            "confirm with errors": confirm_with_errors,
            "confirmed": confirmed,
            "confirm link opened again": confirm_opened_again,
            "your data: errors": privacy_request_errors,
            "your data: own page": own_data_page,
            "your data: a copy": own_data_copy,
            "your data: erased": own_data_erased,
            "petition with signers": petition_with_signers,
            "how the count is made, with its chart": integrity_with_its_chart,
            "petition with news": petition_with_news,
            "withdraw": withdraw,
            "updates stopped": updates_stopped,
            "stop link from an update email": stop_link,
            "withdrawn": withdrawn,
            "donate with errors": donate_errors,
            "donate thanks": donate_thanks,
            "widget on a news page": widget_on_a_news_page,
        }
    )
    return reached


@pytest.mark.parametrize("language", ["en", "uk"])
@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_and_state_has_no_wcag_violations(
    site, news, browser, axe, mailbox, fake_stripe, artifacts, width, language
):
    app, server = site
    reach = states(app, server, news, mailbox, fake_stripe, language)
    failures = {}
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    try:
        for name, go in reach.items():
            page = context.new_page()
            go(page)
            violations = audit(page, axe)
            if violations:
                failures[name] = violations
                page.screenshot(
                    path=str(artifacts / f"a11y-{language}-{width}-{name.replace(' ', '-')}.png"),
                    full_page=True,
                )
            failures.update(page_rules(page, name, one_h1=name != "widget on a news page"))
            # Every page in the language asked for; on a news page, the widget in the page's.
            document = page.frames[-1] if name == "widget on a news page" else page
            spoken = document.evaluate("() => document.documentElement.lang")
            if spoken != ("en-GB" if language == "en" else language):
                failures.setdefault(name, []).append({"id": "lang", "help": f"lang={spoken}"})
            page.close()
    finally:
        context.close()
    assert not failures, failures


def test_the_audit_finds_violations_when_there_are_some(browser, axe):
    """The harness itself: a page with known faults must fail it."""
    page = browser.new_page()
    page.set_content(
        '<html><body><img src="x.png"><input type="text">'
        '<p style="color:#bbb;background:#fff">faint</p></body></html>'
    )
    found = {v["id"] for v in audit(page, axe)}
    assert {"image-alt", "label", "color-contrast", "html-has-lang"} <= found
    page.close()
