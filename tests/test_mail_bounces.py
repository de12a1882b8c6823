"""Bounces that come back later by email (RFC 3464 notifications to a VERP address), piped to
`flask bounce`: the address that failed for good is suppressed, and nobody can forge one."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from petition import create_app
from petition.extensions import db
from petition.mail import bounces
from petition.models import Suppression
from tests.conftest import make_config
from tests.factories import confirmed_signatures, send_all_mail, sign, signed_in_admin
from tests.test_mailings import HEADLINE, email_the_news, keen, news_received, post_news

BOUNCES = "bounces@petition.test"
VERP = re.compile(r"bounces\+[0-2][0-9a-f]{20}@petition\.test")


def notification(
    returned_to: str, failed: str, status: str = "5.1.1", action: str = "failed"
) -> bytes:
    """A delivery status notification as Postfix writes one."""
    return (
        "From: MAILER-DAEMON@relay.example (Mail Delivery System)\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"To: {returned_to}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="4AB.1"\r\n'
        "\r\n"
        "--4AB.1\r\n"
        "Content-Description: Notification\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "This is the mail system at host relay.example.\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n"
        "\r\n"
        "--4AB.1\r\n"
        "Content-Description: Delivery report\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; relay.example\r\n"
        "X-Postfix-Queue-ID: 4AB\r\n"
        "Arrival-Date: Tue,  1 Dec 2026 09:00:00 +0000 (UTC)\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {failed}\r\n"
        f"Original-Recipient: rfc822;{failed}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        "Remote-MTA: dns; mx.example.org\r\n"
        f"Diagnostic-Code: smtp; 550 {status} <{failed}>: Recipient address\r\n"
        "    rejected: User unknown\r\n"
        "\r\n"
        "--4AB.1\r\n"
        "Content-Description: Undelivered Message Headers\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        f"To: {failed}\r\n"
        "Subject: Please confirm your signature\r\n"
        "\r\n"
        "--4AB.1--\r\n"
    ).encode()


def piped(app: Any, message: bytes, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["bounce", *args], input=message)


def suppressed(app: Any) -> list[tuple[str, str, int]]:
    with app.app_context():
        rows = db.session.scalars(select(Suppression).order_by(Suppression.masked_address))
        return [(r.masked_address, r.reason, r.lane) for r in rows]


def test_a_later_bounce_suppresses_the_address_and_no_more_news_goes_to_it(make_app, mailbox):
    app = make_app(MAIL_BOUNCE_ADDRESS=BOUNCES)
    admin = signed_in_admin(app)
    confirmed_signatures(app, admin, keen(2))
    send_all_mail(app)  # a confirmation and a receipt each
    assert len(mailbox.senders) == 4
    # Each message carries an envelope sender of its own; From is still ours.
    assert all(VERP.fullmatch(sender) for sender in mailbox.senders), mailbox.senders
    # One for each reader and lane.
    assert len(set(mailbox.senders)) == 4
    assert {str(m["From"]) for m in mailbox.messages} == {
        "Refugees Welcome <petition@petition.test>"
    }
    # Where each confirmation's bounce would come back (lane 0: transactional).
    returns = {
        str(m["To"]): sender
        for sender, m in zip(mailbox.senders, mailbox.messages, strict=True)
        if str(m["Subject"]).startswith("Please confirm")
    }
    to_keen0, to_keen1 = returns["keen0@example.org"], returns["keen1@example.org"]
    assert to_keen0.startswith("bounces+0")

    # What must be left alone, each beside the same notification made right.
    for message, said in (
        (notification(to_keen0, "keen0@example.org", "4.4.7", "delayed"), "left alone"),
        (notification(to_keen0, "keen0@example.org", "5.7.1"), "not about the address"),
        (notification(to_keen1, "keen0@example.org"), "not a message we sent"),
        (notification(f"bounces+0{'0' * 20}@petition.test", "keen0@example.org"), "not a me"),
        (notification("petition@petition.test", "keen0@example.org"), "not a message we"),
        (b"From: keen0@example.org\r\nSubject: Out of office\r\n\r\nBack on Monday.\r\n", "not a"),
    ):
        answer = piped(app, message)
        assert answer.exit_code == 0 and said in answer.output, (said, answer.output)
        assert suppressed(app) == []
    answer = piped(app, notification(to_keen0, "keen0@example.org"))
    assert answer.exit_code == 0 and "k***@example.org: suppressed (5.1.1)" in answer.output
    [(masked, reason, lane)] = suppressed(app)
    assert masked == "k***@example.org" and lane == 0
    assert (
        reason == "bounced later: 5.1.1 smtp; 550 5.1.1 <keen0@example.org>: Recipient "
        "address rejected: User unknown"
    )
    # The same again (a relay that sends two): still one entry.
    assert piped(app, notification(to_keen0, "keen0@example.org")).exit_code == 0
    assert len(suppressed(app)) == 1

    email_the_news(admin, post_news(admin))
    send_all_mail(app)
    assert [str(m["To"]) for m in news_received(mailbox)] == ["keen1@example.org"]


def test_the_mail_server_may_say_where_it_delivered_the_notification(make_app, mailbox):
    app = make_app(MAIL_BOUNCE_ADDRESS=BOUNCES)
    with app.app_context():
        returned_to = bounces.return_path("gone@example.org", 0)
    # Postfix's pipe with ${recipient}: the notification's own To may be anything.
    message = notification("someone-else@petition.test", "gone@example.org")
    assert "not a message we sent" in piped(app, message).output
    answer = piped(app, message, "--recipient", returned_to)
    assert "suppressed (5.1.1)" in answer.output, answer.output


def test_without_a_bounce_address_mail_returns_to_mail_from(app, mailbox):
    confirmed_signatures(app, app.test_client(), keen(1))
    send_all_mail(app)
    assert set(mailbox.senders) == {"petition@petition.test"}
    refused = piped(app, notification("petition@petition.test", "keen0@example.org"))
    assert refused.exit_code == 1 and "MAIL_BOUNCE_ADDRESS is not set" in refused.output


def test_a_database_that_is_down_asks_the_mail_server_to_try_again(tmp_path, mailbox):
    config = make_config(
        tmp_path,
        "postgresql://postgres@127.0.0.1:1/nowhere",
        mailbox.url,
        MAIL_BOUNCE_ADDRESS=BOUNCES,
    )
    app = create_app(config)
    with app.app_context():
        returned_to = bounces.return_path("gone@example.org", 0)
    answer = piped(app, notification(returned_to, "gone@example.org"))
    assert answer.exit_code == 75, answer.output
    assert "database is unavailable" in answer.output


def test_a_bounce_address_that_cannot_carry_a_token_stops_the_start(tmp_path):
    def start(address: str) -> str:
        try:
            create_app(
                make_config(
                    tmp_path, f"sqlite:///{tmp_path}/db", "console", MAIL_BOUNCE_ADDRESS=address
                )
            )
        except SystemExit as stop:
            return str(stop)
        return ""

    assert start("bounces@news.example") == ""
    for address in (
        "bounces+x@news.example",
        "bounces@localhost",
        "b" * 43 + "@news.example",
        "news.example",
        "<bounces@news.example>",
    ):
        stopped = start(address)
        assert "MAIL_BOUNCE_ADDRESS" in stopped and "\n" not in stopped, address


def feedback_report(reported: bytes, kind: str = "abuse", whole: bool = True) -> bytes:
    """A mailbox provider's abuse report (ARF, RFC 5965), as a feedback loop sends one: the
    reported message whole, or only its headers."""
    returned = (
        b"Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n" + reported
        if whole
        else b"Content-Type: text/rfc822-headers\r\n\r\n" + reported.split(b"\r\n\r\n")[0]
    )
    return (
        (
            "From: staff@fbl.mailbox.example\r\n"
            f"To: {BOUNCES}\r\n"
            "Subject: Email Feedback Report for IP 192.0.2.1\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=feedback-report; boundary="arf"\r\n'
            "\r\n"
            "--arf\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "\r\n"
            "This is an email abuse report for an email message received from IP 192.0.2.1.\r\n"
            "\r\n"
            "--arf\r\n"
            "Content-Type: message/feedback-report\r\n"
            "\r\n"
            f"Feedback-Type: {kind}\r\n"
            "User-Agent: SomeFeedbackLoop/1.0\r\n"
            "Version: 1\r\n"
            "Source-IP: 192.0.2.1\r\n"
            "Reported-Domain: petition.test\r\n"
            "\r\n"
            "--arf\r\n"
        ).encode()
        + returned
        + b"\r\n--arf--\r\n"
    )


def test_a_spam_complaint_stops_the_readers_updates_as_their_stop_link_would(make_app, mailbox):
    from tests.factories import consent_history, wants_updates

    app = make_app(MAIL_BOUNCE_ADDRESS=BOUNCES)
    admin = signed_in_admin(app)
    confirmed_signatures(app, admin, keen(2))
    email_the_news(admin, post_news(admin))
    send_all_mail(app)
    received = list(zip(mailbox.messages, mailbox.raw, strict=True))
    news = {str(m["To"]): r for m, r in received if str(m["Subject"]).startswith(HEADLINE)}
    assert set(news) == {"keen0@example.org", "keen1@example.org"}
    [confirmation, *_] = (r for m, r in received if str(m["Subject"]).startswith("Please"))

    forged = re.sub(
        rb"(/signatures/stop-updates/)[^>]+", rb"\1MQ.forged", news["keen0@example.org"]
    )
    for report, said in (
        (feedback_report(news["keen0@example.org"], kind="not-spam"), "'not-spam': left alone"),
        (feedback_report(forged), "not ours: left alone"),
        (feedback_report(confirmation), "no stop link of ours: left alone"),
    ):
        answer = piped(app, report)
        assert answer.exit_code == 0 and said in answer.output, (said, answer.output)
        with app.app_context():
            assert wants_updates("keen0@example.org")

    answer = piped(app, feedback_report(news["keen0@example.org"]))
    assert "a spam complaint: updates stopped" in answer.output, answer.output
    # Only the headers came back: the same.
    answer = piped(app, feedback_report(news["keen1@example.org"], whole=False))
    assert "a spam complaint: updates stopped" in answer.output, answer.output
    with app.app_context():
        assert not wants_updates("keen0@example.org") and not wants_updates("keen1@example.org")
        assert consent_history("keen0@example.org")[-1].route == "marked as spam"
    mailbox.clear()
    email_the_news(admin, post_news(admin, "More news"))
    send_all_mail(app)
    assert news_received(mailbox, "More news") == []


def test_a_bounce_postfix_writes_comes_back_to_its_address_and_suppresses_it(make_app, tmp_path):
    """The whole way round with a real relay: Postfix takes both messages, the domain's server
    refuses one address, Postfix writes the notification and sends it to that message's own
    envelope sender, and what arrives there, piped to `flask bounce`, suppresses the address.
    On the way, the message that got through keeps a DKIM signature that checks out."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.parts import start_mailbox
    from tests.processes import Postfix
    from tests.test_mail_dkim import SELECTOR, checks_out, key_file, published

    far, home = start_mailbox(), start_mailbox()  # example.org's mail server; ours
    far.refuse["gone@example.org"] = "550 5.1.1 <gone@example.org>: User unknown"
    relay = Postfix({"example.org": far.port, "petition.test": home.port}).start()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    try:
        app = make_app(
            MAIL_URL=relay.url,
            MAIL_BOUNCE_ADDRESS=BOUNCES,
            MAIL_DKIM_KEY_FILE=key_file(tmp_path, key),
            MAIL_DKIM_SELECTOR=SELECTOR,
        )
        client = app.test_client()
        for address in ("gone@example.org", "here@example.org"):
            assert sign(client, email=address).status_code == 303
        send_all_mail(app)  # the relay takes both
        assert suppressed(app) == []
        [delivered] = far.wait_for(1, timeout=30)
        assert str(delivered["To"]) == "here@example.org" and VERP.fullmatch(far.senders[0])
        # Postfix added its own headers on the way; our DKIM signature still checks out.
        assert far.raw[0].startswith(b"Received: from ")
        assert checks_out(far.raw[0], published(app))
        [notice] = home.wait_for(1, timeout=30)
        assert str(notice["Subject"]) == "Undelivered Mail Returned to Sender"
        answer = piped(app, home.raw[0])
    finally:
        log = relay.log()
        relay.stop()
        far.stop()
        home.stop()
    assert "g***@example.org: suppressed (5.1.1)" in answer.output, (answer.output, log[-3000:])
    [(masked, reason, lane)] = suppressed(app)
    assert masked == "g***@example.org" and lane == 0 and "User unknown" in reason


