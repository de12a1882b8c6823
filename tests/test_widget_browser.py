"""The widget on someone else's page, in real Chromium: it grows, signs, and tells the host."""

from __future__ import annotations

import re

import pytest

from tests.factories import SLUG, links_in
from tests.parts import LiveServer, StaticSite, text_of

pytestmark = pytest.mark.browser

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>News story</title>
<style>body{{font-family:sans-serif;margin:16px}}</style></head>
<body>
<h1>Officers sue over dismissal</h1>
<p>A news story, with the campaign's petition below.</p>
{embed}
<script>
  window.heard = [];
  ["petition:signed", "petition:confirmed", "petition:donate"].forEach(function (type) {{
    document.addEventListener(type, function (event) {{
      var slug = event.detail && event.detail.slug;
      window.heard.push({{type: event.type, slug: slug, on: event.target.id}});
    }});
  }});
</script>
</body></html>"""

SNIPPET = (
    '<div id="first" data-petition="{slug}">'
    '<a href="{base}/petitions/{slug}">Sign the petition</a></div>'
)


@pytest.fixture
def live(make_app, mailbox):
    # Widgets ask for the count every second here (every 30 by default).
    app = make_app(EMBEDDED_WORKER=True, WORKER_POLL_SECONDS=0.2, LIVE_COUNT_SECONDS=1)
    with LiveServer(app) as server:
        app.config["PUBLIC_URL"] = server.url
        yield app, server


def fill_and_sign(frame, email: str, *, press_enter: bool = False) -> None:
    frame.get_by_label("Full name").fill("Widget Reader")
    frame.get_by_label("Email address").fill(email)
    frame.get_by_label("Country").select_option("GB")
    frame.get_by_label("Postcode").fill("SW1A 1AA")
    if press_enter:
        frame.get_by_label("Postcode").press("Enter")
    else:
        frame.get_by_role("button", name="Sign the petition").click()


@pytest.mark.parametrize(("width", "name"), [(320, "phone"), (1280, "desktop")])
def test_the_snippet_on_another_site_shows_a_widget_that_signs(
    live, browser, mailbox, artifacts, width, name
):
    app, server = live
    snippet = SNIPPET.format(slug=SLUG, base=server.url)
    snippet += SNIPPET.replace('id="first"', 'id="second"').format(slug=SLUG, base=server.url)
    snippet += f'<script src="{server.url}/embed.js" async></script>'
    with StaticSite("localhost") as site:
        site.pages["/story"] = HOST_PAGE.format(embed=snippet)
        page = browser.new_page(viewport={"width": width, "height": 800})
        page.goto(f"{site.url}/story")
        frames = page.locator("iframe")
        frames.first.wait_for()
        assert frames.count() == 2  # several widgets on one page

        # The loader resizes the frame to its content once the widget reports its height.
        page.wait_for_function("document.querySelector('#first iframe').style.height !== '520px'")
        height = page.evaluate(
            "document.querySelector('#first iframe').getBoundingClientRect().height"
        )
        assert height >= 250
        frame = page.frame_locator("#first iframe")
        assert frame.get_by_role("heading", name=re.compile("Go further and faster")).is_visible()
        page.screenshot(path=str(artifacts / f"widget-{name}.png"), full_page=True)

        # A mistake first: the summary takes focus and links to the field.
        frame.get_by_label("Full name").fill("=cmd")
        height_before = page.evaluate("document.querySelector('#first iframe').style.height")
        frame.get_by_role("button", name="Sign the petition").click()
        expect_text(frame, "cannot start with")
        # The frame grows to show the errors; click only once it has (or the click misses).
        page.wait_for_function(
            "h => document.querySelector('#first iframe').style.height !== h", arg=height_before
        )
        page.screenshot(path=str(artifacts / f"widget-{name}-error.png"), full_page=True)

        # Then the corrected form, sent as many readers do, with Enter from the last field (a
        # click here could land while the host is still resizing the frame around the errors).
        fill_and_sign(frame, f"widget-{name}@example.org", press_enter=True)
        expect_text(frame, "Now check your email")
        page.wait_for_function("window.heard.length > 0")
        assert page.evaluate("window.heard") == [
            {"type": "petition:signed", "slug": SLUG, "on": "first"}
        ]
        page.screenshot(path=str(artifacts / f"widget-{name}-signed.png"), full_page=True)
        page.close()

    [message] = mailbox.wait_for(1, timeout=10)
    assert str(message["To"]) == f"widget-{name}@example.org"
    assert "/signatures/confirm/" in text_of(message)
    with app.app_context():
        from tests.factories import signature_for

        assert signature_for(f"widget-{name}@example.org").source == "widget:localhost"


def test_the_oembed_html_signs_inside_a_sandboxed_frame(live, browser, mailbox, artifacts, client):
    app, server = live
    oembed = (
        app.test_client()
        .get("/oembed", query_string={"url": f"{server.url}/petitions/{SLUG}"})
        .get_json()
    )
    # What WordPress does with an oEmbed: the HTML inside a frame that may only run scripts.
    embedded = oembed["html"].replace(
        "<iframe ", '<iframe id="wp-embed" sandbox="allow-scripts" ', 1
    )
    with StaticSite("localhost") as site:
        site.pages["/wordpress"] = HOST_PAGE.format(embed=embedded)
        page = browser.new_page(viewport={"width": 390, "height": 900})
        page.goto(f"{site.url}/wordpress")
        frame = page.frame_locator("#wp-embed")
        fill_and_sign(frame, "sandboxed@example.org")
        expect_text(frame, "Now check your email")
        # Links cannot open a tab from this frame: their addresses are there to copy.
        expect_text(frame, "If these links do not open here, copy an address:")
        donate = frame.get_by_label("Donate to the campaign: address to copy")
        assert "/donate" in donate.input_value()
        page.screenshot(path=str(artifacts / "widget-sandboxed-signed.png"), full_page=True)
        page.close()
    [message] = mailbox.wait_for(1, timeout=10)
    assert str(message["To"]) == "sandboxed@example.org"
    with app.app_context():
        from tests.factories import signature_for

        # The frame cannot tell where it is, but it still counts as the widget.
        assert signature_for("sandboxed@example.org").source == "widget"


def expect_text(frame, text: str) -> None:
    frame.get_by_text(text).first.wait_for(state="visible", timeout=10_000)


def test_a_widget_on_our_own_site_hears_when_its_reader_confirms(live, browser, mailbox):
    app, server = live
    snippet = (
        SNIPPET.format(slug=SLUG, base=server.url)
        + SNIPPET.replace('id="first"', 'id="second"').format(slug=SLUG, base=server.url)
        + f'<script src="{server.url}/embed.js" async></script>'
    )
    # Same site as the service (ports do not count), as our own story pages are.
    with StaticSite("127.0.0.1") as site:
        site.pages["/story"] = HOST_PAGE.format(embed=snippet)
        context = browser.new_context(viewport={"width": 390, "height": 900})
        page = context.new_page()
        page.goto(f"{site.url}/story")
        fill_and_sign(page.frame_locator("#first iframe"), "same-site@example.org")
        page.wait_for_function("window.heard.length === 1")
        [message] = mailbox.wait_for(1, timeout=10)
        email_tab = context.new_page()
        email_tab.goto(server.url + links_in(message)["confirm"])
        email_tab.get_by_role("button", name="Confirm my signature").click()
        email_tab.wait_for_selector("text=your signature is counted")
        page.wait_for_function("window.heard.length === 3")
        assert sorted(page.evaluate("window.heard.slice(1)"), key=lambda e: e["on"]) == [
            {"type": "petition:confirmed", "slug": SLUG, "on": "first"},
            {"type": "petition:confirmed", "slug": SLUG, "on": "second"},
        ]
        # Both widgets on the story count the new signature without a reload.
        from playwright.sync_api import expect

        # The widget the reader signed in says so at once.
        signed_in = page.frame_locator("#first iframe")
        expect(
            signed_in.get_by_role("heading", name="Thank you: your signature is counted")
        ).to_be_visible()
        for widget in ("#first", "#second"):
            count = page.frame_locator(f"{widget} iframe").locator(".w-count")
            expect(count).to_have_text(
                "1 signature · goal 10,000 0 awaiting confirmation", timeout=10_000
            )
        context.close()


GROWN = "(f => f && f.style.height !== '520px')(document.querySelector('{} iframe'))"


def test_the_code_copied_from_the_embed_page_works_on_another_site(live, browser):
    """A partner's whole journey: copy the snippet from our page, paste it into theirs."""
    app, server = live
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = context.new_page()
    page.goto(f"{server.url}/petitions/{SLUG}/embed")
    # Our own page shows the widget itself as the preview.
    page.wait_for_function(GROWN.format(".embed-preview"))
    page.get_by_role("button", name="Copy the snippet").click()
    page.wait_for_selector("text=Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#embed-snippet").input_value()
    with StaticSite("localhost") as site:
        site.pages["/story"] = HOST_PAGE.format(embed=copied)
        partner = context.new_page()
        partner.goto(f"{site.url}/story")
        partner.wait_for_function(GROWN.format("[data-petition]"))
        widget = partner.frame_locator("[data-petition] iframe")
        assert widget.get_by_role("button", name="Sign the petition").is_visible()
    context.close()


