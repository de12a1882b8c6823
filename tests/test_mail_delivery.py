"""Delivering the outbox: lanes, small claims, holds, refusals and the suppression list."""

from __future__ import annotations

import html
import logging
import re
import secrets
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from petition.extensions import db
from petition.mail import deliver_due, queue_email
from petition.mail import delivery as mail_delivery
from petition.mail.delivery import Deliverer, RateLimiter
from petition.models import Lane, OutboxMessage, Suppression, utcnow
from tests.factories import (
    SLUG,
    confirmed_signatures,
    links_in,
    log_in,
    make_admin,
    send_all_mail,
    sign,
    signature_for,
    signer,
)
from tests.parts import text_of

CONFIRM_CONTEXT = {
    "name": "R",
    "petition_title": "P",
    "confirm_url": "http://x/c",
    "confirm_days": 30,
    "withdraw_url": "http://x/w",
    "receives_updates": False,
}


def queue_confirmations(n: int, prefix: str = "r") -> None:
    for i in range(n):
        queue_email("confirm", f"{prefix}{i}@example.org", "Please confirm", **CONFIRM_CONTEXT)
    db.session.commit()


def queue_news_mailing(app: Any, client: Any, people: int) -> None:
    """Confirmed signers who want updates, and a news mailing to them, queued."""
    from petition.services import mailings
    from tests.test_mailings import email_the_news, keen, post_news

    with app.app_context():
        make_admin()
    log_in(client)
    confirmed_signatures(app, client, keen(people))
    send_all_mail(app)  # their confirmation emails
    email_the_news(client, post_news(client))
    with app.app_context():
        while mailings.queue_next_chunk():
            pass


def test_a_confirmation_leaves_before_a_mailing_queued_earlier(app, client, mailbox):
    queue_news_mailing(app, client, 30)
    mailbox.clear()
    assert sign(client, email="newcomer@example.org").status_code == 303
    with app.app_context():
        report = deliver_due(limit=5)
    # The confirmation went first, then a batch of the mailing.
    assert report.sent == 6
    first, *rest = mailbox.wait_for(6)
    assert first["To"] == "newcomer@example.org" and "confirm" in first["Subject"].lower()
    assert all(m["Subject"].startswith("We handed") for m in rest)
    send_all_mail(app)
    assert len(mailbox.messages) == 31


def test_message_ids_are_stable_per_message_and_reveal_no_sequence(app, mailbox):
    with app.app_context():
        queue_confirmations(3)
        send_all_mail(app)
        ids = db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)).all()
    message_ids = [m["Message-ID"] for m in mailbox.wait_for(3)]
    assert len(set(message_ids)) == 3
    for outbox_id, message_id in zip(ids, sorted(message_ids, key=lambda m: m), strict=True):
        assert f"outbox.{outbox_id}@" not in message_id
    local_parts = [m.strip("<>").split("@")[0] for m in message_ids]
    assert all(len(part) == 32 for part in local_parts)
    with app.app_context():  # the same message gets the same id if it is ever sent again
        from petition.mail.message import _message_key

        assert _message_key(ids[0]) == _message_key(ids[0]) != _message_key(ids[1])


def test_a_550_is_tried_once_and_suppresses_the_address_for_campaign_mail(app, client, mailbox):
    mailbox.refuse["keen1@example.org"] = "550 5.1.1 No such user here"
    queue_news_mailing(app, client, 3)
    with app.app_context():
        failed = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.to_address == "keen1@example.org")
        )
        # Its confirmation was refused once, for good: no second attempt, no retry scheduled.
        assert failed.failed_at is not None and failed.attempts == 0
        assert "550" in failed.last_error
        assert db.session.scalar(select(func.count()).select_from(Suppression)) == 1
    send_all_mail(app)
    news = [m["To"] for m in mailbox.messages if m["Subject"].startswith("We handed")]
    assert sorted(news) == ["keen0@example.org", "keen2@example.org"]  # not to the suppressed one
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.kind == "news", OutboxMessage.to_address.is_not(None))
            )
            == 0
        )
    # Staff see it, with its reason, on the mail page.
    page = client.get("/admin/mail").get_data(as_text=True)
    assert "k***@example.org" in page and "No such user here" in page
    assert "keen1@example.org" in page  # in the failed mail list, for admins


