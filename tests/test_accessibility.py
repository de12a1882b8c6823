"""WCAG 2.2 A and AA, checked by axe-core in Chromium on every page and state readers meet,
and a reader who signs, confirms and donates with the keyboard alone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from petition.mail import deliver_due
from petition.services.counting import flush_counts
from tests.factories import (
    ADMIN_PASSWORD,
    SLUG,
    confirmed_signatures,
    forget_cached,
    links_in,
    make_admin,
    sign,
    signature_for,
    signer,
)
from tests.fake_stripe import event, signed
from tests.parts import LiveServer, StaticSite, axe_source

pytestmark = pytest.mark.browser

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
WIDTHS = [320, 1280]
ARTICLE = "/articles/krasnodar-riot-police-sue-over-dismissal"


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


@pytest.fixture
def site(stripe_app, fake_stripe, mailbox) -> Iterator[tuple[Any, LiveServer]]:
    with LiveServer(stripe_app) as server:
        stripe_app.config["PUBLIC_URL"] = server.url
        yield stripe_app, server


def audit(page: Any, axe: str) -> list[dict[str, Any]]:
    """Run axe-core in the page and every frame in it; return the violations."""
    for frame in page.frames:
        frame.evaluate(axe)
    result = page.evaluate(
        """async (tags) => {
            const options = {runOnly: {type: "tag", values: tags}, iframes: true};
            const r = await axe.run(document, options);
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}));
        }""",
        WCAG,
    )
    return result


RESIZED = "(f => f && f.style.height !== '520px')(document.querySelector('iframe'))"


def news_story(server: LiveServer, before: str = "", after: str = "", lang: str = "en") -> str:
    """A news site's page with our snippet on it (which speaks the page's language)."""
    title = "Новини" if lang == "uk" else "News"
    return (
        f'<!doctype html><html lang="{lang}"><head><title>{title}</title></head><body><main>'
        f'<h1>{title}</h1>{before}<div data-petition="{SLUG}"></div>'
        f'<script src="{server.url}/embed.js" async></script>{after}</main></body></html>'
    )


@pytest.fixture
def news(site) -> Iterator[StaticSite]:
    with StaticSite("localhost") as other_site:
        other_site.pages["/story"] = news_story(site[1])
        other_site.pages["/story-uk"] = news_story(site[1], lang="uk")
        yield other_site


def post_some_news() -> None:
    from petition.services.audit import Actor
    from petition.services.petitions import NewsDraft, post_news

    news = NewsDraft("We handed the petition in", "It went to Downing Street.\n\nMore soon.")
    post_news(SLUG, news, Actor("editor@example.org"))


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
        from tests.factories import sign

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


def page_rules(
    page: Any, name: str, one_h1: bool = True, tables_fit: bool = True
) -> dict[str, list[dict[str, str]]]:
    """What axe cannot see: one h1, reflow (WCAG 1.4.10): nothing scrolls sideways, the charts'
    labels readable, and no table cell squeezed to a few characters a line. Readers' tables
    fit the page too; staff's wide ones may scroll in their own box."""
    broken = []
    h1s = page.locator("h1").count()
    if one_h1 and h1s != 1:
        broken.append({"id": "one-h1", "help": f"{h1s} h1 elements"})
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        broken.append({"id": "reflow", "help": f"the page scrolls sideways by {overflow} px"})
    labels = page.evaluate(CHART_LABEL_PROBLEMS)
    if labels:
        broken.append({"id": "chart-labels", "help": labels})
    squeezed = page.evaluate(SQUEEZED_CELLS)
    if squeezed:
        broken.append({"id": "squeezed-cells", "help": squeezed})
    spilling = page.evaluate(SPILLING_TEXT)
    if spilling:
        broken.append({"id": "text-spills", "help": spilling})
    wider = page.evaluate(
        "() => [...document.querySelectorAll('table')]"
        ".map(t => t.parentElement.scrollWidth - t.parentElement.clientWidth)"
        ".filter(by => by > 0)"
    )
    if tables_fit and wider:
        broken.append({"id": "table-fits", "help": f"a table scrolls sideways by {wider} px"})
    return {name: broken} if broken else {}


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


