"""Trust in the count: the integrity report equals the truth, the count never includes those
awaiting confirmation, the history is open data, receipts verify, digests catch tampering."""

from __future__ import annotations

import hashlib
import random
import re
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from petition.extensions import db
from petition.models import (
    CountJournalEntry,
    OutboxMessage,
    Petition,
    PetitionState,
    ReceiptEntry,
    Signature,
    SignatureState,
    utcnow,
)
from petition.services import digests, moderation, privacy, reminders
from petition.services.audit import Actor
from petition.services.counting import flush_counts
from petition.services.moderation import SignatureFilter
from petition.services.signatures import Details, _withdraw, confirm
from tests.factories import (
    SLUG,
    at,
    forget_cached,
    links_in,
    make_petition,
    send_all_mail,
    sign,
    signature_for,
)
from tests.parts import text_of

STAFF = Actor("admin@example.org")
CODE = re.compile(r"\b([A-Z2-7]{4}(?:-[A-Z2-7]{4}){4})\b")
FIGURE = re.compile(r"<dt><strong>([^<]+)</strong>.*?</dt><dd>([\d,]+)</dd>", re.S)
PAGE_LABELS = {
    "Signatures received": "received",
    "Confirmed: the count": "confirmed",
    "Awaiting confirmation": "awaiting_confirmation",
    "Withdrawn by their signers": "withdrawn",
    "Invalidated by moderators": "invalidated",
    "Expired unconfirmed": "expired",
    "Replaced with a corrected address": "replaced",
    "Duplicates turned away": "duplicates_turned_away",
    "Reminders to confirm sent": "reminders_sent",
    "Confirmed after a reminder": "confirmed_after_reminder",
}


def truth(petition_slug: str = SLUG) -> dict[str, object]:
    """The figures worked out from the signatures themselves."""
    rows = db.session.execute(
        select(Signature.state, Signature.invalidation_category, func.count())
        .join(Petition)
        .where(Petition.slug == petition_slug)
        .group_by(Signature.state, Signature.invalidation_category)
    ).all()
    states: Counter[str] = Counter()
    categories = {"duplicate": 0, "disposable": 0, "rate": 0, "other": 0}
    for state, category, n in rows:
        states[state.value] += n
        if state == SignatureState.INVALIDATED:
            categories[category] += n
    return {
        "received": sum(states.values()),
        "confirmed": states["confirmed"],
        "awaiting_confirmation": states["pending"],
        "withdrawn": states["withdrawn"],
        "invalidated": states["invalidated"],
        "invalidated_by_category": categories,
    }


def figures_shown(client) -> dict[str, object]:
    """The integrity figures as the API gives them, after checking the page says the same."""
    forget_cached()
    api = client.get(f"/api/v1/petitions/{SLUG}/integrity").get_json()["figures"]
    page = client.get(f"/petitions/{SLUG}/integrity").get_data(as_text=True)
    on_page = {PAGE_LABELS[label]: int(n.replace(",", "")) for label, n in FIGURE.findall(page)}
    assert on_page == {key: api[key] for key in PAGE_LABELS.values()}
    return api