def test_a_reader_acting_again_still_gets_their_link_and_comes_off_the_list(app, client, mailbox):
    mailbox.refuse["ada@example.org"] = "550 5.1.1 Mailbox unavailable"
    assert sign(client, email="ada@example.org").status_code == 303
    send_all_mail(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Suppression)) == 1
    mailbox.refuse.clear()  # the reader fixed their mailbox, and signs again
    assert sign(client, email="Ada@example.org").status_code == 303
    send_all_mail(app)
    [arrived] = mailbox.messages
    assert "already signed" in arrived["Subject"].lower()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Suppression)) == 0


@pytest.mark.parametrize(
    ("when", "answer", "the_address_is_blamed"),
    [
        ("recipient", "554 5.7.1 <ada@example.org>: Relay access denied", False),
        ("data", "554 5.7.1 Message rejected: Email address is not verified", False),
        ("data", "550 5.6.0 Message content rejected", False),
        ("data", "552 5.2.2 Mailbox full", False),
        ("data", "550 5.1.1 Mailbox unavailable", True),
        ("recipient", "550 5.4.4 Unable to route: no mail servers for domain", True),
        ("recipient", "550 No such user here", True),  # a server with no enhanced codes
    ],
)
def test_only_a_refusal_of_the_address_suppresses_it(
    app, client, mailbox, when, answer, the_address_is_blamed
):
    """A relay that will not take mail from us (relaying denied, a sender it does not know)
    refuses every reader alike: nobody is suppressed for our mistake, and their mail goes once
    the relay is mended. A mailbox that does not exist is refused for good."""
    refusals = mailbox.refuse if when == "recipient" else mailbox.refuse_data
    refusals["ada@example.org"] = answer
    assert sign(client).status_code == 303
    with app.app_context():
        report = deliver_due()
        message = db.session.scalar(select(OutboxMessage))
        suppressed = db.session.scalar(select(func.count()).select_from(Suppression))
        assert answer.split()[0] in message.last_error
    if the_address_is_blamed:
        assert (report.failed, report.deferred, suppressed) == (1, 0, 1)
        assert message.failed_at is not None
        return
    assert (report.failed, report.deferred, suppressed) == (0, 1, 0)
    assert message.failed_at is None and message.attempts == 1
    refusals.clear()  # the operator mends the relay: the confirmation goes, once
    with app.app_context():
        db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
        db.session.commit()
    send_all_mail(app)
    assert [m["To"] for m in mailbox.messages] == ["ada@example.org"]


def test_staff_see_why_mail_is_waiting_for_a_retry(admin, mailbox, caplog):
    """A relay refusing everyone shows on the mail page, with its words, not only as a count,
    and in the log."""
    mailbox.refuse["ada@example.org"] = "554 5.7.1 <ada@example.org>: Relay access denied"
    # Retries a few minutes apart, as in production (the tests' own are milliseconds apart,
    # so the message could be due again before the page is read).
    admin.application.config.update(MAIL_RETRY_BASE_SECONDS=300, MAIL_RETRY_MAX_SECONDS=300)
    assert sign(admin).status_code == 303
    page = admin.get("/admin/mail").get_data(as_text=True)
    assert "Relay access denied" not in page  # the control: nothing has been tried yet
    with admin.application.app_context(), caplog.at_level(logging.WARNING, "petition.mail"):
        assert deliver_due().deferred == 1
    assert "not for its address; will retry: 554 5.7.1" in caplog.text
    page = admin.get("/admin/mail").get_data(as_text=True)
    retrying = re.search(r"<dt>Retrying later</dt><dd>(\d+)</dd>(.*?)</div>", page, re.S)
    assert retrying is not None and retrying.group(1) == "1"
    assert "554 5.7.1 &lt;ada@example.org&gt;: Relay access denied" in retrying.group(2)