def test_a_mistyped_address_is_caught_and_a_wrong_one_can_be_replaced(
    live, browser, mailbox, artifacts
):
    app, server = live
    snippet = SNIPPET.format(slug=SLUG, base=server.url)
    snippet += f'<script src="{server.url}/embed.js" async></script>'
    with StaticSite("localhost") as site:
        site.pages["/story"] = HOST_PAGE.format(embed=snippet)
        page = browser.new_page(viewport={"width": 390, "height": 900})
        page.goto(f"{site.url}/story")
        frame = page.frame_locator("#first iframe")
        fill_and_sign(frame, "typo@gmial.com")
        expect_text(frame, "Did you mean typo@gmail.com?")
        page.screenshot(path=str(artifacts / "widget-typo.png"), full_page=True)
        frame.get_by_role("button", name="Yes, use typo@gmail.com").click()
        expect_text(frame, "Now check your email")
        expect_text(frame, "to ty…@gmail.com")
        # The reader sees it was still wrong, and signs again with the right one.
        frame.get_by_role("button", name="Wrong address? Sign again with the right one").click()
        frame.get_by_label("Email address").fill("right@example.org")
        frame.get_by_role("button", name="Sign the petition").click()
        expect_text(frame, "to ri…@example.org")
        page.close()
    with app.app_context():
        from tests.factories import signature_for

        assert signature_for("typo@gmail.com") is None
        assert signature_for("right@example.org").source == "widget:localhost"


