"""What browsers and search engines ask of every site: a favicon, robots.txt, a sitemap, and
forgiveness for a slash added to a link."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from petition.services.seed import ARTICLE_SLUG
from tests.factories import SLUG, unpublish_article

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"
ROOT = "http://petition.test"


def sitemap(client) -> ET.Element:
    response = client.get("/sitemap.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert "Set-Cookie" not in response.headers
    return ET.fromstring(response.get_data())


def addresses_in_sitemap(client) -> list[str]:
    return [loc.text for loc in sitemap(client).iter(f"{SITEMAP}loc")]


def test_the_sitemap_lists_the_campaign_its_petition_and_published_stories(app, client):
    pages = ["/", f"/petitions/{SLUG}", "/articles", f"/articles/{ARTICLE_SLUG}"]
    # Each in English and in Ukrainian: the Ukrainian pages are found by search engines too.
    assert addresses_in_sitemap(client) == [
        f"{ROOT}{language}{page}" for page in pages for language in ("", "/uk")
    ]
    unpublish_article(app, ARTICLE_SLUG)
    assert f"{ROOT}/articles/{ARTICLE_SLUG}" not in addresses_in_sitemap(client)
    assert f"{ROOT}/uk/articles/{ARTICLE_SLUG}" not in addresses_in_sitemap(client)


def test_the_sitemap_names_each_pages_languages_as_the_page_itself_does(client):
    for entry in sitemap(client).iter(f"{SITEMAP}url"):
        address = entry.find(f"{SITEMAP}loc").text
        named = {(link.get("hreflang"), link.get("href")) for link in entry.iter(f"{XHTML}link")}
        page = client.get(address.removeprefix(ROOT))
        assert page.status_code == 200, address
        in_page = set(
            re.findall(
                r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">',
                page.get_data(as_text=True),
            )
        )
        assert named == in_page and len(named) == 3, address  # en-GB, uk and x-default
        assert (("uk" if "/uk/" in address + "/" else "en-GB"), address) in named


def test_robots_keep_crawlers_out_of_personal_links_and_the_staff_side(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    rules = response.get_data(as_text=True).splitlines()
    disallowed = {line.split(": ", 1)[1] for line in rules if line.startswith("Disallow: ")}
    kept_out = {"/admin/", "/signatures/", "/embed/", "/petitions/*/thanks"}
    assert kept_out <= disallowed
    # A confirm link or a thanks page is as personal in Ukrainian.
    assert {f"/uk{path}" for path in kept_out} <= disallowed
    for page in (f"/petitions/{SLUG}", "/articles", f"/uk/petitions/{SLUG}", "/uk/articles"):
        assert page not in disallowed
    assert "Sitemap: http://petition.test/sitemap.xml" in rules


def test_the_favicon_is_there_where_browsers_look_for_it(client):
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200
        assert icon.get_data()[:4] == b"\x00\x00\x01\x00"  # an .ico file
        assert "max-age=604800" in icon.headers["Cache-Control"]
        assert "Set-Cookie" not in icon.headers
    page = client.get("/").get_data(as_text=True)
    for rel in ("icon", "apple-touch-icon"):
        href = re.search(rf'<link rel="{rel}" href="([^"]+)"', page).group(1)
        with client.get(href) as picture:
            assert picture.status_code == 200, href


def test_a_link_with_a_slash_added_still_arrives(client):
    moved = client.get(f"/petitions/{SLUG}/?utm_source=cms")
    assert moved.status_code == 308
    assert moved.headers["Location"] == f"/petitions/{SLUG}?utm_source=cms"
    assert client.get(f"/articles/{ARTICLE_SLUG}/").headers["Location"].endswith(ARTICLE_SLUG)
    # Only to our own pages, and only for reading.
    sneaky = client.get("/", environ_overrides={"PATH_INFO": "//evil.example/"})
    assert sneaky.status_code == 404
    assert client.get("/no-such-page/").status_code == 404
    assert client.post(f"/petitions/{SLUG}/sign/").status_code == 404


def test_error_pages_and_titles_speak_in_our_own_voice(client):
    missing = client.get("/no-such-page")
    html = missing.get_data(as_text=True)
    assert missing.status_code == 404 and "We could not find that page" in html
    assert "requested URL was not found" not in html
    api = client.get("/api/v1/no-such-thing").get_json()
    assert api["error"]["message"].startswith("We could not find that page")
    home = client.get("/").get_data(as_text=True)
    assert "<title>Refugees Welcome</title>" in home  # not "Refugees Welcome – Refugees Welcome"
    petition = client.get("/petitions/help-ukraine-refugees").get_data(as_text=True)
    assert "– Refugees Welcome</title>" in petition


def test_pages_announce_their_stylesheet_in_the_headers(client):
    import re

    from tests.factories import SLUG

    for path, sheet in [
        (f"/petitions/{SLUG}", "site.css"),
        ("/", "site.css"),
        (f"/embed/petitions/{SLUG}", "widget.css"),
    ]:
        response = client.get(path)
        href = re.search(
            rf'<link rel="stylesheet" href="([^"]*{sheet}[^"]*)"', response.get_data(as_text=True)
        ).group(1)
        assert response.headers["Link"] == f"<{href}>; rel=preload; as=style", path
    # Not on what is not a page.
    assert "Link" not in client.get(f"/api/v1/petitions/{SLUG}").headers
    assert "Link" not in client.get("/embed.js").headers


def test_security_txt_says_where_to_report_a_problem_once_there_is_somewhere(make_app, tmp_path):
    from datetime import UTC, datetime, timedelta

    from petition import create_app
    from tests.conftest import make_config

    # Nobody named: no file, rather than one sending researchers nowhere.
    assert make_app().test_client().get("/.well-known/security.txt").status_code == 404
    client = make_app(
        SECURITY_CONTACT="security@example.org https://example.org/security"
    ).test_client()
    response = client.get("/.well-known/security.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "Set-Cookie" not in response.headers
    fields = [line.split(": ", 1) for line in response.get_data(as_text=True).splitlines()]
    fields = [field for field in fields if not field[0].startswith("#")]
    named = [value for name, value in fields if name == "Contact"]
    assert named == ["mailto:security@example.org", "https://example.org/security"]
    values = dict(fields)
    assert values["Canonical"] == "http://petition.test/.well-known/security.txt"
    assert values["Preferred-Languages"] == "en, uk"
    # RFC 9116: it must expire, within a year.
    expires = datetime.strptime(values["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    now = datetime.now(UTC)
    assert now + timedelta(days=30) < expires < now + timedelta(days=365)
    # A contact that is neither an address nor https stops the start, with one line.
    for contact in ("http://example.org/security", "security at example.org", "javascript:x"):
        config = make_config(
            tmp_path, f"sqlite:///{tmp_path}/db", "console", SECURITY_CONTACT=contact
        )
        try:
            create_app(config)
        except SystemExit as stop:
            assert "SECURITY_CONTACT" in str(stop) and "\n" not in str(stop)
        else:
            raise AssertionError(f"{contact!r} was taken")