def test_one_reader_refused_for_now_holds_up_nobody_else(app, client, mailbox):
    """Greylisting one address defers its message alone; the rest of the batch goes."""
    mailbox.refuse["r1@example.org"] = "451 4.7.1 Greylisted, try again later"
    for n in range(3):
        assert sign(client, email=f"r{n}@example.org").status_code == 303
    with app.app_context():
        report = deliver_due()
    assert (report.sent, report.deferred, report.failed) == (2, 1, 0)
    assert sorted(m["To"] for m in mailbox.messages) == ["r0@example.org", "r2@example.org"]


def test_a_451_is_retried_with_backoff(app, client, mailbox):
    mailbox.refuse["ada@example.org"] = "451 4.7.1 Greylisted, try again later"
    assert sign(client).status_code == 303
    with app.app_context():
        report = deliver_due()
        assert (report.sent, report.deferred, report.failed) == (0, 1, 0)
        message = db.session.scalar(select(OutboxMessage))
        assert message.attempts == 1 and message.failed_at is None
        assert message.next_attempt_at > utcnow() - timedelta(seconds=1)
        assert "451" in message.last_error
        assert db.session.scalar(select(func.count()).select_from(Suppression)) == 0
    mailbox.refuse.clear()
    import time

    deadline = time.monotonic() + 5
    while not mailbox.messages and time.monotonic() < deadline:
        with app.app_context():
            deliver_due()
        time.sleep(0.02)
    assert [m["To"] for m in mailbox.messages] == ["ada@example.org"]


def test_a_programming_error_is_logged_and_not_retried(app, mailbox, caplog):
    with app.app_context():
        db.session.execute(
            OutboxMessage.__table__.insert().values(
                lane=0,
                kind="no_such_template",
                to_address="ada@example.org",
                subject="Hello",
                context={},
                created_at=utcnow(),
                next_attempt_at=utcnow(),
                attempts=0,
            )
        )
        queue_confirmations(1)
        with caplog.at_level(logging.ERROR, logger="petition.mail"):
            report = deliver_due()
        assert (report.sent, report.failed) == (1, 1)  # the good one still went
        broken = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "no_such_template")
        )
        assert broken.failed_at is not None and "internal error" in broken.last_error
        assert deliver_due().failed == 0  # not tried again
        assert db.session.scalar(select(func.count()).select_from(Suppression)) == 0
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)


def test_a_batch_whose_hold_passed_to_another_worker_sends_nothing_of_it(app, mailbox):
    with app.app_context():
        queue_confirmations(5)
        first = mail_delivery._claim(Lane.TRANSACTIONAL, 5, secrets.token_hex(16))
        # Its hold runs out (say it was stalled), and another worker takes the messages.
        db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
        db.session.commit()
        second = mail_delivery._claim(Lane.TRANSACTIONAL, 5, secrets.token_hex(16))
        assert first is not None and second is not None and second.held == first.held
        first.renewed -= app.config["OUTBOX_LEASE_SECONDS"]  # due to check its hold
        report = mail_delivery.DeliveryReport()
        Deliverer()._send(first, report)
        assert report.sent == 0 and mailbox.messages == []
        Deliverer()._send(second, report)
        assert report.sent == 5
    assert len(mailbox.wait_for(5)) == 5


