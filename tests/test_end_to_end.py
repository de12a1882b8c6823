"""A reader's whole journey over real HTTP, with the web process delivering mail by itself."""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest

from petition.services.counting import flush_counts
from tests.factories import SLUG, confirmed_signatures, forget_cached, links_in, sign, signer
from tests.parts import LiveServer, text_of
from tests.test_concurrency import post_form


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def test_sign_confirm_and_be_counted_within_five_seconds(make_app, mailbox):
    app = make_app(EMBEDDED_WORKER=True, WORKER_POLL_SECONDS=0.5)
    with LiveServer(app) as server:
        app.config["PUBLIC_URL"] = server.url
        status, page = get(f"{server.url}/petitions/{SLUG}")
        token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
        fields = {**signer(email="reader@example.org"), "form_token": token}
        assert post_form(f"{server.url}/petitions/{SLUG}/sign", fields, server.url) == 303

        # No worker process is running: the web process sends the mail itself, within seconds.
        [message] = mailbox.wait_for(1, timeout=5)
        assert str(message["To"]) == "reader@example.org"
        assert "Hello Ada Lovelace" in text_of(message)
        confirm = server.url + links_in(message)["confirm"]

        status, _ = get(confirm)
        assert status == 200
        time.sleep(1.5)
        assert json.loads(get(f"{server.url}/api/v1/petitions/{SLUG}")[1])["signature_count"] == 0

        assert post_form(confirm, {}, server.url) == 200
        confirmed_at = time.monotonic()
        while True:
            count = json.loads(get(f"{server.url}/api/v1/petitions/{SLUG}")[1])["signature_count"]
            if count == 1:
                break
            assert time.monotonic() - confirmed_at < 5, "the count did not move within 5 s"
            time.sleep(0.1)
        status, page = get(f"{server.url}/petitions/{SLUG}")
        assert re.search(r"data-count>1<", page)


@pytest.mark.browser
def test_an_open_petition_page_counts_new_signatures_as_they_arrive(make_app, browser):
    app = make_app(EMBEDDED_WORKER=False)
    with LiveServer(app) as server:
        app.config["PUBLIC_URL"] = server.url
        from playwright.sync_api import expect

        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.goto(f"{server.url}/petitions/{SLUG}")
        tally = page.locator(".tally__count")
        assert tally.get_attribute("aria-live") == "polite"
        assert tally.inner_text().split() == ["0", "signatures", "0", "awaiting", "confirmation"]

        with app.test_client() as client:
            confirmed_signatures(app, client, [{"email": "while-reading@example.org"}])
        with app.app_context():
            forget_cached()
        # The page asks again 5 s after loading, then every 30 s; nobody reloads it.
        expect(page.locator("[data-count]")).to_have_text("1", timeout=15_000)
        assert tally.inner_text().split() == ["1", "signature", "0", "awaiting", "confirmation"]
        assert page.locator("[data-count-percent]").inner_text() == "Under 1%"
        assert page.locator("[data-bar-done]").get_attribute("width") == "15.0"
        page.close()


@pytest.mark.browser
def test_a_ukrainian_page_says_those_awaiting_in_the_right_form_as_they_arrive(make_app, browser):
    """One awaiting "чекає", two "чекають": the live script picks the form for the number."""
    from playwright.sync_api import expect

    app = make_app(EMBEDDED_WORKER=False, LIVE_COUNT_SECONDS=2)
    with LiveServer(app) as server:
        app.config["PUBLIC_URL"] = server.url
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.goto(f"{server.url}/uk/petitions/{SLUG}")
        waiting = page.locator(".tally__count [data-pending]")
        bar = page.locator("[data-count-bar]")
        assert waiting.inner_text() == "0 чекають на підтвердження"

        for email, words in [("first@example.org", "1 чекає"), ("second@example.org", "2 чекають")]:
            with app.test_client() as client:
                assert sign(client, email=email, language="uk").status_code == 303
            with app.app_context():
                flush_counts()
                forget_cached()
            expect(waiting).to_have_text(f"{words} на підтвердження", timeout=15_000)
            assert bar.get_attribute("aria-label").endswith(f"ще {words} на підтвердження")
        page.close()