def test_integrity_figures_equal_the_truth_after_a_random_run(app, client, mailbox):
    rng = random.Random(2026)
    people = [f"reader{i}@example.org" for i in range(30)]
    turned_away = 0
    for email in people:
        assert sign(client, email=email, name="Random Reader").status_code == 303
    with app.app_context():
        for step in range(120):
            email = rng.choice(people)
            signature = signature_for(email)
            action = rng.choice(["confirm", "confirm", "withdraw", "invalidate", "erase", "again"])
            if signature is None:  # erased: the address is gone from the row
                continue
            if action == "confirm" and signature.state == SignatureState.PENDING:
                confirm(signature, Details.of(signature))
                db.session.commit()
            elif action == "withdraw" and signature.state in (
                SignatureState.PENDING,
                SignatureState.CONFIRMED,
            ):
                _withdraw(signature)
            elif action == "invalidate" and signature.state in (
                SignatureState.PENDING,
                SignatureState.CONFIRMED,
            ):
                category = rng.choice(["duplicate", "disposable", "rate", "other"])
                f = SignatureFilter(email=email)
                moderation.invalidate(f, "Seen in the random run", 1, STAFF, category)
            elif action == "again":
                db.session.rollback()
                assert sign(client, email=email, name="Someone Else").status_code == 303
                turned_away += 1
            elif action == "erase" and step % 4 == 0:
                privacy.erase(privacy.Person.by_address(email), STAFF)
            if step % 40 == 39:
                flush_counts()
                digests.publish_due(every=timedelta(0))
        db.session.rollback()
        send_all_mail(app)  # the worker answers those who signed again
        while flush_counts():
            pass
        expected = truth()
        shown = figures_shown(client)
        assert {key: shown[key] for key in expected} == expected
        assert shown["duplicates_turned_away"] == turned_away > 0
        assert shown["expired"] == 0
        # Every kind of move happened, so the comparison above means something.
        assert all(expected[k] for k in ("confirmed", "withdrawn", "invalidated"))

        # The published chain agrees with the signatures counted now.
        digests.publish_due(every=timedelta(0))
        result = digests.verify()
        assert result.problems == []
        assert result.receipts == expected["confirmed"]
        # A recount finds nothing to correct, and says so on the report.
        from petition.services.counting import recount

        assert not any(r.changed for r in recount())
        forget_cached()
        report = client.get(f"/api/v1/petitions/{SLUG}/integrity").get_json()
        assert report["reconciled"]["matched"] is True and report["reconciled"]["at"]
        page = client.get(f"/petitions/{SLUG}/integrity").get_data(as_text=True)
        assert "<strong>they matched</strong>" in page


def test_restoring_takes_an_invalidation_out_of_its_category(app, client):
    for i in range(3):
        sign(client, email=f"burst{i}@throwaway.example", name=f"Burst {i}")
    with app.app_context():
        f = SignatureFilter(domain="throwaway.example")
        moderation.invalidate(f, "Throwaway domain", 3, STAFF, "disposable")
        flush_counts()
        assert truth()["invalidated_by_category"]["disposable"] == 3
        assert figures_shown(client)["invalidated_by_category"]["disposable"] == 3
        moderation.restore(f, 3, STAFF)
        flush_counts()
        shown = figures_shown(client)
        assert shown["invalidated_by_category"] == truth()["invalidated_by_category"]
        assert shown["invalidated"] == 0 and shown["awaiting_confirmation"] == 3


def test_a_category_outside_the_list_is_refused(app, client):
    sign(client, email="one@spam.example")
    with app.app_context():
        from petition.services.errors import InvalidInput

        f = SignatureFilter(domain="spam.example")
        with pytest.raises(InvalidInput):
            moderation.invalidate(f, "Spam", 1, STAFF, "nasty people")
        assert truth()["invalidated"] == 0
        moderation.invalidate(f, "Spam", 1, STAFF, "rate")  # the same, with a real category
        assert truth()["invalidated_by_category"]["rate"] == 1


def test_page_widget_and_api_show_those_awaiting_confirmation_beside_the_count(app, client):
    for email in ("waiting1@example.org", "waiting2@example.org", "done@example.org"):
        sign(client, email=email)
    with app.app_context():
        signature = signature_for("done@example.org")
        confirm(signature, Details.of(signature))
        db.session.commit()
        flush_counts()
    forget_cached()
    api = client.get(f"/api/v1/petitions/{SLUG}").get_json()
    assert (api["signature_count"], api["awaiting_confirmation"]) == (1, 2)
    listed = client.get("/api/v1/petitions").get_json()["petitions"][0]
    assert (listed["signature_count"], listed["awaiting_confirmation"]) == (1, 2)
    page = client.get(f"/petitions/{SLUG}").get_data(as_text=True)
    assert re.search(r"data-count>1<", page) and "2 awaiting confirmation" in page
    widget = client.get(f"/embed/petitions/{SLUG}").get_data(as_text=True)
    assert re.search(r"data-count>1<", widget) and "2 awaiting confirmation" in widget
    # Both shades on the bar: one confirmed, then two waiting, starting where it ends.
    done = re.search(r'data-bar-done x="0" y="0" width="([\d.]+)"', page).group(1)
    waiting = re.search(r'data-bar-pending x="([\d.]+)" y="0" width="([\d.]+)"', page)
    assert waiting.group(1) == done and float(waiting.group(2)) > 0
    assert "2 more awaiting confirmation" in page  # what a screen reader hears of the bar


