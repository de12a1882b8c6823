"""News on a petition's page: what happened next, posted by staff, read by everyone."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import url_for
from flask.testing import FlaskClient
from sqlalchemy import select

from petition.extensions import db
from petition.mail import deliver_due
from petition.models import AuditLog, PetitionNews
from petition.security.stop_links import stop_token
from tests.factories import (
    SLUG,
    admin_csrf,
    confirmed_signatures,
    forget_cached,
    log_in,
    make_admin,
    sign,
    signature_for,
    signer,
)
from tests.parts import text_of

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
    assert "News from the campaign" in page
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


def news_emails(app: Any, mailbox: Any) -> list[Any]:
    """Deliver what is queued; the news emails among what arrived."""
    with app.app_context():
        while deliver_due():
            pass
    return [m for m in mailbox.messages if m["Subject"].startswith(HANDED_IN["news-title"])]


def stop_link(message: Any) -> str:
    """The address in the List-Unsubscribe header (long headers are folded onto a new line)."""
    return message["List-Unsubscribe"].strip().removeprefix("<").removesuffix(">")


def email_the_news(client: FlaskClient) -> Any:
    with client.application.app_context():
        news_id = db.session.scalar(select(PetitionNews.id).order_by(PetitionNews.id.desc()))
    token = admin_csrf(client, PAGE)
    return client.post(f"{PAGE}/news/{news_id}/email", data={"csrf_token": token})


def test_news_is_emailed_once_to_confirmed_signers_who_want_updates(app, admin, mailbox):
    keen = [signer(email=f"keen{i}@example.org", consent_updates="y") for i in range(2)]
    confirmed_signatures(app, admin, [*keen, signer(email="quiet@example.org")])
    sign(admin, email="pending@example.org", consent_updates="y")
    post(admin)
    page = admin.get(PAGE).get_data(as_text=True)
    assert "Email it to 2 signers who want updates" in page

    emailed = email_the_news(admin)
    assert emailed.status_code == 303
    assert "Emailing the news to 2 signer(s)" in admin.get(PAGE).get_data(as_text=True)
    messages = news_emails(app, mailbox)
    assert sorted(m["To"] for m in messages) == ["keen0@example.org", "keen1@example.org"]
    message = messages[0]
    text = text_of(message)
    assert "Three of you came with us." in text and f"/petitions/{SLUG}" in text
    stop_url = stop_link(message)
    assert stop_url in text and "/signatures/stop-updates/" in stop_url
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # A second press (or a second admin) sends nothing more.
    again = email_the_news(admin)
    assert "already been emailed" in admin.get(again.headers["Location"]).get_data(as_text=True)
    assert len(news_emails(app, mailbox)) == 2
    assert "Emailed to 2 on" in admin.get(PAGE).get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "news_emailed"))
        assert entry.row_count == 2 and entry.actor == "admin@example.org"


def test_the_stop_link_works_in_one_click_and_keeps_the_signature(app, admin, mailbox):
    confirmed_signatures(app, admin, [signer(consent_updates="y")])
    post(admin)
    email_the_news(admin)
    [message] = news_emails(app, mailbox)
    path = urlsplit(stop_link(message)).path

    page = admin.get(path)
    assert page.status_code == 200 and "Stop campaign updates" in page.get_data(as_text=True)
    with app.app_context():
        assert signature_for("ada@example.org").consent_updates  # looking changes nothing
    # What a mail program's "Unsubscribe" button sends (RFC 8058): no page, no Origin.
    one_click = admin.post(path, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    with app.app_context():
        signature = signature_for("ada@example.org")
        assert not signature.consent_updates and signature.consent_withdrawn_at
        assert signature.state.value == "confirmed"
    assert "already stopped" in admin.get(path).get_data(as_text=True)
    assert admin.post(path[:-2] + "xx").status_code == 404
    assert admin.get("/signatures/stop-updates/" + "a" * 101).status_code == 404


def test_news_queued_for_someone_who_then_stops_updates_is_not_sent(app, admin, mailbox):
    people = [signer(email="leaving@example.org", consent_updates="y")]
    confirmed_signatures(
        app, admin, [*people, signer(email="staying@example.org", consent_updates="y")]
    )
    with app.app_context():
        deliver_due()  # their confirmation emails
        leaving = signature_for("leaving@example.org").id
    post(admin)
    email_the_news(admin)  # queued, not yet sent
    with app.test_request_context():
        path = url_for("public.stop_updates_link", token=stop_token(leaving))
    admin.post(path)
    assert [m["To"] for m in news_emails(app, mailbox)] == ["staying@example.org"]


def test_only_admins_email_signers(app, editor):
    post(editor)
    assert "An admin can email it" in editor.get(PAGE).get_data(as_text=True)
    assert email_the_news(editor).status_code == 403


def test_two_admins_emailing_at_the_same_moment_send_it_once(app, admin):
    import threading

    from petition.models import OutboxMessage
    from petition.services import petitions
    from petition.services.audit import Actor
    from petition.services.errors import InvalidInput

    confirmed_signatures(
        app, admin, [signer(email=f"k{i}@example.org", consent_updates="y") for i in range(3)]
    )
    post(admin)
    with app.app_context():
        news_id = db.session.scalar(select(PetitionNews.id))
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def press(who: str) -> None:
        with app.app_context():
            barrier.wait()
            try:
                outcomes.append(petitions.email_news(SLUG, news_id, Actor(who)))
            except InvalidInput as exc:
                outcomes.append(exc.errors["news"])
            finally:
                db.session.remove()

    threads = [threading.Thread(target=press, args=(f"{who}@example.org",)) for who in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes, key=str) == [3, "This news has already been emailed"]
    with app.app_context():
        queued = select(OutboxMessage).where(OutboxMessage.kind == "news")
        assert len(db.session.scalars(queued).all()) == 3