# The charts' time labels, as a reader sees them: big enough to read, none overlapping
# another or running out of its chart. Measured on the text itself, not its cell.
CHART_LABEL_PROBLEMS = """() => {
    const problems = [];
    for (const chart of document.querySelectorAll("figure.chart")) {
        const box = chart.getBoundingClientRect();
        let previous = null;
        const shown = [...chart.querySelectorAll(".chart__label")]
            .filter(l => getComputedStyle(l).visibility !== "hidden");
        for (const label of shown) {
            const range = document.createRange();
            range.selectNodeContents(label);
            const text = range.getBoundingClientRect();
            const name = label.textContent;
            if (text.height < 12) problems.push(`${name} ${text.height.toFixed(1)}px high`);
            if (text.right > box.right + 0.5) problems.push(`${name} runs out`);
            if (previous && text.left < previous.right) problems.push(`${name} overlaps`);
            previous = text;
        }
    }
    return problems.join("; ");
}"""


# A word in a table cell that a narrow column breaks where it has no hyphen, into pieces of under
# eight characters: a hash five characters a line, which makes each row a column of letters.
# Breaking between words or at a hyphen ("sign-" / "ins"), or a hash into four lines, is fine.
SQUEEZED_CELLS = """() => {
    const problems = [];
    for (const cell of document.querySelectorAll("table :is(th, td)")) {
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
            const node = walker.currentNode;
            for (const word of node.data.matchAll(/\\S+/g)) {
                const range = document.createRange();
                range.setStart(node, word.index);
                range.setEnd(node, word.index + word[0].length);
                const tops = [];
                for (const r of range.getClientRects()) {
                    if (r.width && !tops.some(top => Math.abs(top - r.top) < 4)) tops.push(r.top);
                }
                const hyphens = word[0].split("-").length - 1;
                if (tops.length > hyphens + 1 && word[0].length / tops.length < 8) {
                    problems.push(`"${word[0].slice(0, 12)}" in ${tops.length} pieces`);
                }
            }
        }
    }
    return problems.join("; ");
}"""


BRAND, TRACK = (11, 61, 145), (219, 228, 243)  # --brand and --track in site.css


# Text wider than its own box runs into its neighbour (a long word in a narrow label column,
# "Зараховано?" over its answer): boxes that do not scroll, whose content is wider than they are.
SPILLING_TEXT = """() => [...document.querySelectorAll(
        "dt, dd, th, td, label, legend, h1, h2, h3, p, li, button, .button, summary")]
    .filter(el => {
        const style = getComputedStyle(el);
        return style.display !== "inline" && style.overflowX === "visible"
            && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1;
    })
    .map(el => `${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 24)}" by `
        + `${el.scrollWidth - el.clientWidth}px`)
    .join("; ")"""


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


DESCRIBE_FOCUS = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return "";
    const label = el.labels && el.labels[0] ? el.labels[0].innerText : "";
    const text = (label || el.innerText || el.value || "").trim().slice(0, 40);
    return [el.tagName.toLowerCase(), el.id || "", text].join("|");
}"""


def focused(page: Any) -> str:
    """A short description of what has keyboard focus, looking into frames of any origin."""
    described = page.evaluate(DESCRIBE_FOCUS)
    if not described.startswith("iframe|"):
        return described
    for frame in page.frames[1:]:
        inner = frame.evaluate("() => document.hasFocus() ? 1 : 0") and frame.evaluate(
            DESCRIBE_FOCUS
        )
        if inner:
            return inner
    return described


def _focus_target(page: Any) -> Any:
    """The frame whose document holds the focus."""
    if page.evaluate("() => document.activeElement && document.activeElement.tagName") != "IFRAME":
        return page
    for frame in page.frames[1:]:
        if frame.evaluate("() => document.hasFocus()"):
            return frame
    return page


def focus_is_visible(page: Any) -> bool:
    return _focus_target(page).evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            const ring = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
            const shadow = style.boxShadow && style.boxShadow !== "none";
            const filled = style.backgroundColor === "rgb(255, 221, 0)";
            return ring || shadow || filled;
        }"""
    )