def history_fixture(app) -> None:
    """Confirmations and signatures at known times, folded in as the worker does."""
    rows = [
        # (when, state, delta, country, made)
        ("2026-11-28T09:10:00+00:00", "pending", 1, "GB", True),
        ("2026-11-28T09:20:00+00:00", "pending", 1, "GB", True),
        ("2026-11-28T09:40:00+00:00", "confirmed", 1, "GB", False),
        ("2026-11-28T09:40:00+00:00", "pending", -1, "GB", False),
        ("2026-11-28T11:05:00+00:00", "confirmed", 1, "UA", False),
        ("2026-11-28T11:05:00+00:00", "pending", -1, "GB", False),
        ("2026-11-29T08:00:00+00:00", "pending", 1, "PL", True),
        ("2026-11-29T08:30:00+00:00", "confirmed", 1, "PL", False),
        ("2026-11-29T08:30:00+00:00", "pending", -1, "PL", False),
        ("2026-11-29T10:00:00+00:00", "confirmed", -1, "GB", False),  # withdrawn
        ("2026-11-29T10:00:00+00:00", "withdrawn", 1, "GB", False),
    ]
    with app.app_context():
        petition_id = db.session.scalar(select(Petition.id).where(Petition.slug == SLUG))
        db.session.execute(
            CountJournalEntry.__table__.insert(),
            [
                {
                    "petition_id": petition_id,
                    "created_at": at(when),
                    "state": state,
                    "delta": delta,
                    "country": country,
                    "new_signature": made,
                }
                for when, state, delta, country, made in rows
            ],
        )
        db.session.commit()
        flush_counts()


def test_the_hourly_history_is_open_data_as_json_and_csv(app, client):
    history_fixture(app)
    forget_cached()
    response = client.get(f"/api/v1/petitions/{SLUG}/history")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "public" in response.headers["Cache-Control"]
    data = response.get_json()
    assert data["hours"] == [
        {"hour": "2026-11-28T09:00:00+00:00", "signed": 2, "confirmed": 1, "total": 1},
        {"hour": "2026-11-28T11:00:00+00:00", "signed": 0, "confirmed": 1, "total": 2},
        {"hour": "2026-11-29T08:00:00+00:00", "signed": 1, "confirmed": 1, "total": 3},
        {"hour": "2026-11-29T10:00:00+00:00", "signed": 0, "confirmed": -1, "total": 2},
    ]
    assert data["countries_by_day"] == [
        {"day": "2026-11-28", "country": "GB", "confirmed": 1},
        {"day": "2026-11-28", "country": "UA", "confirmed": 1},
        {"day": "2026-11-29", "country": "GB", "confirmed": -1},
        {"day": "2026-11-29", "country": "PL", "confirmed": 1},
    ]
    etag = response.headers["ETag"]
    again = client.get(f"/api/v1/petitions/{SLUG}/history", headers={"If-None-Match": etag})
    assert again.status_code == 304

    hourly = client.get(f"/api/v1/petitions/{SLUG}/history.csv")
    assert hourly.mimetype == "text/csv" and hourly.headers["Access-Control-Allow-Origin"] == "*"
    assert hourly.headers["ETag"]
    assert hourly.get_data(as_text=True) == (
        "hour_utc,signed,confirmed_change,confirmed_total\n"
        "2026-11-28T09:00:00+00:00,2,1,1\n"
        "2026-11-28T11:00:00+00:00,0,1,2\n"
        "2026-11-29T08:00:00+00:00,1,1,3\n"
        "2026-11-29T10:00:00+00:00,0,-1,2\n"
    )
    cached = client.get(
        f"/api/v1/petitions/{SLUG}/history.csv", headers={"If-None-Match": hourly.headers["ETag"]}
    )
    assert cached.status_code == 304
    countries = client.get(f"/api/v1/petitions/{SLUG}/history/countries.csv")
    assert countries.get_data(as_text=True) == (
        "day_utc,country,confirmed_change\n"
        "2026-11-28,GB,1\n2026-11-28,UA,1\n2026-11-29,GB,-1\n2026-11-29,PL,1\n"
    )
    # The integrity page draws it, without a script of anyone else's.
    page = client.get(f"/petitions/{SLUG}/integrity").get_data(as_text=True)
    assert '<polygon class="chart__area"' in page and "the count rose to 2" in page
    assert client.get("/api/v1/petitions/no-such-petition/history").status_code == 404


