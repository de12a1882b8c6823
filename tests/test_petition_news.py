"""News on a petition's page: what happened next, posted by staff, read by everyone."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from petition.extensions import db
from petition.models import AuditLog, PetitionNews
from tests.factories import SLUG, admin_csrf, forget_cached, log_in, make_admin

PAGE = f"/admin/petitions/{SLUG}"
HANDED_IN = {
    "news-title": "We handed the petition in at Downing Street",
    "news-body": (
        "Three of you came with us.\n\nThe Home Office has 10 days to reply.\r\n  \r\n"
        "We'll post it here."
    ),
}


@pytest.fixture
def editor(app: Any, client: FlaskClient) -> FlaskClient:
    """Editors run petitions: news is theirs to post as much as admins'."""
    with app.app_context():
        make_admin("editor@example.org", role="editor")
    assert log_in(client, "editor@example.org").status_code == 303
    return client


def post(client: FlaskClient, **fields: str) -> Any:
    token = admin_csrf(client, PAGE)
    return client.post(f"{PAGE}/news", data={"news-csrf_token": token, **HANDED_IN, **fields})


def test_news_is_posted_shown_to_readers_and_removed(app, editor):
    done = post(editor)
    assert done.status_code == 303 and done.headers["Location"].endswith("#petition-news")
    forget_cached()
    page = editor.get(f"/petitions/{SLUG}").get_data(as_text=True)
    assert "Latest news" in page
    assert "<h3>We handed the petition in at Downing Street</h3>" in page
    # Paragraphs as typed, whatever the line endings and stray spaces between them.
    assert "<p>Three of you came with us.</p>" in page
    assert "<p>The Home Office has 10 days to reply.</p><p>We&#39;ll post it here.</p>" in page

    api = editor.get(f"/api/v1/petitions/{SLUG}").get_json()
    assert [n["title"] for n in api["news"]] == [HANDED_IN["news-title"]]

    post(editor, **{"news-title": "The government replied"})
    forget_cached()
    page = editor.get(f"/petitions/{SLUG}").get_data(as_text=True)
    assert page.index("The government replied") < page.index("We handed the petition in")

    with app.app_context():
        first = db.session.scalar(select(PetitionNews).order_by(PetitionNews.id))
        assert first.author == "editor@example.org"
    token = admin_csrf(editor, PAGE)
    removed = editor.post(f"{PAGE}/news/{first.id}/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    forget_cached()
    page = editor.get(f"/petitions/{SLUG}").get_data(as_text=True)
    assert "We handed the petition in" not in page and "The government replied" in page
    assert (
        editor.post(f"{PAGE}/news/{first.id}/remove", data={"csrf_token": token}).status_code == 404
    )
    with app.app_context():
        logged = db.session.scalars(
            select(AuditLog.action).where(AuditLog.action.like("news_%")).order_by(AuditLog.id)
        ).all()
        assert logged == ["news_posted", "news_posted", "news_removed"]


def test_bad_news_gets_messages_and_saves_nothing(app, editor):
    for fields, message in [
        ({"news-title": ""}, "Enter a headline"),
        ({"news-body": "   "}, "Say what happened"),
        ({"news-title": "x" * 121}, "Field cannot be longer than 120 characters"),
    ]:
        response = post(editor, **fields)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    # Without the form's token nothing happens either.
    assert editor.post(f"{PAGE}/news", data=HANDED_IN).status_code == 422
    with app.app_context():
        assert db.session.scalar(select(PetitionNews)) is None


def test_news_on_another_petitions_address_is_not_found(app, editor):
    from tests.factories import make_petition

    post(editor)
    with app.app_context():
        make_petition("other")
        news_id = db.session.scalar(select(PetitionNews.id))
    token = admin_csrf(editor, PAGE)
    wrong = editor.post(f"/admin/petitions/other/news/{news_id}/remove", data={"csrf_token": token})
    assert wrong.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(PetitionNews.id)) == news_id
