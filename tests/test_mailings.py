"""Emailing petition news to the signers who want updates: once, by reference, stoppable."""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from petition.extensions import db
from petition.models import AuditLog, Mailing, MailingState, OutboxMessage, PetitionNews
from petition.services import mailings, privacy
from petition.services.audit import Actor
from petition.services.errors import InvalidInput
from tests.factories import (
    SLUG,
    admin_csrf,
    confirmed_signatures,
    log_in,
    make_admin,
    send_all_mail,
    sign,
    signature_for,
    signed_in_admin,
    signer,
    wants_updates,
)
from tests.parts import text_of

PAGE = f"/admin/petitions/{SLUG}"
HEADLINE = "We handed the petition in at Downing Street"


def post_news(client: FlaskClient, title: str = HEADLINE) -> int:
    token = admin_csrf(client, PAGE)
    done = client.post(
        f"{PAGE}/news",
        data={"news-csrf_token": token, "news-title": title, "news-body": "Three of you came."},
    )
    assert done.status_code == 303
    with client.application.app_context():
        return db.session.scalar(select(PetitionNews.id).order_by(PetitionNews.id.desc()))


def email_the_news(client: FlaskClient, news_id: int) -> Any:
    token = admin_csrf(client, PAGE)
    return client.post(f"{PAGE}/news/{news_id}/email", data={"csrf_token": token})


def news_received(mailbox: Any, title: str = HEADLINE) -> list[Any]:
    return [m for m in mailbox.messages if m["Subject"].startswith(title)]


def keen(n: int, prefix: str = "keen") -> list[dict[str, str]]:
    return [signer(email=f"{prefix}{i}@example.org", consent_updates="y") for i in range(n)]


def test_news_is_emailed_once_after_staff_see_how_many_it_will_reach(app, admin, mailbox):
    confirmed_signatures(app, admin, [*keen(2), signer(email="quiet@example.org")])
    sign(admin, email="pending@example.org", consent_updates="y")
    news_id = post_news(admin)
    page = admin.get(PAGE).get_data(as_text=True)
    assert "Email it to the signers who want updates" in page

    # The button asks first, with the number of people and a test to oneself.
    ask = admin.get(f"{PAGE}/news/{news_id}/email")
    assert ask.status_code == 200
    asked = ask.get_data(as_text=True)
    assert "Email 2 people?" in asked and "Yes, email 2 people" in asked
    assert "Send me a test" in asked
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Mailing)) == 0

    emailed = email_the_news(admin, news_id)
    assert emailed.status_code == 303
    assert "Emailing the news to 2 signer(s)" in admin.get(PAGE).get_data(as_text=True)
    send_all_mail(app)
    messages = news_received(mailbox)
    assert sorted(m["To"] for m in messages) == ["keen0@example.org", "keen1@example.org"]
    text = text_of(messages[0])
    assert "Three of you came." in text and f"/petitions/{SLUG}" in text
    assert "/signatures/stop-updates/" in text

    # A second press (or a second admin) sends nothing more.
    again = email_the_news(admin, news_id)
    assert "already been emailed" in admin.get(again.headers["Location"]).get_data(as_text=True)
    send_all_mail(app)
    assert len(news_received(mailbox)) == 2
    assert "2 of 2 sent" in admin.get(PAGE).get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "news_emailed"))
        assert entry.row_count == 2 and entry.actor == "admin@example.org"


def test_the_unsubscribe_header_is_one_bare_address_in_the_raw_message(make_app, mailbox):
    # A real domain makes the header longer than a folded line (78 characters).
    app = make_app(PUBLIC_URL="https://campaigns.a-newspaper-with-quite-a-long-name.example")
    admin = signed_in_admin(app)
    confirmed_signatures(app, admin, keen(1))
    email_the_news(admin, post_news(admin))
    send_all_mail(app)
    [raw] = [r for r in mailbox.raw if b"\r\nList-Unsubscribe-Post:" in r]
    headers = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    [line] = [h for h in headers.split("\r\n") if h.startswith("List-Unsubscribe:")]
    match = re.fullmatch(r"List-Unsubscribe: <(https://[^<>\s]+)>", line)
    assert match, line  # unencoded, unfolded: what mailbox providers read
    assert len(line) > 78
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in headers + "\r\n"
    assert "=?utf-8?" not in line

    # What a mail program's "Unsubscribe" button sends (RFC 8058): a POST, no page, no Origin.
    path = urlsplit(match.group(1)).path
    assert admin.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with app.app_context():
        assert not wants_updates("keen0@example.org")
        assert signature_for("keen0@example.org").state.value == "confirmed"


def test_a_mailing_stores_its_text_once_and_queues_recipients_a_chunk_at_a_time(make_app, mailbox):
    app = make_app(MAILING_CHUNK=2)
    admin = signed_in_admin(app)
    confirmed_signatures(app, admin, keen(5))
    email_the_news(admin, post_news(admin))
    with app.app_context():
        # Nothing is queued by the press itself: the worker adds the recipients.
        assert (
            db.session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "news")
            )
            == 0
        )
        added = []
        while n := mailings.queue_next_chunk():
            added.append(n)
        assert added == [2, 2, 1]  # one transaction per chunk, never more than a chunk
        mailing = db.session.scalar(select(Mailing))
        assert mailing.state == MailingState.QUEUED and mailing.queued_count == 5
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "news")).all()
        # Each recipient row is a reference: no address, subject or text of its own.
        assert len(rows) == 5
        assert all(r.mailing_id == mailing.id and r.signature_id for r in rows)
        assert all(r.to_address is None and r.subject is None and r.context is None for r in rows)
        assert {r.lane for r in rows} == {1}
    send_all_mail(app)
    assert len(news_received(mailbox)) == 5