CHART = '{% from "_macros/charts.html" import total_chart %}{{ total_chart(points, "h", "T") }}'


@pytest.mark.parametrize("language", ["en", "uk"])
def test_the_running_total_chart_in_a_petitions_first_hour_and_after(app, language):
    """One hour of data is drawn level across and labelled once (it was a ramp between two
    labels naming the same hour); its description, what a screen reader says, is in the
    page's language."""
    from flask import render_template_string

    first = [{"label": "2026-11-30 22:00", "total": 1200}]
    later = [*first, {"label": "2026-11-30 23:00", "total": 2400}]
    with app.test_request_context("/", environ_base={"petition.language": language}):
        one = render_template_string(CHART, points=first)
        more = render_template_string(CHART, points=later)
    assert one.count('class="chart__label"') == 1 and more.count('class="chart__label"') == 2
    # The labels are page text beside the drawing, readable on a phone, not shrunk with it.
    assert "<text" not in one and '<p class="chart__peak" aria-hidden="true">' in one
    [level] = re.findall(r'points="([^"]*)"', one)
    assert level.split() == ["0,160", "0,0.0", "720,0.0", "720,160"]
    [rising] = re.findall(r'points="([^"]*)"', more)
    assert rising.split() == ["0,160", "0.0,80.0", "720.0,0.0", "720,160"]
    if language == "uk":
        assert "лічильник показував 1\u00a0200." in one and "лічильник зріс до 2\u00a0400" in more
    else:
        assert "the count stood at 1,200." in one and "the count rose to 2,400" in more


def test_before_anyone_confirms_the_chart_says_so_rather_than_drawing_an_empty_box(
    app, client, mailbox
):
    assert sign(client, email="waiting@example.org").status_code == 303
    with app.app_context():
        flush_counts()
    forget_cached()
    page = client.get(f"/petitions/{SLUG}/integrity").get_data(as_text=True)
    hours = client.get(f"/api/v1/petitions/{SLUG}/history").get_json()["hours"]
    assert [(h["signed"], h["total"]) for h in hours] == [(1, 0)]  # an hour to draw, at nought
    assert "Nobody has confirmed a signature yet." in page and "chart__area" not in page
    # Once someone confirms, the chart is drawn.
    confirm_by_email(client, mailbox, "first@example.org")
    with app.app_context():
        flush_counts()
    forget_cached()
    page = client.get(f"/petitions/{SLUG}/integrity").get_data(as_text=True)
    assert "chart__area" in page and "Nobody has confirmed a signature yet." not in page


def test_the_integrity_api_is_described_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/petitions/{slug}/integrity",
        "/api/v1/petitions/{slug}/history",
        "/api/v1/petitions/{slug}/history.csv",
        "/api/v1/petitions/{slug}/history/countries.csv",
        "/api/v1/petitions/{slug}/digests/{number}.txt",
    ):
        assert "get" in paths[path], path
    response = client.get(f"/api/v1/petitions/{SLUG}/integrity")
    assert response.headers["Access-Control-Allow-Origin"] == "*" and response.headers["ETag"]
    petition_page = client.get(f"/petitions/{SLUG}").get_data(as_text=True)
    assert f'href="/petitions/{SLUG}/integrity"' in petition_page
    widget = client.get(f"/embed/petitions/{SLUG}").get_data(as_text=True)
    assert f"/petitions/{SLUG}/integrity" in widget


