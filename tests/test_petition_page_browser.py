"""The petition page in Chromium, as readers see it: Sign within the first screen of a phone,
a sign panel that stays in view on a desktop, and no WCAG violations on the full layout.
Screenshots go to test-artifacts/ (petition-390.png, petition-1280*.png)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from petition.services.audit import Actor
from petition.services.petitions import NewsDraft, post_news
from tests.a11y import audit, page_rules
from tests.factories import SLUG, confirmed_signatures, forget_cached, log_in, make_admin
from tests.parts import LiveServer, axe_source
from tests.test_petition_page import edit_fields, photo, upload

pytestmark = pytest.mark.browser

STORY = "\n\n".join(
    f"Paragraph {n}: families who fled the war wait months for decisions, and the help that "
    "was promised reaches them late. Every week of delay is a week without a home, a school "
    "place or a job."
    for n in range(1, 9)
)


@pytest.fixture
def full_page(app: Any) -> Iterator[str]:
    """The seed petition with everything the page can show, served over real HTTP."""
    with app.app_context():
        make_admin()
    admin = app.test_client()
    log_in(admin)
    saved = admin.post(
        f"/admin/petitions/{SLUG}",
        data=edit_fields(
            admin,
            background=STORY,
            addressee="The Home Secretary",
            starter="The Refugees Welcome campaign team",
            thresholds="3: We thank every signer by email\n10,000: We hand it in at Downing Street",
            show_recent_signers="y",
        ),
    )
    assert saved.status_code == 303
    assert upload(admin, photo(1600, 900), "Volunteers sorting donated coats").status_code == 303
    reader = app.test_client()
    confirmed_signatures(
        app,
        reader,
        [
            {"email": f"s{n}@example.org", "name": name, "show_publicly": "y"}
            for n, name in enumerate(["Olena Koval", "Sam Jones", "Priya Shah", "Tom Reed"])
        ],
    )
    with app.app_context():
        post_news(
            SLUG,
            NewsDraft("We met the Home Office", "They listened.\n\nWe go back in March."),
            Actor("editor@example.org"),
        )
        forget_cached()
    with LiveServer(app) as server:
        app.config["PUBLIC_URL"] = server.url
        yield f"{server.url}/petitions/{SLUG}"


def test_on_a_phone_sign_is_in_the_first_screen(browser, full_page, artifacts):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(full_page)
        jump = page.get_by_role("link", name="Sign this petition")
        box = jump.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 844, box
        page.screenshot(path=str(artifacts / "petition-390.png"))
        page.screenshot(path=str(artifacts / "petition-390-full.png"), full_page=True)
        # The picture, the ask and the facts are there too.
        assert page.get_by_text("The Home Secretary").is_visible()
        assert page.locator("img.picture").evaluate("img => img.complete && img.naturalWidth > 0")
        # One press takes the reader to the form.
        jump.click()
        page.wait_for_function("() => location.hash === '#sign'")
        name = page.get_by_label("Full name")
        top = name.bounding_box()["y"]
        assert 0 <= top < 844, top
        # At this width the picture is a phone-sized copy, not the 1600 px original.
        chosen = page.locator("img.picture").evaluate("img => img.currentSrc")
        assert (
            chosen.endswith(".jpg")
            and page.evaluate("src => performance.getEntriesByName(src)[0].decodedBodySize", chosen)
            < 200_000
        )
    finally:
        page.close()


def test_on_a_desktop_the_sign_panel_stays_in_view(browser, full_page, artifacts):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(full_page)
        # Two columns: the story on the left, the sign panel on the right, the Sign link gone.
        title = page.locator("h1").bounding_box()
        panel = page.locator(".petition__panel").bounding_box()
        assert panel["x"] > title["x"] + title["width"] - 1
        assert not page.get_by_role("link", name="Sign this petition").is_visible()
        button = page.get_by_role("button", name="Sign the petition")
        assert button.is_visible()
        assert button.bounding_box()["y"] + button.bounding_box()["height"] <= 900
        page.screenshot(path=str(artifacts / "petition-1280.png"))

        page.get_by_role("heading", name="Where signers live").scroll_into_view_if_needed()
        page.mouse.wheel(0, 600)
        page.wait_for_timeout(200)
        # The story has scrolled away (the title is off screen) and the panel has not.
        assert page.locator("h1").bounding_box()["y"] < 0
        box = button.bounding_box()
        assert 0 <= box["y"] and box["y"] + box["height"] <= 900, box
        assert page.get_by_label("Full name").is_visible()
        page.screenshot(path=str(artifacts / "petition-1280-scrolled.png"))
    finally:
        page.close()


@pytest.mark.parametrize("width", [320, 1280])
@pytest.mark.parametrize(
    ("prefix", "signers"), [("", "Recent signers"), ("/uk", "Нещодавно підписали")]
)
def test_the_full_layout_has_no_wcag_violations(
    browser, full_page, artifacts, width, prefix, signers
):
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    name = f"petition{prefix.replace('/', '-')}-{width}"
    try:
        page.goto(full_page.replace("/petitions/", f"{prefix}/petitions/"))
        page.wait_for_selector(f"text={signers}")
        violations = audit(page, axe_source())
        broken = page_rules(page, "petition")
        page.screenshot(path=str(artifacts / f"{name}-axe.png"), full_page=True)
        assert violations == [] and broken == {}
    finally:
        context.close()
