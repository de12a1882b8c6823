"""Mail is never lost and never sent twice, whatever the mail server does."""

from __future__ import annotations

import threading

from sqlalchemy import select

from petition.extensions import db
from petition.mail import deliver_due, queue_email
from petition.models import OutboxMessage
from tests.factories import sign
from tests.parts import free_port, start_mailbox


def pending_mail() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))))


def test_mail_waits_while_the_server_is_down_and_goes_once_when_it_is_back(make_app):
    port = free_port()  # nothing listens here yet: the mail server is down
    app = make_app(MAIL_URL=f"smtp://127.0.0.1:{port}")
    client = app.test_client()
    for i in range(3):
        assert sign(client, email=f"reader{i}@example.org").status_code == 303

    with app.app_context():
        report = deliver_due()
        assert (report.sent, report.deferred) == (0, 3)
        waiting = pending_mail()
        assert len(waiting) == 3
        assert all(m.attempts == 1 and m.last_error and m.failed_at is None for m in waiting)

    mailbox = start_mailbox(port)
    try:
        with app.app_context():
            sent = 0
            for _ in range(50):  # retries are due after a (test-sized) backoff
                sent += deliver_due().sent
                if sent == 3:
                    break
                threading.Event().wait(0.02)
            assert sent == 3
            assert pending_mail() == []
            # Delivered messages no longer hold their one-time links.
            assert all(m.context is None for m in db.session.scalars(select(OutboxMessage)))
            assert deliver_due().sent == 0
        received = mailbox.wait_for(3)
        assert sorted(str(m["To"]) for m in received) == [
            f"reader{i}@example.org" for i in range(3)
        ]
        assert len({m["Message-ID"] for m in received}) == 3
    finally:
        mailbox.stop()


def test_two_deliverers_at_once_send_each_message_once(app, mailbox):
    with app.app_context():
        for i in range(40):
            queue_email(
                "confirm",
                f"r{i}@example.org",
                "Subject",
                name="R",
                petition_title="P",
                confirm_url="http://x/c",
                confirm_days=30,
                withdraw_url="http://x/w",
            )
        db.session.commit()

    def deliver() -> None:
        with app.app_context():
            while deliver_due(limit=5):
                pass

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    received = mailbox.wait_for(40)
    assert len(received) == 40
    assert len({str(m["To"]) for m in received}) == 40


def test_no_header_injection_from_any_field(app, mailbox):
    with app.app_context():
        queue_email(
            "confirm",
            "ada@example.org",
            "Hello\r\nBcc: victim@example.org",
            name="Ada\r\nBcc: victim@example.org",
            petition_title="Title\nX-Injected: yes",
            confirm_url="http://x/c",
            confirm_days=30,
            withdraw_url="http://x/w",
        )
        db.session.commit()
        assert deliver_due().sent == 1
    [message] = mailbox.wait_for(1)
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert message["Subject"] == "Hello Bcc: victim@example.org"


def test_console_mail_is_printed(make_app, capsys):
    app = make_app(MAIL_URL="console")
    assert sign(app.test_client(), name="Console Reader").status_code == 303
    with app.app_context():
        assert deliver_due().sent == 1
    printed = capsys.readouterr().err
    assert "To: ada@example.org" in printed
    assert "Hello Console Reader" in printed
    assert "/signatures/confirm/" in printed