def confirm_by_email(client, mailbox, email: str, slug: str = SLUG) -> str:
    """Sign, press the emailed link and the button; the page the signer then sees."""
    mailbox.clear()
    assert sign(client, slug=slug, email=email, name="Receipt Holder").status_code == 303
    send_all_mail(client.application)
    [message] = [m for m in mailbox.wait_for(1) if str(m["To"]) == email]
    link = links_in(message)["confirm"]
    origin = client.application.config["PUBLIC_URL"].rstrip("/")
    page = client.post(link, headers={"Origin": origin})
    assert page.status_code == 200
    return page.get_data(as_text=True)


def verify(client, code: str):
    return client.post("/verify", data={"code": code})


def test_a_confirmed_signers_receipt_verifies_and_a_made_up_code_does_not(app, client, mailbox):
    page = confirm_by_email(client, mailbox, "holder@example.org")
    assert "your signature is counted" in page
    code = CODE.search(page).group(1)
    # The same code comes by email, made when it is sent (the database never holds it).
    mailbox.clear()
    send_all_mail(app)
    [receipt] = mailbox.wait_for(1)
    assert receipt["Subject"].startswith("Your receipt") and code in text_of(receipt)
    with app.app_context():
        assert not db.session.scalar(
            select(func.count()).where(OutboxMessage.context.cast(db.String).contains(code))
        )

    answer = verify(client, code)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "This signature is counted" in html and "Go further and faster" in html
    # It says nothing about whose it is.
    for personal in ("Receipt Holder", "holder@example.org", "SW1A"):
        assert personal not in html
    # Typed loosely (lower case, spaces), it still verifies; a made-up code of the same shape
    # does not.
    loose = code.lower().replace("-", " ")
    assert verify(client, loose).status_code == 200
    made_up = "ABCD-EFGH-JKLM-NPQR-STUV"
    refused = verify(client, made_up)
    assert refused.status_code == 404 and "We know no receipt" in refused.get_data(as_text=True)
    assert verify(client, "not a code at all").status_code == 404

    # In the digest once one is published; the digest's text hashes to what is published.
    with app.app_context():
        flush_counts()
        digests.publish_due(every=timedelta(0))
    html = verify(client, code).get_data(as_text=True)
    assert "first counted in" in html and "digest No. 1" in html
    digest_text = client.get(f"/api/v1/petitions/{SLUG}/digests/1.txt").get_data()
    mine = hashlib.sha256(code.replace("-", "").encode()).hexdigest()
    assert f"+{mine}\n".encode() in digest_text
    forget_cached()
    published = client.get(f"/api/v1/petitions/{SLUG}/integrity").get_json()["digests"]
    assert published["latest"][0]["sha256"] == hashlib.sha256(digest_text).hexdigest()

    # Another person's receipt is another code; a withdrawn signature is no longer counted.
    other = CODE.search(confirm_by_email(client, mailbox, "other@example.org")).group(1)
    assert other != code
    with app.app_context():
        _withdraw(signature_for("holder@example.org"))
    withdrawn = verify(client, code).get_data(as_text=True)
    assert "not counted now" in withdrawn
    assert "This signature is counted" in verify(client, other).get_data(as_text=True)