def tab_to(page: Any, pattern: str, limit: int = 60, back: bool = False) -> list[str]:
    """Press Tab (or Shift+Tab) until focus matches `pattern`; return what was passed on the way."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        now = focused(page)
        seen.append(now)
        if re.search(pattern, now):
            assert focus_is_visible(page), f"focus not visible on {now}"
            return seen
    raise AssertionError(f"never reached {pattern!r}; passed {seen}")


def test_sign_confirm_and_donate_with_the_keyboard_alone(
    site, browser, mailbox, fake_stripe, artifacts
):
    app, server = site
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.goto(f"{server.url}/petitions/{SLUG}")

    # The skip link comes first and takes focus past the navigation.
    tab_to(page, r"^a\|\|Skip to main content", limit=1)
    page.keyboard.press("Enter")

    # A failed submit: focus lands on the summary, whose links lead to each field.
    tab_to(page, r"button\|\|Sign the petition")
    page.keyboard.press("Enter")
    page.wait_for_selector(".error-summary")
    assert "There is a problem" in focused(page)
    tab_to(page, r"^a\|\|Enter your full name")
    page.keyboard.press("Enter")
    assert focused(page).startswith("input|name|")

    # Fields in a sensible order, typed and chosen with the keyboard only.
    page.keyboard.type("Keyboard Reader")
    order = tab_to(page, r"^input\|email\|")
    page.keyboard.type("keyboard@example.org")
    order += tab_to(page, r"^select\|country\|")
    order += tab_to(page, r"^input\|postcode\|")
    page.keyboard.type("SW1A 1AA")
    order += tab_to(page, r"^input\|consent_updates\|")
    page.keyboard.press("Space")
    order += tab_to(page, r"button\|\|Sign the petition")
    assert all("website" not in step for step in order), "the honeypot must not take focus"
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Now check your email")
    page.screenshot(path=str(artifacts / "keyboard-thanks.png"), full_page=True)

    # Confirm from the email's link, with the keyboard.
    with app.app_context():
        deliver_due()
    link = server.url + links_in(mailbox.wait_for(1)[0])["confirm"]
    page.goto(link)
    tab_to(page, r"button\|\|Confirm my signature")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=your signature is counted")

    # Then give: past the share buttons, to the amounts, and on to Stripe Checkout.
    tab_to(page, r"button\|\|Give £10")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/pay/cs_test_"))
    assert fake_stripe.checkout_calls()[0].params["metadata[source]"] == f"confirmed:{SLUG}"
    page.close()


def test_the_keyboard_goes_into_the_widget_and_out_again(site, browser):
    app, server = site
    with StaticSite("localhost") as news:
        news.pages["/story"] = news_story(
            server,
            '<a id="before" href="#">Before the widget</a>',
            '<a id="after" href="#">After</a>',
        )
        page = browser.new_page(viewport={"width": 390, "height": 900})
        page.goto(f"{news.url}/story")
        page.frame_locator("iframe").get_by_role("button", name="Sign the petition").wait_for()
        page.locator("#before").focus()
        inside = tab_to(page, r"^a\|after\|")
        assert any(step.startswith("input|w-name|") for step in inside)
        assert any("Sign the petition" in step for step in inside)
        back = tab_to(page, r"^a\|before\|", back=True)
        assert any(step.startswith("input|w-email|") for step in back)
        page.close()


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
