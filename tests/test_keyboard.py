"""A reader who signs, confirms and donates with the keyboard alone, and whose keyboard goes into
the widget on a news page and out again: focus in a sensible order, always visible."""

from __future__ import annotations

import re
from typing import Any

import pytest

from petition.mail import deliver_due
from tests.a11y import news_story
from tests.factories import SLUG, links_in
from tests.parts import StaticSite

pytestmark = pytest.mark.browser


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
