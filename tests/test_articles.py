"""Article pages: our own words, rich share previews, and attribution without tracking."""

from __future__ import annotations

import hashlib
import json
import re
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import select

from petition.extensions import db
from petition.models import ArticleDailyViews
from petition.services import article_stats
from petition.services.seed import ARTICLE_SLUG
from tests.factories import (
    ORIGIN,
    SLUG,
    admin_csrf,
    forget_cached,
    log_in,
    make_admin,
    signature_for,
    signer,
    unpublish_article,
)

# Fingerprints of every 12-word run of the seed article (in ../shared/seeds beside the project):
# the check below needs no copy of the article's text, and works in any clone.
SEED_RUNS = Path(__file__).parent / "data" / "seed_article_runs.txt"
RUN_WORDS = 12
ARTICLE_PATH = f"/articles/{ARTICLE_SLUG}"


def words(text: str) -> list[str]:
    text = unescape(re.sub(r"<[^>]+>", " ", text))
    text = (
        text.replace("’", "'")
        .replace("‘", "'")
        .replace("“", '"')
        .replace("”", '"')
        .replace("—", " ")
    )
    return re.findall(r"[a-z0-9']+", text.lower())


def test_the_seed_story_is_listed_and_summarised_in_our_own_words(client):
    listing = client.get("/articles").get_data(as_text=True)
    assert "Twelve Russian riot police sacked" in listing and ARTICLE_PATH in listing
    page = client.get(ARTICLE_PATH)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for fact in (
        "Twelve",
        "Krasnodar",
        "25 February",
        "court",
        "reinstated",
        "Pavel Chikov",
        "Mikhail Benyash",
        "15,000",
    ):
        assert fact in html, fact
    assert "24 March 2022" in html
    assert "Read the full story from The Independent" in html
    assert "Set-Cookie" not in page.headers
    # The calls to action: sign here, share, give.
    assert 'action="/petitions/help-ukraine-refugees/sign"' in html
    assert f'name="source" value="article:{ARTICLE_SLUG}"' in html
    assert "Can you give as well?" in html and f"/go/gofundme?source=article:{ARTICLE_SLUG}" in html
    assert "since 2015" in html.lower() or "2015" in html


def test_share_previews_and_structured_data(client):
    html = client.get(ARTICLE_PATH).get_data(as_text=True)
    meta = dict(re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)"', html))
    assert meta["og:type"] == "article"
    assert meta["og:title"].startswith("Twelve Russian riot police")
    assert meta["og:url"] == f"http://petition.test{ARTICLE_PATH}"
    assert meta["og:description"] and meta["twitter:card"] == "summary_large_image"
    # The seed article has no picture of its own: previews show the campaign's share card.
    assert meta["og:image"] == "http://petition.test/static/share-card.png"
    assert f'<link rel="canonical" href="http://petition.test{ARTICLE_PATH}">' in html
    raw = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    data = json.loads(raw)
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == meta["og:title"]
    assert data["datePublished"] == "2022-03-24"
    assert data["publisher"] == {"@type": "Organization", "name": "The Independent"}
    assert data["isBasedOn"].startswith("https://")
    for channel in ("whatsapp", "facebook", "x", "email"):
        assert f"utm_source%3D{channel}" in html or f"utm_source={channel}" in html


def runs_of(text: str) -> dict[str, str]:
    """Every run of RUN_WORDS words in a text, by its fingerprint."""
    found = words(text)
    runs = (" ".join(found[i : i + RUN_WORDS]) for i in range(len(found) - RUN_WORDS + 1))
    return {hashlib.sha256(run.encode()).hexdigest()[:16]: run for run in runs}


def seed_article() -> Path | None:
    """The seed article: in ../shared/seeds beside this clone, or the workplace's own copy."""
    for folder in [*Path(__file__).resolve().parents, Path("/work")]:
        found = sorted((folder / "shared" / "seeds").glob("*.txt"))
        if found:
            return found[0]
    return None


def test_the_stored_fingerprints_are_the_seed_article_s():
    article = seed_article()
    if article is None:
        pytest.skip("the seed article is not beside this clone (../shared/seeds)")
    stored = set(SEED_RUNS.read_text().split())
    assert stored == set(runs_of(article.read_text())), (
        f"regenerate {SEED_RUNS.name} from {article}"
    )


def test_no_twelve_word_run_of_the_seed_article_appears_on_any_page(client, app):
    from tests.factories import sign

    seed_runs = set(SEED_RUNS.read_text().split())
    assert len(seed_runs) > 500
    pages = [
        "/",
        "/articles",
        ARTICLE_PATH,
        f"/petitions/{SLUG}",
        f"/petitions/{SLUG}/thanks",
        "/privacy",
        "/donate",
        f"/embed/petitions/{SLUG}",
    ]
    texts = [client.get(path).get_data(as_text=True) for path in pages]
    texts.append(sign(client, email="bad").get_data(as_text=True))
    with app.app_context():
        make_admin()
    admin = app.test_client()
    log_in(admin)
    texts.append(admin.get(f"/admin/articles/{ARTICLE_SLUG}/preview").get_data(as_text=True))
    for text in texts:
        copied = [run for key, run in runs_of(text).items() if key in seed_runs]
        assert not copied, copied[:3]