@pytest.mark.parametrize("how", ["data-lang", "host page"])
def test_a_ukrainian_widget_speaks_ukrainian_and_signs(live, browser, mailbox, artifacts, how):
    """data-lang="uk" on the snippet, or a host page whose <html lang> is Ukrainian."""
    app, server = live
    if how == "data-lang":
        snippet = SNIPPET.replace("data-petition", 'data-lang="uk" data-petition')
        host = HOST_PAGE
    else:
        snippet, host = SNIPPET, HOST_PAGE.replace('<html lang="en">', '<html lang="uk-UA">')
    snippet = snippet.format(slug=SLUG, base=server.url)
    snippet += f'<script src="{server.url}/embed.js" async></script>'
    email = f"widget-uk-{how.replace(' ', '-')}@example.org"
    with StaticSite("localhost") as site:
        site.pages["/story"] = host.format(embed=snippet)
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.goto(f"{site.url}/story")
        page.locator("iframe").wait_for()
        assert page.locator("iframe").get_attribute("title") == "Підписати петицію"
        frame = page.frame_locator("#first iframe")
        frame.get_by_label("Ім'я та прізвище").fill("Олена Коваль")
        frame.get_by_label("Електронна пошта").fill(email)
        frame.get_by_label("Країна").select_option("GB")
        frame.get_by_label("Поштовий індекс").fill("SW1A 1AA")
        page.wait_for_function("document.querySelector('#first iframe').style.height !== '520px'")
        page.screenshot(path=str(artifacts / "widget-uk.png"), full_page=True)
        frame.get_by_role("button", name="Підписати петицію").click()
        expect_text(frame, "Тепер перевірте пошту")
        expect_text(frame, "на w")  # "… посилання на wi…@example.org": where it went
        page.close()
    [message] = mailbox.wait_for(1, timeout=10)
    assert message["Subject"].startswith("Підтвердьте, будь ласка, свій підпис")
    assert "/uk/signatures/confirm/" in text_of(message)
    with app.app_context():
        from tests.factories import signature_for

        signature = signature_for(email)
        assert signature.language == "uk" and signature.source == "widget:localhost"


def test_a_partners_widget_records_the_partner_and_its_own_answer(
    live, browser, mailbox, artifacts
):
    """data-partner on the snippet: the partner's question beside ours, answered apart from
    it; the signature is the partner's, and once confirmed its key lists the signer."""
    from petition.services import partners
    from petition.services.audit import Actor
    from tests.factories import signature_for

    app, server = live
    question = "Refugee Action may email me about its work with refugees."
    with app.app_context():
        partners.create("refugee-action", "Refugee Action", Actor("test"), question=question)
        key = partners.issue_key("refugee-action", Actor("test")).key
    snippet = SNIPPET.replace("data-petition", 'data-partner="refugee-action" data-petition')
    snippet = snippet.format(slug=SLUG, base=server.url)
    snippet += f'<script src="{server.url}/embed.js" async></script>'
    with StaticSite("localhost") as site:
        site.pages["/story"] = HOST_PAGE.format(embed=snippet)
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.goto(f"{site.url}/story")
        frame = page.frame_locator("#first iframe")
        # Yes to the partner, no to our updates: two questions, two answers.
        frame.get_by_label(question).check()
        assert not frame.get_by_label(re.compile("updates")).is_checked()
        page.wait_for_function("document.querySelector('#first iframe').style.height !== '520px'")
        page.screenshot(path=str(artifacts / "widget-partner.png"), full_page=True)
        fill_and_sign(frame, "partnered@example.org")
        expect_text(frame, "Now check your email")
        page.close()
    [message] = mailbox.wait_for(1, timeout=10)
    with app.app_context():
        signature = signature_for("partnered@example.org")
        assert signature.partner.slug == "refugee-action"
        assert signature.partner_wording.text == question and signature.partner_consented_at
        assert signature.consent_updates is False
        assert signature.source == "widget:localhost"
    client = app.test_client()
    listed = f"/api/osdi/v1/petitions/{SLUG}/signatures"
    assert client.get(listed, headers={"OSDI-API-Token": key}).get_json()["total_records"] == 0
    client.post(links_in(message)["confirm"])
    found = client.get(listed, headers={"OSDI-API-Token": key}).get_json()
    [person] = [s["_embedded"]["osdi:person"] for s in found["_embedded"]["osdi:signatures"]]
    assert person["email_addresses"][0]["address"] == "partnered@example.org"