def test_tampering_with_a_counted_signature_makes_verify_digests_name_the_digest(
    app, client, runner
):
    people = [f"chain{i}@example.org" for i in range(5)]
    for email in people:
        sign(client, email=email)
    with app.app_context():
        first = [signature_for(e) for e in people[:3]]
        for signature in first:
            confirm(signature, Details.of(signature))
        db.session.commit()
        flush_counts()
        assert digests.publish_due(every=timedelta(0)) == 1
        for email in people[3:]:
            signature = signature_for(email)
            confirm(signature, Details.of(signature))
        db.session.commit()
        _withdraw(signature_for(people[0]))  # a later "-" entry, never an edit
        flush_counts()
        assert digests.publish_due(every=timedelta(0)) == 1
        tampered_id = first[1].id
    clean = runner.invoke(args=["verify-digests"])
    assert clean.exit_code == 0, clean.output
    assert "2 digest(s) recomputed, 4 counted receipt(s)" in clean.output

    # Someone edits a signature counted in digest 1 out of the count, behind the service.
    with app.app_context():
        db.session.execute(
            update(Signature).where(Signature.id == tampered_id).values(state="withdrawn")
        )
        db.session.commit()
    caught = runner.invoke(args=["verify-digests"])
    assert caught.exit_code == 1
    assert "digest 1 counts receipt" in caught.output
    assert "no counted signature has it now" in caught.output
    with app.app_context():
        db.session.execute(
            update(Signature).where(Signature.id == tampered_id).values(state="confirmed")
        )
        db.session.commit()
    assert runner.invoke(args=["verify-digests"]).exit_code == 0

    # Someone slips a signature into the count without a receipt entry.
    with app.app_context():
        smuggled = signature_for(people[0]).id
        db.session.execute(
            update(Signature).where(Signature.id == smuggled).values(state="confirmed")
        )
        db.session.commit()
    caught = runner.invoke(args=["verify-digests"], catch_exceptions=False)
    assert caught.exit_code == 1 and "is in no digest" in caught.output
    with app.app_context():
        db.session.execute(
            update(Signature).where(Signature.id == smuggled).values(state="withdrawn")
        )
        # And someone rewrites history: a published entry of digest 2 changed.
        entry = db.session.scalar(
            select(ReceiptEntry).where(ReceiptEntry.delta > 0).order_by(ReceiptEntry.id.desc())
        )
        db.session.execute(
            text("UPDATE receipt_entries SET receipt_hash = :h WHERE id = :id"),
            {"h": "0" * 64, "id": entry.id},
        )
        db.session.commit()
    caught = runner.invoke(args=["verify-digests"])
    assert caught.exit_code == 1
    assert "digest 2: its receipts are not the ones published" in caught.output


def age(app, email: str, hours: float, slug: str = SLUG) -> None:
    with app.app_context():
        db.session.execute(
            update(Signature)
            .where(Signature.id == signature_for(email, slug).id)
            .values(created_at=utcnow() - timedelta(hours=hours))
        )
        db.session.commit()


def test_one_reminder_goes_to_pending_signatures_of_open_petitions_after_the_hours(
    app, client, mailbox
):
    with app.app_context():
        make_petition("closed-one", title="A closed petition")
    for email in ("due@example.org", "confirmed@example.org", "young@example.org"):
        sign(client, email=email)
    sign(client, slug="closed-one", email="closed@example.org")
    with app.app_context():
        signature = signature_for("confirmed@example.org")
        confirm(signature, Details.of(signature))
        db.session.commit()
        db.session.execute(
            update(Petition).where(Petition.slug == "closed-one").values(state="closed")
        )
        db.session.commit()
    age(app, "due@example.org", 24.5)
    age(app, "confirmed@example.org", 30)
    age(app, "young@example.org", 23.5)  # not yet: the hours are not up
    age(app, "closed@example.org", 30, "closed-one")
    send_all_mail(app)
    mailbox.clear()
    with app.app_context():
        assert reminders.send_due() == 1
        assert reminders.send_due() == 0  # once only
    send_all_mail(app)
    [reminder] = mailbox.wait_for(1)
    assert str(reminder["To"]) == "due@example.org"
    assert reminder["Subject"].startswith("Reminder: please confirm")
    assert "the only reminder" in text_of(reminder)
    with app.app_context():
        assert signature_for("young@example.org").reminded_at is None
        assert signature_for("closed@example.org", "closed-one").reminded_at is None

    # Scanner-safe: opening the link changes nothing; pressing the button confirms.
    link = links_in(reminder)["confirm"]
    assert "Confirm my signature" in client.get(link).get_data(as_text=True)
    with app.app_context():
        assert signature_for("due@example.org").state == SignatureState.PENDING
    origin = app.config["PUBLIC_URL"].rstrip("/")
    assert "your signature is counted" in client.post(link, headers={"Origin": origin}).get_data(
        as_text=True
    )
    with app.app_context():
        flush_counts()
    figures = figures_shown(client)
    assert (figures["reminders_sent"], figures["confirmed_after_reminder"]) == (1, 1)

    # The young one's turn comes once its hours are up.
    age(app, "young@example.org", 24.1)
    with app.app_context():
        assert reminders.send_due() == 1