def test_someone_who_stops_updates_or_is_erased_after_queueing_gets_nothing(app, admin, mailbox):
    confirmed_signatures(app, admin, keen(3))
    send_all_mail(app)  # their confirmation emails
    mailbox.clear()
    email_the_news(admin, post_news(admin))
    with app.app_context():
        while mailings.queue_next_chunk():
            pass
        leaving = signature_for("keen0@example.org").id
    with app.test_request_context():
        stop_url = mailings.unsubscribe_url(leaving)
    assert admin.post(urlsplit(stop_url).path).status_code == 200
    with app.app_context():
        privacy.erase(privacy.Person.by_address("keen1@example.org"), Actor("admin@example.org"))
    send_all_mail(app)
    assert [m["To"] for m in news_received(mailbox)] == ["keen2@example.org"]
    with app.app_context():  # what was not sent is not kept either
        news = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "news")
        assert db.session.scalar(news) == 1


def test_stopping_a_mailing_keeps_back_whatever_is_still_queued(app, admin, mailbox):
    confirmed_signatures(app, admin, keen(4))
    send_all_mail(app)  # their confirmation emails
    mailbox.clear()
    news_id = post_news(admin)
    email_the_news(admin, news_id)
    with app.app_context():
        while mailings.queue_next_chunk():
            pass
        from petition.mail import deliver_due

        assert deliver_due(limit=1).sent == 1  # one has gone already
    page = admin.get(PAGE).get_data(as_text=True)
    assert "Stop this mailing" in page and "1 of 4 sent" in page
    token = admin_csrf(admin, PAGE)
    stopped = admin.post(f"{PAGE}/news/{news_id}/email/stop", data={"csrf_token": token})
    assert "3 email(s) still queued will not be sent" in admin.get(
        stopped.headers["Location"]
    ).get_data(as_text=True)
    send_all_mail(app)
    assert len(news_received(mailbox)) == 1
    page = admin.get(PAGE).get_data(as_text=True)
    assert "stopped, 1 sent" in page and "Stop this mailing" not in page
    with app.app_context():
        assert (
            db.session.scalar(
                select(AuditLog.row_count).where(AuditLog.action == "mailing_stopped")
            )
            == 3
        )


def test_removing_the_news_stops_its_mailing(app, admin, mailbox):
    confirmed_signatures(app, admin, keen(2))
    news_id = post_news(admin)
    email_the_news(admin, news_id)
    token = admin_csrf(admin, PAGE)
    assert (
        admin.post(f"{PAGE}/news/{news_id}/remove", data={"csrf_token": token}).status_code == 303
    )
    send_all_mail(app)
    assert news_received(mailbox) == []
    with app.app_context():
        mailing = db.session.scalar(select(Mailing))
        assert mailing.state == MailingState.STOPPED and mailing.news_id is None


def test_a_test_send_goes_to_the_admin_only(app, admin, mailbox):
    confirmed_signatures(app, admin, keen(2))
    send_all_mail(app)
    mailbox.clear()
    news_id = post_news(admin)
    token = admin_csrf(admin, f"{PAGE}/news/{news_id}/email")
    sent = admin.post(f"{PAGE}/news/{news_id}/email/test", data={"csrf_token": token})
    assert sent.headers["Location"].endswith(f"/news/{news_id}/email")
    assert "A test is on its way to admin@example.org" in admin.get(
        sent.headers["Location"]
    ).get_data(as_text=True)
    send_all_mail(app)
    [test] = mailbox.messages
    assert test["To"] == "admin@example.org" and test["Subject"].startswith("[Test] " + HEADLINE)
    assert test["List-Unsubscribe"] is None
    assert "A test for campaign staff" in text_of(test)
    with app.app_context():  # and it did not use up the one mailing
        assert db.session.scalar(select(func.count()).select_from(Mailing)) == 0


def test_only_admins_email_signers(app, client):
    with app.app_context():
        make_admin("editor@example.org", role="editor")
    log_in(client, "editor@example.org")
    news_id = post_news(client)
    assert "An admin can email it" in client.get(PAGE).get_data(as_text=True)
    assert client.get(f"{PAGE}/news/{news_id}/email").status_code == 403
    token = admin_csrf(client, PAGE)
    for action in ("email", "email/test", "email/stop"):
        response = client.post(f"{PAGE}/news/{news_id}/{action}", data={"csrf_token": token})
        assert response.status_code == 403


def test_two_admins_emailing_at_the_same_moment_send_it_once(app, admin):
    confirmed_signatures(app, admin, keen(3, "k"))
    news_id = post_news(admin)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def press(who: str) -> None:
        with app.app_context():
            barrier.wait()
            try:
                outcomes.append(mailings.start(SLUG, news_id, Actor(who)))
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
        while mailings.queue_next_chunk():
            pass
        queued = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "news")
        assert db.session.scalar(queued) == 3


@pytest.mark.parametrize("path", ["email", "email/stop"])
def test_news_of_another_petition_is_not_found(app, admin, path):
    from tests.factories import make_petition

    news_id = post_news(admin)
    with app.app_context():
        make_petition("other")
    token = admin_csrf(admin, PAGE)
    wrong = admin.post(f"/admin/petitions/other/news/{news_id}/{path}", data={"csrf_token": token})
    assert wrong.status_code == 404