def test_a_send_that_outlasts_its_hold_keeps_it_and_goes_once(app, mailbox, caplog):
    """A relay slow to answer the final dot: 2.5 s a message, against holds of one second.
    While the first worker waits, a second looks for due mail twice the hold later. It takes
    a message whose worker died (the control: an ended hold is taken), never the one being
    sent, whose hold is kept for as long as the send waits."""
    app.config["OUTBOX_LEASE_SECONDS"] = 1.0
    mailbox.delay = 2.5
    try:
        with app.app_context():
            queue_confirmations(1, prefix="slow")
            queue_confirmations(1, prefix="orphan")
            # The orphan was taken by a worker that died: its hold ends in a second.
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.to_address == "orphan0@example.org")
                .values(claim="dead-worker", next_attempt_at=utcnow() + timedelta(seconds=1))
            )
            db.session.commit()
        reports: list[mail_delivery.DeliveryReport] = []

        def first_worker() -> None:
            with app.app_context():
                reports.append(deliver_due())

        caplog.set_level(logging.INFO, logger="petition.mail")
        sending = threading.Thread(target=first_worker)
        sending.start()
        mailbox_seen = time.monotonic()
        time.sleep(2.0)  # two holds' length into the first send
        assert sending.is_alive() and mailbox.messages == []
        with app.app_context():
            second = deliver_due()
        sending.join(timeout=10)
        assert time.monotonic() - mailbox_seen >= 2.5
    finally:
        mailbox.delay = 0.0
    assert [r.sent for r in reports] == [1] and second.sent == 1
    arrived = sorted(str(m["To"]) for m in mailbox.wait_for(2))
    time.sleep(0.5)
    assert sorted(str(m["To"]) for m in mailbox.messages) == arrived
    assert arrived == ["orphan0@example.org", "slow0@example.org"]
    assert any("hold kept" in r.getMessage() for r in caplog.records)  # the operator is told
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(OutboxMessage.sent_at.is_(None))) == 0


def test_a_relay_slow_to_answer_the_data_is_waited_for_so_the_message_goes_once(
    app, mailbox, monkeypatch
):
    """Once the final dot is sent the relay may have taken the message: giving up on its answer
    and trying again would send it twice. Commands before the data keep the short timeout
    (the control: a relay as slow to answer RCPT is given up on, and nothing has gone)."""
    monkeypatch.setattr(mail_delivery, "SMTP_TIMEOUT_SECONDS", 0.5)
    with app.app_context():
        mailbox.rcpt_delay = 1.5
        queue_confirmations(1, prefix="early")
        early = deliver_due()
        assert (early.sent, early.deferred) == (0, 1)
        mailbox.rcpt_delay = 0.0

        # Three times the command timeout at the final dot, for the retry and a new message.
        mailbox.delay = 1.5
        queue_confirmations(1, prefix="slow")
        time.sleep(0.1)  # the retry is due
        slow = deliver_due()
        assert (slow.sent, slow.deferred) == (2, 0)
        mailbox.delay = 0.0
        time.sleep(0.2)
        assert not deliver_due()  # nothing was left to send again
    time.sleep(0.5)
    assert sorted(str(m["To"]) for m in mailbox.messages) == [
        "early0@example.org",
        "slow0@example.org",
    ]


def test_a_worker_asked_to_stop_finishes_its_message_and_hands_back_the_rest_at_once(app, mailbox):
    """A deploy stops the worker in the middle of a batch (compose waits 10 s, then kills it).
    It finishes the message it is sending, hands the rest back due at once rather than at the
    end of its hold, and stops in well under a batch's time; the next worker sends each of the
    rest once."""
    from petition.worker import Worker

    app.config["MAIL_WORKER_THREADS"] = 1
    mailbox.delay = 0.4  # 20 messages: 8 s for the batch
    with app.app_context():
        queue_confirmations(20, prefix="deploy")
    stop = threading.Event()
    worker = threading.Thread(target=Worker(app).run, args=(stop,), daemon=True)
    worker.start()
    try:
        mailbox.wait_for(2)
        stop.set()
        asked = time.monotonic()
        worker.join(5)
        stopped_in = time.monotonic() - asked
    finally:
        stop.set()
        mailbox.delay = 0.0
    assert not worker.is_alive() and stopped_in < 1.5
    sent_before = len(mailbox.messages)
    assert 2 <= sent_before < 5
    with app.app_context():
        left = db.session.execute(
            select(OutboxMessage.claim, OutboxMessage.next_attempt_at).where(
                OutboxMessage.sent_at.is_(None)
            )
        ).all()
        assert len(left) == 20 - sent_before
        assert all(claim is None and due <= utcnow() for claim, due in left)
        assert deliver_due().sent == 20 - sent_before
    time.sleep(0.3)
    addresses = [str(m["To"]) for m in mailbox.messages]
    assert sorted(addresses) == sorted(f"deploy{i}@example.org" for i in range(20))