def test_unknown_and_draft_articles_are_not_found(app, client):
    assert client.get("/articles/no-such-story").status_code == 404
    admin = unpublish_article(app, ARTICLE_SLUG)
    assert client.get(ARTICLE_PATH).status_code == 404
    assert ARTICLE_PATH not in client.get("/articles").get_data(as_text=True)
    preview = admin.get(f"/admin/articles/{ARTICLE_SLUG}/preview")
    assert preview.status_code == 200 and "Preview." in preview.get_data(as_text=True)
    assert client.get(f"/admin/articles/{ARTICLE_SLUG}/preview").status_code in (302, 303)


def test_views_are_counted_per_day_on_the_server(app, client):
    for _ in range(3):
        client.get(ARTICLE_PATH)
    with app.app_context():
        # The first was written by its own request; the rest wait for the next write.
        assert article_stats.flush_views() == 2
        assert db.session.scalar(select(ArticleDailyViews.views)) == 3
        client.get(ARTICLE_PATH)
        article_stats.flush_views()
        assert db.session.scalar(select(ArticleDailyViews.views)) == 4


def test_a_signature_from_the_article_is_attributed_and_shows_in_the_funnel(app, client, mailbox):
    from petition.mail import deliver_due
    from tests.factories import links_in

    html = client.get(ARTICLE_PATH + "?utm_source=newsletter").get_data(as_text=True)
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    assert form["source"] == f"article:{ARTICLE_SLUG}" and form["utm_source"] == "newsletter"
    response = client.post(
        f"/petitions/{SLUG}/sign",
        data={**signer(email="reader@example.org"), **form},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 303
    with app.app_context():
        signature = signature_for("reader@example.org")
        assert (
            signature.source == f"article:{ARTICLE_SLUG}" and signature.utm_source == "newsletter"
        )
        deliver_due()
        article_stats.flush_views()
    client.post(links_in(mailbox.wait_for(1)[0])["confirm"])
    client.get(f"/go/gofundme?source=article:{ARTICLE_SLUG}")

    with app.app_context():
        make_admin("editor@example.org", role="editor")
        [funnel] = article_stats.funnels().value
    assert (
        funnel.views,
        funnel.signatures,
        funnel.confirmed,
        funnel.donate_clicks,
        funnel.donations,
    ) == (1, 1, 1, 1, 0)
    editor = app.test_client()
    log_in(editor, "editor@example.org")
    dashboard = editor.get("/admin/").get_data(as_text=True)
    assert "Which stories move readers to act" in dashboard
    funnel_html = dashboard.split("Which stories move readers to act")[1]
    assert 'class="funnel"' in funnel_html and "<svg" in funnel_html
    assert "Signatures started" in funnel_html and "Donate clicks" in funnel_html


def test_editors_write_preview_publish_and_unpublish_articles(app):
    with app.app_context():
        make_admin("editor@example.org", role="editor")
    editor = app.test_client()
    log_in(editor, "editor@example.org")
    form_page = editor.get("/admin/articles/new").get_data(as_text=True)
    assert (
        "data-count-chars" in form_page
        and 'maxlength="300"' in form_page
        and 'maxlength="200"' in form_page
    )
    token = admin_csrf(editor, "/admin/articles/new")
    base = {
        "csrf_token": token,
        "slug": "families-arrive",
        "headline": "The first families arrive",
        "standfirst": "A short standfirst.",
        "key_points": "One point\nTwo points",
        "source_url": "https://news.example/families",
        "publisher": "News Example",
        "published_on": "2022-04-02",
        "petition": SLUG,
    }
    too_few = editor.post("/admin/articles/new", data=base)
    assert too_few.status_code == 422 and "between 3 and 6 key points" in too_few.get_data(
        as_text=True
    )
    no_alt = editor.post(
        "/admin/articles/new",
        data={**base, "key_points": "a\nb\nc", "image_url": "https://news.example/a.jpg"},
    )
    assert "Describe the image" in no_alt.get_data(as_text=True)
    created = editor.post(
        "/admin/articles/new", data={**base, "key_points": "First\nSecond\nThird"}
    )
    assert created.status_code == 303
    assert editor.get("/articles/families-arrive").status_code == 404
    preview = editor.get("/admin/articles/families-arrive/preview").get_data(as_text=True)
    assert "<li>Second</li>" in preview
    editor.post("/admin/articles/families-arrive/publish", data={"csrf_token": token})
    forget_cached()
    listing = editor.get("/articles").get_data(as_text=True)
    assert listing.index("The first families arrive") < listing.index("Twelve Russian riot police")
    edited = editor.post(
        "/admin/articles/families-arrive",
        data={**base, "headline": "The first families have arrived", "key_points": "A\nB\nC\nD"},
    )
    assert edited.status_code == 303
    forget_cached()
    assert "The first families have arrived" in editor.get("/articles/families-arrive").get_data(
        as_text=True
    )


@pytest.mark.parametrize("path", ["/articles", ARTICLE_PATH])
def test_article_pages_set_no_cookie(client, path):
    response = client.get(path)
    assert "Set-Cookie" not in response.headers
