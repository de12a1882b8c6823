"""The signing journey through the web pages: sign → email → confirm → counted."""

from __future__ import annotations

import re
import struct

import pytest
from sqlalchemy import func, select, update

from petition.extensions import db
from petition.mail import deliver_due
from petition.models import ConsentWording, OutboxMessage, Petition, Signature, SignatureState
from petition.services.consent import CONSENT_TEXT
from petition.services.counting import flush_counts
from tests.factories import (
    SLUG,
    consent_history,
    count_of,
    forget_cached,
    form_token,
    links_in,
    send_all_mail,
    sign,
    signature_for,
    wants_updates,
)
from tests.parts import text_of


def test_petition_page_shows_the_ask_count_and_an_unticked_consent_box(client):
    page = client.get(f"/petitions/{SLUG}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Go further and faster" in html
    checkbox = re.search(r'<input[^>]*name="consent_updates"[^>]*>', html)
    assert checkbox and "checked" not in checkbox.group(0)
    assert CONSENT_TEXT in html
    assert "data-count-bar" in html and "0 awaiting confirmation" in html
    for field, token in [
        ("name", "name"),
        ("email", "email"),
        ("postcode", "postal-code"),
        ("country", "country"),
    ]:
        assert f'name="{field}"' in html and f'autocomplete="{token}"' in html
    # The United Kingdom comes first in the country list.
    assert html.index('value="GB"') < html.index('value="AF"')


def test_shared_links_preview_with_a_title_a_summary_and_a_picture(client):
    """What WhatsApp, Facebook, X and Bluesky show when a reader shares the petition."""
    for path, title in [(f"/petitions/{SLUG}", "Go further and faster"), ("/", "Refugees Welcome")]:
        html = client.get(path).get_data(as_text=True)
        meta = dict(re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)"', html))
        assert meta["og:title"].startswith(title), path
        assert meta["og:url"] == f"http://petition.test{path}"
        assert len(meta["og:description"]) > 40 and meta["twitter:card"] == "summary_large_image"
        assert f'<link rel="canonical" href="{meta["og:url"]}">' in html
        assert meta["og:image"] == "http://petition.test/static/share-card.png"
        assert meta["og:image:alt"]
    with client.get("/static/share-card.png") as card:
        assert card.status_code == 200 and card.mimetype == "image/png"
        # The size link previews expect (1.91:1), read from the PNG's header.
        width, height = struct.unpack(">II", card.get_data()[16:24])
    assert (
        (width, height)
        == (1200, 630)
        == (int(meta["og:image:width"]), int(meta["og:image:height"]))
    )


def test_signing_sends_a_confirmation_and_only_confirming_counts(app, client, mailbox):
    response = sign(client, name="Ada Lovelace", email="Ada@Example.org", consent_updates="y")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/petitions/{SLUG}/thanks?s=")
    thanks = client.get(response.headers["Location"])
    assert "check your email" in thanks.get_data(as_text=True).lower()
    # Where the link went, partly hidden, on a page nobody else keeps.
    assert "Ad…@example.org" in thanks.get_data(as_text=True)
    assert thanks.headers["Cache-Control"] == "no-store"

    with app.app_context():
        signature = signature_for("ada@example.org")
        assert signature.state == SignatureState.PENDING
        assert signature.consent_updates is True and signature.consented_at is not None
        assert signature.consent_wording.text == CONSENT_TEXT
        assert signature.ip_address == "127.0.0.1"
        assert deliver_due().sent == 1
        assert count_of() == 0

    [message] = mailbox.wait_for(1)
    assert message["To"] == "Ada@example.org"
    assert "confirm" in message["Subject"].lower()
    assert message.get_body(("html",)) is not None
    links = links_in(message)
    assert set(links) == {"confirm", "withdraw"}

    # Opening the link (as a mail scanner does) changes nothing.
    page = client.get(links["confirm"])
    assert page.status_code == 200
    assert "Confirm my signature" in page.get_data(as_text=True)
    with app.app_context():
        assert count_of() == 0
        assert signature_for("ada@example.org").state == SignatureState.PENDING

    confirmed = client.post(links["confirm"], headers={"Origin": "http://petition.test"})
    assert confirmed.status_code == 200
    assert "your signature is counted" in confirmed.get_data(as_text=True)
    # The reader sees themselves in the count at once, before the batch catches up.
    assert "data-count>1<" in confirmed.get_data(as_text=True)
    with app.app_context():
        assert count_of() == 1
        assert signature_for("ada@example.org").confirmed_at is not None

    # Confirming again is harmless and still counts once.
    again = client.post(links["confirm"])
    assert again.status_code == 200
    with app.app_context():
        assert count_of() == 1


def test_consent_is_off_unless_ticked_and_the_wording_is_still_recorded(app, client):
    assert sign(client).status_code == 303
    with app.app_context():
        signature = signature_for("ada@example.org")
        assert signature.consent_updates is False and signature.consented_at is None
        assert signature.consent_wording is not None
        assert db.session.scalar(select(func.count()).select_from(ConsentWording)) == 1


def test_signing_again_gives_the_same_response_and_an_email_instead(app, client, mailbox):
    first = sign(client, email="grace.hopper@gmail.com")
    again = sign(client, email="GraceHopper+news@googlemail.com")
    assert first.status_code == again.status_code == 303
    # The same page, each naming (partly) the address just typed: nothing says which signed.
    thanks = [client.get(r.headers["Location"]).get_data(as_text=True) for r in (first, again)]
    assert "gr…@gmail.com" in thanks[0] and "Gr…@googlemail.com" in thanks[1]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 1
        deliver_due()
    messages = mailbox.wait_for(2)
    assert "already signed" in messages[1]["Subject"].lower()
    assert messages[1]["To"] == "GraceHopper+news@googlemail.com"
    # The new email carries a working confirm link too.
    client.post(links_in(messages[1])["confirm"])
    with app.app_context():
        assert count_of() == 1


def test_repeat_notices_are_capped(app, client, mailbox):
    from tests.factories import send_all_mail

    for _ in range(6):
        assert sign(client).status_code == 303
    send_all_mail(app)
    with app.app_context():
        kinds = db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    limit = app.config["DUPLICATE_NOTICE_LIMIT"]
    assert kinds == ["confirm"] + ["already_signed"] * limit  # the rest were never sent
    assert len(mailbox.messages) == 1 + limit


def test_already_confirmed_signer_is_told_so(app, client, mailbox):
    sign(client)
    with app.app_context():
        deliver_due()
    client.post(links_in(mailbox.wait_for(1)[0])["confirm"])
    sign(client)
    with app.app_context():
        deliver_due()
    notice = mailbox.wait_for(2)[1]
    assert "already signed and your signature is counted" in text_of(notice)
    assert "confirm" not in links_in(notice)


def test_the_confirm_link_opened_again_says_so_and_asks_to_share(app, client, mailbox):
    """Readers open the link in their email again once they have confirmed: the page's title
    says what it says, and it is a good moment to pass the petition on."""
    sign(client)
    with app.app_context():
        deliver_due()
    confirm_link = links_in(mailbox.wait_for(1)[0])["confirm"]
    before = client.get(confirm_link).get_data(as_text=True)
    assert "<title>Confirm your signature" in before  # the control: not confirmed yet
    assert 'class="share"' not in before and 'action="/signatures/confirm/' in before
    client.post(confirm_link)
    again = client.get(confirm_link).get_data(as_text=True)
    assert "<title>You've already confirmed" in again
    assert "<h1>You've already confirmed</h1>" in again
    assert 'class="share"' in again and "Now ask three friends to sign" in again
    assert 'action="/signatures/confirm/' not in again


def test_withdrawing_takes_the_signature_out_of_the_count(app, client, mailbox):
    sign(client)
    with app.app_context():
        deliver_due()
    links = links_in(mailbox.wait_for(1)[0])
    client.post(links["confirm"])
    with app.app_context():
        assert count_of() == 1

    page = client.get(links["withdraw"])
    assert "Withdraw my signature" in page.get_data(as_text=True)
    with app.app_context():
        assert count_of() == 1
    done = client.post(links["withdraw"])
    assert "has been withdrawn" in done.get_data(as_text=True)
    with app.app_context():
        assert count_of() == 0
        assert signature_for("ada@example.org").state == SignatureState.WITHDRAWN
    # Withdrawing twice changes nothing more.
    client.post(links["withdraw"])
    with app.app_context():
        assert count_of() == 0


def test_the_withdraw_page_says_what_withdrawing_changes_in_each_state(app, client, mailbox):
    """Only a counted signature is "no longer counted" once withdrawn. One waiting for
    confirmation was never counted; one taken out of the count can still be withdrawn, so that
    it stays off the petition if it is restored."""
    from petition.services import moderation
    from petition.services.audit import Actor

    sign(client)
    sign(client, email="grace@example.org")
    with app.app_context():
        deliver_due()
    ada, grace = (links_in(mailbox.to(a)[0]) for a in ("ada@example.org", "grace@example.org"))
    client.post(ada["confirm"])
    counted = client.get(ada["withdraw"]).get_data(as_text=True)  # the control
    assert "and no longer counted" in counted and "not confirmed yet" not in counted

    waiting = client.get(grace["withdraw"]).get_data(as_text=True)
    assert "is not confirmed yet, so it is not counted" in waiting
    assert "no longer counted" not in waiting
    done = client.post(grace["withdraw"]).get_data(as_text=True)
    assert "has been withdrawn" in done and "It is not counted towards" in done
    assert "no longer counts" not in done

    with app.app_context():
        only_ada = moderation.SignatureFilter(email="ada@example.org")
        assert moderation.invalidate(only_ada, "a test", 1, Actor("test")) == 1
    checked = client.get(ada["withdraw"]).get_data(as_text=True)
    assert "taken out of the count when the signatures were checked" in checked
    assert "Withdraw my signature" in checked
    client.post(ada["withdraw"])
    assert "has already been withdrawn" in client.get(ada["withdraw"]).get_data(as_text=True)
    with app.app_context():
        everyone = moderation.SignatureFilter(state=SignatureState.INVALIDATED)
        assert moderation.restore(everyone, 1, Actor("test")) == 1
        assert signature_for("ada@example.org").state == SignatureState.WITHDRAWN


@pytest.mark.parametrize("updates", [None, "y"])
def test_each_link_in_an_emails_text_stands_apart_from_the_words_before_it(
    app, client, mailbox, updates
):
    """Mail clients make a link of an address only where it stands apart from the words before
    it; the confirmation and "already signed" emails sent theirs as "here:http://…"."""
    sign(client, consent_updates=updates)
    sign(client, consent_updates=updates)  # the same address again: "you have already signed"
    with app.app_context():
        deliver_due()
    emails = mailbox.wait_for(2)
    assert "tried to sign" in text_of(emails[1])
    for email in emails:
        text = text_of(email)
        assert "/signatures/withdraw/" in text  # the control: the link is there
        assert not re.search(r"\S(?=https?://)", text), text
        assert "\n\n\n" not in text, text


def test_a_signer_can_stop_updates_and_stay_counted(app, client, mailbox):
    sign(client, consent_updates="y")
    with app.app_context():
        deliver_due()
    email = mailbox.wait_for(1)[0]
    assert "Withdraw your signature or stop campaign updates here:" in text_of(email)
    links = links_in(email)
    client.post(links["confirm"])

    page = client.get(links["withdraw"]).get_data(as_text=True)
    assert "Withdraw my signature" in page and "Stop campaign updates" in page
    stop = f"{links['withdraw']}/updates"
    assert client.post(stop, headers={"Origin": "https://evil.example"}).status_code == 403
    done = client.post(stop)
    assert done.status_code == 200
    assert "no more campaign updates" in done.get_data(as_text=True)
    with app.app_context():
        assert not wants_updates("ada@example.org")
        signature = signature_for("ada@example.org")
        # What they chose when signing stays on record; the stop is recorded with how it came.
        assert signature.consent_updates is True and signature.consented_at is not None
        history = [(e.given, e.route) for e in consent_history("ada@example.org")]
        assert history == [(True, "signature confirmed"), (False, "stop link")]
        assert signature.state == SignatureState.CONFIRMED and count_of() == 1
    # Stopping twice records nothing more; the page no longer offers it.
    assert client.post(stop).status_code == 200
    with app.app_context():
        assert len(consent_history("ada@example.org")) == 2
    page = client.get(links["withdraw"]).get_data(as_text=True)
    assert "Withdraw my signature" in page and "Stop campaign updates" not in page
    assert client.post("/signatures/withdraw/nope/updates").status_code == 404


def test_withdrawing_also_stops_updates(app, client, mailbox):
    sign(client, consent_updates="y")
    with app.app_context():
        deliver_due()
    links = links_in(mailbox.wait_for(1)[0])
    client.post(links["confirm"])
    page = client.get(links["withdraw"]).get_data(as_text=True)
    assert "and we will stop sending you campaign updates" in page
    client.post(links["withdraw"])
    with app.app_context():
        signature = signature_for("ada@example.org")
        assert signature.state == SignatureState.WITHDRAWN
        assert not wants_updates("ada@example.org")
        assert consent_history("ada@example.org")[-1].route == "withdrawal"


def test_signers_who_asked_for_no_updates_are_not_offered_to_stop_them(app, client, mailbox):
    sign(client)
    with app.app_context():
        deliver_due()
    email = mailbox.wait_for(1)[0]
    assert "stop campaign updates" not in text_of(email)
    page = client.get(links_in(email)["withdraw"]).get_data(as_text=True)
    assert "Stop campaign updates" not in page
    with app.app_context():
        assert consent_history("ada@example.org") == []


def test_unknown_links_get_a_helpful_page(client):
    for path in ("/signatures/confirm/not-a-real-token", "/signatures/withdraw/nope"):
        response = client.get(path)
        assert response.status_code == 404
        assert "expired or is not valid" in response.get_data(as_text=True)
        assert client.post(path).status_code == 404


def test_honeypot_gets_the_same_response_and_saves_nothing(app, client):
    response = sign(client, website="http://spam.example")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 0
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_the_petition_page_says_until_when_it_can_be_signed(app, client):
    from datetime import UTC, datetime

    from sqlalchemy import update

    from petition.models import Petition
    from tests.factories import forget_cached

    assert "You can sign until" not in client.get(f"/petitions/{SLUG}").get_data(as_text=True)
    with app.app_context():
        # As the admin form stores "closes on 12 March 2027": the moment that day ends.
        ends = datetime(2027, 3, 13, tzinfo=UTC)
        db.session.execute(update(Petition).values(closes_at=ends))
        db.session.commit()
    forget_cached()
    page = client.get(f"/petitions/{SLUG}").get_data(as_text=True)
    assert "You can sign until the end of <time" in page and ">12 March 2027</time>" in page


def test_confirming_stays_open_24_hours_after_a_petition_closes(app, client, mailbox):
    from datetime import timedelta

    from sqlalchemy import update

    from petition.models import Petition, PetitionState, utcnow
    from tests.factories import forget_cached

    sign(client, email="late@example.org")
    sign(client, email="too-late@example.org")
    with app.app_context():
        deliver_due()
    links = {str(m["To"]): links_in(m)["confirm"] for m in mailbox.wait_for(2)}

    def close(hours_ago: int) -> None:
        with app.app_context():
            db.session.execute(
                update(Petition).values(
                    state=PetitionState.CLOSED, closed_at=utcnow() - timedelta(hours=hours_ago)
                )
            )
            db.session.commit()
        forget_cached()

    close(hours_ago=23)
    assert "Confirm my signature" in client.get(links["late@example.org"]).get_data(as_text=True)
    assert client.post(links["late@example.org"]).status_code == 200
    close(hours_ago=25)
    page = client.get(links["too-late@example.org"]).get_data(as_text=True)
    assert "This petition has closed" in page and "Confirm my signature" not in page
    refused = client.post(links["too-late@example.org"])
    assert refused.status_code == 410
    with app.app_context():
        assert count_of() == 1


def test_expired_links_no_longer_work(app, client, mailbox):
    from datetime import timedelta

    from sqlalchemy import update

    from petition.models import SignatureToken, utcnow

    sign(client)
    with app.app_context():
        deliver_due()
        db.session.execute(
            update(SignatureToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    links = links_in(mailbox.wait_for(1)[0])
    assert client.get(links["confirm"]).status_code == 404
    assert client.post(links["confirm"]).status_code == 404
    with app.app_context():
        assert signature_for("ada@example.org").state == SignatureState.PENDING


@pytest.mark.postgres
def test_signing_again_costs_the_same_one_statement_as_signing_first(app, client, monkeypatch):
    """Timing says nothing: new and already-signed addresses take the same single round trip."""
    from sqlalchemy import event

    from petition.services import new_signature

    sign(client, email="warm-up@example.org")  # the petition and the consent wording, cached
    sent: list[str] = []
    real = new_signature._in_one_statement
    monkeypatch.setattr(
        new_signature, "_in_one_statement", lambda values: sent.append("one") or real(values)
    )
    with app.app_context():
        engine = db.engine

    def count(*args: object) -> None:
        sent.append("other")

    event.listen(engine, "before_cursor_execute", count)
    try:
        token = form_token(client)
        for email in ("first-time@example.org", "first-time@example.org", "warm-up@example.org"):
            sent.clear()
            assert sign(client, email=email, token=token).status_code == 303
            assert sent == ["one"], (email, sent)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    with app.app_context():
        kinds = sorted(db.session.scalars(select(OutboxMessage.kind)).all())
    assert kinds == ["already_signed", "already_signed", "confirm", "confirm"]


def test_after_confirming_the_petition_page_shows_the_readers_signature_at_once(
    app, client, mailbox
):
    from petition.security import count_links

    sign(client, email="fresh@example.org")
    send_all_mail(app)
    [message] = mailbox.wait_for(1)
    origin = app.config["PUBLIC_URL"].rstrip("/")
    confirmed = client.post(links_in(message)["confirm"], headers={"Origin": origin})
    html = confirmed.get_data(as_text=True)
    back = re.search(r'href="([^"]*\?seen=[^"]+)">See the petition with your signature', html)
    # The stored count has not caught up yet (nothing has folded the journal in) …
    forget_cached()
    plain = client.get(f"/petitions/{SLUG}").get_data(as_text=True)
    assert re.search(r"data-count>0<", plain) and "Sign this petition" in plain
    # … but the reader's own link shows their signature, and no form to sign again.
    page = client.get(back.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert re.search(r"data-count>1<", page) and "0 awaiting confirmation" in page
    assert "You have signed this petition" in page and "Sign this petition" not in page
    # Nobody can make one up, or carry one to another petition.
    forged = client.get(f"/petitions/{SLUG}?seen=made-up").get_data(as_text=True)
    assert re.search(r"data-count>0<", forged) and "You have signed" not in forged
    with app.app_context():
        other = count_links.seen_token("another-petition", 5_000, 0, True)
    carried = client.get(f"/petitions/{SLUG}?seen={other}").get_data(as_text=True)
    assert re.search(r"data-count>0<", carried)
    # Once the stored count is newer than the link, the stored count wins.
    with app.app_context():
        stale = count_links.seen_token(SLUG, 7, 0, True)
        flush_counts()
    forget_cached()
    later = client.get(f"/petitions/{SLUG}?seen={stale}").get_data(as_text=True)
    assert re.search(r"data-count>1<", later)


def test_a_consent_wording_is_recorded_without_touching_the_callers_transaction(app):
    """The first signature in a language records its consent wording. Inside a caller's
    transaction that record is the caller's to commit or roll back (it used to commit the
    caller's work halfway); outside one, no transaction is left open."""
    from petition.services import consent

    with app.test_request_context():
        known = app.extensions.setdefault("petition_consent_ids", {})
        known.clear()
        uk = select(ConsentWording.id).where(ConsentWording.version.endswith("/uk"))
        assert db.session.scalar(uk) is None
        # A caller's own transaction, with work of its own, then rolled back.
        db.session.execute(update(Petition).values(title="Half-way"))
        consent.current_wording("uk")
        db.session.rollback()
        assert db.session.scalar(select(Petition.title).limit(1)) != "Half-way"
        assert db.session.scalar(uk) is None
        db.session.rollback()
        # The control: on its own, the wording is recorded, remembered, and nothing left open.
        recorded = consent.current_wording("uk")
        assert not db.session().in_transaction()
        assert db.session.scalar(uk) == recorded
        db.session.rollback()
        assert consent.current_wording() == known[consent.CONSENT_VERSION]
        assert not db.session().in_transaction()


def test_cached_loaders_leave_no_transaction_open_behind_them(app):
    """A request that finds the petition's snapshot (or a partner's offer) stale loads it in
    passing; no transaction is left idling on its connection, and a sign request's insert
    keeps its one-statement path. A caller's own transaction is left as it was."""
    from petition.services import campaigns, partners

    def forget() -> None:
        forget_cached()
        campaigns.forget_petitions(SLUG)  # from the shared cache too: the loader runs

    with app.test_request_context():
        forget()
        campaigns.petition_snapshot(SLUG)
        partners.offer("no-such-partner")  # never cached: loaded every time
        assert not db.session().in_transaction()
        # The control: a transaction the caller had open stays open, with what it holds.
        db.session.execute(select(Signature.id).limit(1))
        forget()
        campaigns.petition_snapshot(SLUG)
        partners.offer("no-such-partner")
        assert db.session().in_transaction()
        db.session.rollback()