def test_whatever_else_arrives_is_left_alone_without_a_fault(make_app, mailbox):
    """A bounce address receives anything: none of it stops the pipe with a traceback."""
    import os

    app = make_app(MAIL_BOUNCE_ADDRESS=BOUNCES)
    with app.app_context():
        returned_to = bounces.return_path("gone@example.org", 0)
    report = 'Content-Type: multipart/report; report-type={}; boundary="b"\r\n\r\n'
    whole = notification(returned_to, "gone@example.org")
    for junk in (
        b"",
        os.urandom(4000),
        whole[: len(whole) // 2],  # cut short
        whole.replace(b"Content-Type: message/delivery-status", b"Content-Type: text/plain"),
        report.format("delivery-status").encode()
        + b"--b\r\nContent-Type: message/delivery-status\r\n\r\n\x00\xff\r\n--b--\r\n",
        report.format("feedback-report").encode()
        + b"--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
        + b"\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n\r\n--b--\r\n",
        report.format("feedback-report").encode()
        + b"--b\r\nContent-Type: text/rfc822-headers; charset=x-unknown\r\n\r\n\xff\r\n--b--\r\n",
    ):
        answer = piped(app, junk)
        assert answer.exit_code == 0 and "left alone" in answer.output, (junk[:80], answer.output)
    assert suppressed(app) == []
    assert "suppressed (5.1.1)" in piped(app, whole).output  # the control


def test_a_bounce_of_mail_sent_before_the_key_changed_still_counts(make_app, mailbox):
    old_key, new_key = "an-email-hash-key-before-rotation", "an-email-hash-key-after-rotation"
    before = make_app(MAIL_BOUNCE_ADDRESS=BOUNCES, EMAIL_HASH_KEY=old_key)
    with before.app_context():
        returned_to = bounces.return_path("gone@example.org", 1)
    rotated = make_app(MAIL_BOUNCE_ADDRESS=BOUNCES, EMAIL_HASH_KEY=new_key)
    assert (
        "not a message we sent"
        in piped(rotated, notification(returned_to, "gone@example.org")).output
    )
    after = make_app(
        MAIL_BOUNCE_ADDRESS=BOUNCES, EMAIL_HASH_KEY=new_key, EMAIL_HASH_KEY_FALLBACKS=old_key
    )
    answer = piped(after, notification(returned_to, "gone@example.org"))
    assert "suppressed (5.1.1)" in answer.output, answer.output
    [(_, _, lane)] = suppressed(after)
    assert lane == 1
