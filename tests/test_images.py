"""Pictures in stories come from our own picture servers (IMAGE_HOSTS), which the pages'
content policy allows, so they load; anything else is refused when the story is saved."""

from __future__ import annotations

from datetime import date

import pytest

from petition.services import articles
from petition.services.audit import Actor
from petition.services.errors import InvalidInput
from tests.factories import forget_cached
from tests.parts import LiveServer, StaticSite
from tests.processes import ROOT

STAFF = Actor("editor@example.org")
PICTURE = (ROOT / "petition" / "static" / "share-card.png").read_bytes()


def draft(image_url: str) -> articles.ArticleDraft:
    return articles.ArticleDraft(
        slug="families-arrive",
        headline="The first families arrive",
        standfirst="A short standfirst.",
        key_points=["One", "Two", "Three"],
        share_description=None,
        source_url="https://news.example/families",
        publisher="News Example",
        published_on=date(2022, 4, 2),
        image_url=image_url,
        image_alt="Families at the station",
        petition_slug=None,
    )


def test_a_picture_from_elsewhere_is_refused_and_one_from_our_servers_is_kept(make_app):
    app = make_app(IMAGE_HOSTS="images.news.example")
    with app.app_context():
        with pytest.raises(InvalidInput) as refused:
            articles.create(draft("https://evil.example/a.jpg"), STAFF)
        assert "IMAGE_HOSTS: https://images.news.example" in refused.value.errors["image_url"]
        with pytest.raises(InvalidInput):  # the right host, but not over https
            articles.create(draft("http://images.news.example/a.jpg"), STAFF)
        created = articles.create(draft("https://images.news.example/a.jpg"), STAFF)
        assert created.image_url == "https://images.news.example/a.jpg"
    policy = app.test_client().get("/").headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://images.news.example;" in policy


@pytest.mark.browser
def test_a_story_picture_from_an_image_host_loads(make_app, browser, artifacts):
    with StaticSite("localhost") as pictures:
        pictures.files["/2026/families.png"] = ("image/png", PICTURE)
        app = make_app(IMAGE_HOSTS=pictures.url)
        with app.app_context():
            articles.create(draft(f"{pictures.url}/2026/families.png"), STAFF)
            articles.set_published("families-arrive", True, STAFF)
            forget_cached()
        with LiveServer(app) as server:
            page = browser.new_page(viewport={"width": 390, "height": 900})
            refused = []
            page.on(
                "console",
                lambda m: refused.append(m.text) if "Content Security" in m.text else None,
            )
            page.goto(f"{server.url}/articles/families-arrive")
            picture = page.get_by_role("img", name="Families at the station")
            picture.wait_for()
            page.wait_for_function("document.querySelector('.story-image img').complete")
            assert picture.evaluate("img => img.naturalWidth") > 0
            assert refused == []
            page.screenshot(path=str(artifacts / "story-image.png"))
            page.close()