def test_the_bulk_rate_paces_a_worker():
    now = [0.0]
    waited: list[float] = []
    limiter = RateLimiter(4, clock=lambda: now[0])
    limiter_sleep = mail_delivery.time.sleep
    try:
        mail_delivery.time.sleep = waited.append  # type: ignore[assignment]
        delays = [limiter.wait() for _ in range(6)]
    finally:
        mail_delivery.time.sleep = limiter_sleep  # type: ignore[assignment]
    # A second's worth goes at once, then one every quarter of a second.
    assert delays[:4] == [0, 0, 0, 0]
    assert delays[4:] == pytest.approx([0.25, 0.5])
    assert limiter.batch_size(20) == 4 and RateLimiter(0.5).batch_size(20) == 1


@pytest.mark.postgres
def test_a_claim_takes_its_batch_whatever_the_statistics_say(app):
    with app.app_context():
        db.session.execute(text("ANALYZE outbox"))  # statistics of an empty queue
        db.session.commit()
        now = utcnow()
        db.session.execute(
            OutboxMessage.__table__.insert(),
            [
                {
                    "lane": 1,
                    "kind": "news",
                    "created_at": now,
                    "next_attempt_at": now,
                    "attempts": 0,
                }
                for _ in range(5000)
            ],
        )
        db.session.commit()
        batch = mail_delivery._claim(Lane.BULK, 20, secrets.token_hex(16))
        assert batch is not None and len(batch.rows) == 20
        held = select(func.count()).where(OutboxMessage.claim.is_not(None))
        assert db.session.scalar(held) == 20


def test_the_console_transport_prints_the_text(make_app, capsys):
    app = make_app(MAIL_URL="console")
    assert sign(app.test_client(), **signer(name="Console Reader")).status_code == 303
    with app.app_context():
        assert deliver_due().sent == 1
    printed = capsys.readouterr().err
    assert "Hello Console Reader" in printed


def test_mail_text_survives_the_trip(app, client, mailbox):
    assert sign(client, name="Zoë Ørsted").status_code == 303
    send_all_mail(app)
    [message] = mailbox.messages
    assert "Hello Zoë Ørsted" in text_of(message)


QUOTES = str.maketrans("“”", '""')  # the HTML part's typographic quotes, the text's plain ones


def said_in_html(message: Any) -> str:
    """The HTML part as a reader sees it: its text, without tags, in single spaces."""
    part = message.get_body(("html",))
    assert part is not None
    seen = re.sub(
        r"<[^>]+>", " ", re.sub(r"<(style|head)\b.*?</\1>", "", part.get_content(), flags=re.S)
    )
    return " ".join(html.unescape(seen).translate(QUOTES).split())


def sentences_in_text(message: Any) -> list[str]:
    """What the plain part says, sentence by sentence; links and the words leading to one
    ("Withdraw your signature here:") are said with buttons and link text in the HTML."""
    said = []
    for line in text_of(message).splitlines():
        line = " ".join(line.split())
        if not line or "://" in line or line.endswith(":") or line.startswith("--"):
            continue
        # A letter's sign-off ("Thank you for signing,") may end a sentence in the HTML.
        said += [s.rstrip(".,") for s in re.split(r"(?<=[.!?])\s+", line) if s]
    return said