def test_no_reminders_when_they_are_switched_off(make_app, client):
    app = make_app(CONFIRM_REMINDER_HOURS=0)
    with app.test_client() as reader:
        sign(reader, email="off@example.org")
    age(app, "off@example.org", 48)
    with app.app_context():
        assert reminders.send_due() == 0


@pytest.mark.postgres
def test_two_workers_never_remind_anyone_twice(app, client):
    people = [f"racer{i}@example.org" for i in range(450)]
    with app.app_context():
        petition_id = db.session.scalar(select(Petition.id).where(Petition.slug == SLUG))
        old = utcnow() - timedelta(hours=30)
        db.session.execute(
            Signature.__table__.insert(),
            [
                {
                    "petition_id": petition_id,
                    "state": "pending",
                    "name": "Racer",
                    "email": email,
                    "canonical_email": email,
                    "email_hash": hashlib.sha256(email.encode()).hexdigest(),
                    "country": "GB",
                    "consent_updates": False,
                    "source": "petition",
                    "duplicate_notices": 0,
                    "created_at": old,
                    "updated_at": old,
                }
                for email in people
            ],
        )
        db.session.commit()
    sent = []

    def work() -> None:
        with app.app_context():
            sent.append(reminders.send_due())

    workers = [threading.Thread(target=work) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    with app.app_context():
        queued = db.session.execute(
            select(OutboxMessage.to_address, func.count())
            .where(OutboxMessage.kind == "reminder")
            .group_by(OutboxMessage.to_address)
        ).all()
    assert sum(sent) == len(people) == len(queued)
    assert all(n == 1 for _, n in queued)


def test_a_draft_petition_has_no_public_report(app, client):
    with app.app_context():
        make_petition("secret-draft", state=PetitionState.DRAFT)
    assert client.get("/petitions/secret-draft/integrity").status_code == 404
    assert client.get("/api/v1/petitions/secret-draft/integrity").status_code == 404
    assert client.get(f"/petitions/{SLUG}/integrity").status_code == 200


def test_the_worker_checks_the_figures_daily_and_the_report_says_how_it_went(app, client, runner):
    for email in ("daily1@example.org", "daily2@example.org"):
        sign(client, email=email)
    forget_cached()
    page = client.get(f"/petitions/{SLUG}/integrity").get_data(as_text=True)
    assert "have not yet been checked" in page
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    forget_cached()
    report = client.get(f"/api/v1/petitions/{SLUG}/integrity").get_json()["reconciled"]
    assert report["matched"] is True
    with app.app_context():
        from petition.services.counting import reconcile_due

        assert reconcile_due() == []  # checked today already
        # The stored count drifts (say, someone edits it by hand).
        db.session.execute(update(Petition).where(Petition.slug == SLUG).values(confirmed_count=7))
        db.session.commit()
        [result] = reconcile_due(utcnow() + timedelta(days=1, minutes=1))
        assert result.changed and result.after["confirmed_count"] == 0
    forget_cached()
    page = client.get(f"/petitions/{SLUG}/integrity").get_data(as_text=True)
    assert "they did not all match, and were corrected" in page
    assert client.get(f"/api/v1/petitions/{SLUG}").get_json()["signature_count"] == 0