@pytest.mark.parametrize("language", ["en", "uk"])
def test_every_email_says_the_same_in_its_html_as_in_its_text(app, client, mailbox, language):
    """Mail apps show one part or the other: a reader must not be told less in one."""
    from petition.services import mailings, reminders
    from petition.services.audit import Actor
    from petition.services.petitions import NewsDraft, post_news

    prefix = "" if language == "en" else f"/{language}"
    sign(client, email="reader@example.org", consent_updates="y", language=language)
    sign(client, email="late@example.org", language=language)
    with app.app_context():  # old enough for its one reminder
        signature_for("late@example.org").created_at = utcnow() - timedelta(hours=30)
        db.session.commit()
    send_all_mail(app)
    confirm = next(m for m in mailbox.messages if m["To"] == "reader@example.org")
    client.post(links_in(confirm)["confirm"])
    sign(client, email="reader@example.org", language=language)  # already signed, counted
    sign(client, email="late@example.org", language=language)  # already signed, not confirmed
    with app.app_context():
        reminders.send_due()
    page = client.get(f"{prefix}/privacy/me").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    client.post(
        f"{prefix}/privacy/me",
        data={"email": "reader@example.org", "form_token": token},
        headers={"Origin": "http://petition.test", "Sec-Fetch-Site": "same-origin"},
    )
    send_all_mail(app)
    with app.test_request_context():  # campaign news, to the signer who asked for it
        editor = Actor("editor@example.org")
        news = post_news(SLUG, NewsDraft("We handed it in", "It went to Downing Street."), editor)
        mailings.start(SLUG, news.id, editor)
    send_all_mail(app)
    kinds = {}
    for message in mailbox.messages:
        kinds.setdefault((message["Subject"].split(":")[0], message["To"]), message)
    # Confirm (twice), receipt, already signed (counted and not), reminder, privacy, news.
    assert len(kinds) == 8, list(kinds)
    missing = {
        kind: [s for s in sentences_in_text(message) if s not in said_in_html(message)]
        for kind, message in kinds.items()
    }
    assert not any(missing.values()), missing


class NoWaiting(RateLimiter):
    """The mailings' rate, set so that anything held to it would fail the test at once."""

    def __init__(self) -> None:
        super().__init__(0.001)
        self.waited = 0

    def wait(self) -> float:
        self.waited += 1
        raise AssertionError("held to the mailings' rate")


def test_receipts_follow_confirmations_and_are_not_held_to_the_mailing_rate(app, client, mailbox):
    """On a viral day a receipt follows every confirmation: they go once no transactional
    mail waits, as fast as the worker sends, never at the rate a relay allows mailings."""
    people = [signer(email=f"r{n}@example.org") for n in range(12)]
    confirmed_signatures(app, client, people)  # 12 confirmation emails, then 12 receipts
    with app.app_context():
        lanes = dict(
            db.session.execute(select(OutboxMessage.kind, OutboxMessage.lane).distinct()).all()
        )
        assert lanes == {"confirm": Lane.TRANSACTIONAL, "receipt": Lane.FOLLOW_UP}
        limiter = NoWaiting()
        report = Deliverer(limiter).deliver_due(limit=50)
    assert report.sent == 24 and limiter.waited == 0
    kinds = [
        "receipt" if "receipt" in m["Subject"].lower() else "confirm" for m in mailbox.wait_for(24)
    ]
    assert kinds == ["confirm"] * 12 + ["receipt"] * 12
    # Mailings still keep the rate (the limiter above is consulted for them).
    with app.app_context():
        queue_email("news", "keen@example.org", "News", petition_title="P", body="B")
        db.session.commit()
        with pytest.raises(AssertionError, match="mailings' rate"):
            Deliverer(NoWaiting()).deliver_due(limit=50)


def test_staff_see_each_lane_on_the_mail_page(admin):
    page = admin.get("/admin/mail").get_data(as_text=True)
    headings = ["<h2>Transactional</h2>", "<h2>Follow-up (receipts)</h2>", "<h2>Bulk</h2>"]
    assert all(heading in page for heading in headings)
