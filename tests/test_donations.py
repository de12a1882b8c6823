"""Donations: Stripe Checkout through the real client, webhooks signed as Stripe signs them."""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from petition import create_app
from petition.extensions import db
from petition.models import Donation, DonationStatus, EarlyRefund, OutboundClick, StripeEvent
from tests.conftest import make_config
from tests.factories import ORIGIN, SLUG, forget_cached
from tests.fake_stripe import WEBHOOK_SECRET, event, signed

TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def donate(client, amount: str, source: str = "donate", token: str | None = None, headers=None):
    if token is None:
        token = TOKEN.search(client.get("/donate").get_data(as_text=True)).group(1)
    return client.post(
        "/donate",
        data={"amount": amount, "source": source, "form_token": token},
        headers=headers or {"Origin": ORIGIN},
    )


def post_event(client, payload, secret=WEBHOOK_SECRET, at=None):
    body, header = signed(payload, secret, at)
    return client.post(
        "/stripe/webhook",
        data=body,
        headers={"Stripe-Signature": header},
        content_type="application/json",
    )


def summary(client):
    forget_cached()
    return client.get("/api/v1/donations/summary").get_json()


def paid_session(fake_stripe, session_id, payment_status="paid"):
    return {
        **fake_stripe.sessions[session_id],
        "payment_status": payment_status,
        "status": "complete",
    }


def test_without_stripe_cards_are_hidden_and_gofundme_remains(client):
    html = client.get("/donate").get_data(as_text=True)
    assert "Card donations are not available here right now" in html
    assert 'name="amount"' not in html
    assert "/go/gofundme" in html
    with client.application.test_request_context():
        from petition.security import form_tokens

        token = form_tokens.issue("donate", "donate")
    assert donate(client, "10", token=token).status_code == 409


def test_with_no_way_to_give_no_page_points_readers_at_donating(make_app):
    client = make_app(GOFUNDME_URL="").test_client()
    for path in (
        "/",
        f"/petitions/{SLUG}",
        f"/petitions/{SLUG}/thanks",
        f"/embed/petitions/{SLUG}",
    ):
        html = client.get(path).get_data(as_text=True)
        assert 'href="/donate' not in html and "/go/gofundme" not in html, path
        assert "Can you give as well?" not in html, path
    page = client.get("/donate")
    assert page.status_code == 200
    assert "Donations are not open right now" in page.get_data(as_text=True)
    # Once the fundraiser is set, the ask and the link are back everywhere.
    configured = make_app().test_client()
    for path in ("/", f"/petitions/{SLUG}/thanks", f"/embed/petitions/{SLUG}"):
        assert 'href="/donate' in configured.get(path).get_data(as_text=True), path


def test_choosing_ten_pounds_goes_to_checkout_with_1000_pence_and_an_idempotency_key(
    stripe_app, fake_stripe
):
    client = stripe_app.test_client()
    page = client.get("/donate").get_data(as_text=True)
    for pounds in (5, 10, 25, 50):
        assert f'name="amount" value="{pounds}"' in page
    response = donate(client, "10", source="thanks:help-ukraine-refugees")
    assert response.status_code == 303
    [call] = fake_stripe.checkout_calls()
    session = fake_stripe.sessions["cs_test_000001"]
    assert response.headers["Location"] == session["url"]
    p = call.params
    assert p["mode"] == "payment" and p["submit_type"] == "donate"
    assert p["line_items[0][price_data][unit_amount]"] == "1000"
    assert p["line_items[0][price_data][currency]"] == "gbp"
    assert (
        p["metadata[donation_id]"] == "1"
        and p["metadata[source]"] == "thanks:help-ukraine-refugees"
    )
    assert p["success_url"] == "http://petition.test/donate/thanks?session_id={CHECKOUT_SESSION_ID}"
    assert p["cancel_url"] == "http://petition.test/donate"
    assert call.headers["Idempotency-Key"] == "donation-1-checkout"
    with stripe_app.app_context():
        donation = db.session.get(Donation, 1)
        assert (donation.amount_minor, donation.status, donation.stripe_session_id) == (
            1000,
            DonationStatus.PENDING,
            "cs_test_000001",
        )
    # Stripe Checkout may be the redirect's target under the page's content policy.
    policy = client.get("/donate").headers["Content-Security-Policy"]
    assert "form-action 'self' https://checkout.stripe.com" in policy


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "smallest donation we can take is £1"),
        ("-5", "Enter an amount in pounds"),
        ("abc", "Enter an amount in pounds"),
        ("1000000", "largest donation we can take online is £10,000"),
        ("", "Choose or enter an amount"),
        ("10.555", "Enter an amount in pounds"),
        ("0.99", "smallest donation we can take is £1"),
    ],
)
def test_bad_amounts_never_reach_stripe(stripe_app, fake_stripe, amount, message):
    client = stripe_app.test_client()
    response = donate(client, amount)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert fake_stripe.checkout_calls() == []
    with stripe_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Donation)) == 0


@pytest.mark.parametrize(
    ("typed", "pence"), [("12.50", 1250), ("£1,000", 100000), ("1", 100), ("10000", 1000000)]
)
def test_amounts_as_people_type_them(stripe_app, fake_stripe, typed, pence):
    assert donate(stripe_app.test_client(), typed).status_code == 303
    assert fake_stripe.checkout_calls()[0].params["line_items[0][price_data][unit_amount]"] == str(
        pence
    )


def test_donate_form_needs_its_token_and_our_origin(stripe_app, fake_stripe):
    client = stripe_app.test_client()
    assert donate(client, "10", token="forged").status_code == 403
    assert donate(client, "10", headers={"Origin": "https://evil.example"}).status_code == 403
    assert fake_stripe.checkout_calls() == []


def test_stripe_down_gives_a_clear_message_not_an_error(stripe_app, fake_stripe):
    fake_stripe.failures.extend([500, 500, 500])
    response = donate(stripe_app.test_client(), "10")
    assert response.status_code == 503
    assert "Card payments are not working right now" in response.get_data(as_text=True)
    # The library retried with the same idempotency key.
    keys = {c.headers["Idempotency-Key"] for c in fake_stripe.checkout_calls()}
    assert keys == {"donation-1-checkout"} and len(fake_stripe.checkout_calls()) == 3


def test_a_paid_completion_counts_once_even_when_replayed_concurrently(stripe_app, fake_stripe):
    client = stripe_app.test_client()
    donate(client, "10")
    payload = event(
        "checkout.session.completed", paid_session(fake_stripe, "cs_test_000001"), "evt_1"
    )
    assert post_event(client, payload).status_code == 200
    assert summary(client) == {"count": 1, "amount_minor": 1000, "currency": "gbp"}

    codes = []

    def replay():
        codes.append(post_event(stripe_app.test_client(), payload).status_code)

    threads = [threading.Thread(target=replay) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200, 200, 200]
    assert summary(client) == {"count": 1, "amount_minor": 1000, "currency": "gbp"}
    with stripe_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 1


def test_forged_stale_and_unsigned_webhooks_are_refused(stripe_app, fake_stripe):
    client = stripe_app.test_client()
    donate(client, "10")
    payload = event("checkout.session.completed", paid_session(fake_stripe, "cs_test_000001"))
    assert post_event(client, payload, secret="whsec_wrong").status_code == 400
    assert post_event(client, payload, at=int(time.time()) - 15 * 60).status_code == 400
    body, _ = signed(payload)
    assert (
        client.post("/stripe/webhook", data=body, content_type="application/json").status_code
        == 400
    )
    assert (
        client.post(
            "/stripe/webhook", data=b"\xff\xfe", headers={"Stripe-Signature": "t=1,v1=x"}
        ).status_code
        == 400
    )
    tampered, header = signed(payload)
    tampered = tampered.replace(b'"paid"', b'"PAID"')
    assert (
        client.post(
            "/stripe/webhook", data=tampered, headers={"Stripe-Signature": header}
        ).status_code
        == 400
    )
    assert summary(client)["count"] == 0


def test_an_unpaid_completion_counts_only_when_the_money_arrives(stripe_app, fake_stripe):
    client = stripe_app.test_client()
    donate(client, "25")
    session = paid_session(fake_stripe, "cs_test_000001", payment_status="unpaid")
    post_event(client, event("checkout.session.completed", session, "evt_a"))
    assert summary(client)["count"] == 0
    html = client.get("/donate/thanks?session_id=cs_test_000001").get_data(as_text=True)
    assert "waiting for Stripe to confirm your donation of £25.00" in html
    post_event(
        client,
        event(
            "checkout.session.async_payment_succeeded",
            {**session, "payment_status": "paid"},
            "evt_b",
        ),
    )
    assert summary(client) == {"count": 1, "amount_minor": 2500, "currency": "gbp"}


def test_failed_and_expired_sessions_never_count(stripe_app, fake_stripe):
    client = stripe_app.test_client()
    donate(client, "5")
    donate(client, "50")
    post_event(
        client,
        event(
            "checkout.session.async_payment_failed", fake_stripe.sessions["cs_test_000001"], "e1"
        ),
    )
    post_event(
        client, event("checkout.session.expired", fake_stripe.sessions["cs_test_000002"], "e2")
    )
    assert summary(client)["count"] == 0
    with stripe_app.app_context():
        statuses = db.session.scalars(select(Donation.status).order_by(Donation.id)).all()
    assert statuses == [DonationStatus.FAILED, DonationStatus.EXPIRED]
    assert "did not go through" in client.get("/donate/thanks?session_id=cs_test_000001").get_data(
        as_text=True
    )


def test_a_full_refund_takes_it_out_and_late_events_do_not_bring_it_back(stripe_app, fake_stripe):
    client = stripe_app.test_client()
    donate(client, "10")
    session = paid_session(fake_stripe, "cs_test_000001")
    post_event(client, event("checkout.session.completed", session, "evt_paid"))
    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": session["payment_intent"],
        "amount": 1000,
        "amount_refunded": 1000,
        "refunded": True,
    }
    post_event(client, event("charge.refunded", charge, "evt_refund"))
    assert summary(client) == {"count": 0, "amount_minor": 0, "currency": "gbp"}
    # Stripe delivers in any order: an older "paid" arriving now changes nothing.
    post_event(client, event("checkout.session.async_payment_succeeded", session, "evt_late"))
    assert summary(client)["count"] == 0
    with stripe_app.app_context():
        assert db.session.get(Donation, 1).status == DonationStatus.REFUNDED


def test_a_partial_refund_counts_what_was_kept(stripe_app, fake_stripe):
    client = stripe_app.test_client()
    donate(client, "10")
    session = paid_session(fake_stripe, "cs_test_000001")
    post_event(client, event("checkout.session.completed", session, "evt_paid"))
    charge = {
        "id": "ch_1",
        "payment_intent": session["payment_intent"],
        "amount": 1000,
        "amount_refunded": 400,
        "refunded": False,
    }
    post_event(client, event("charge.refunded", charge, "evt_partial"))
    assert summary(client) == {"count": 1, "amount_minor": 600, "currency": "gbp"}


def test_thanks_page_shows_the_amount_from_our_database_once_paid(stripe_app, fake_stripe):
    client = stripe_app.test_client()
    donate(client, "10")
    before = client.get("/donate/thanks?session_id=cs_test_000001").get_data(as_text=True)
    assert "waiting for Stripe" in before
    post_event(
        client,
        event("checkout.session.completed", paid_session(fake_stripe, "cs_test_000001"), "e"),
    )
    after = client.get("/donate/thanks?session_id=cs_test_000001").get_data(as_text=True)
    assert "We have received £10.00" in after
    assert "could not find that donation" in client.get(
        "/donate/thanks?session_id=cs_nope"
    ).get_data(as_text=True)


def test_unknown_events_are_acknowledged_and_ignored(stripe_app):
    client = stripe_app.test_client()
    response = post_event(client, event("customer.created", {"id": "cus_1"}, "evt_other"))
    assert response.status_code == 200


def test_summary_is_cacheable_and_the_home_page_shows_the_total(stripe_app, fake_stripe):
    client = stripe_app.test_client()
    for amount in ("10", "15.50"):
        donate(client, amount)
    for session_id in ("cs_test_000001", "cs_test_000002"):
        post_event(
            client,
            event(
                "checkout.session.completed",
                paid_session(fake_stripe, session_id),
                f"e{session_id}",
            ),
        )
    response = client.get("/api/v1/donations/summary")
    assert (
        response.headers["Access-Control-Allow-Origin"] == "*"
        and "max-age" in response.headers["Cache-Control"]
    )
    assert response.get_json() == {"count": 2, "amount_minor": 2550, "currency": "gbp"}
    assert "£25.50</strong> raised by 2 donors" in client.get("/").get_data(as_text=True)


def test_gofundme_link_counts_the_click_and_only_goes_to_the_fundraiser(app, client):
    response = client.get(
        "/go/gofundme?source=thanks:help-ukraine-refugees&url=https://evil.example&next=//evil.example"
    )
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert (
        f"{target.scheme}://{target.netloc}{target.path}"
        == "https://www.gofundme.com/f/refugees-welcome-test"
    )
    assert parse_qs(target.query)["utm_campaign"] == ["thanks:help-ukraine-refugees"]
    assert "evil" not in response.headers["Location"]
    assert "Set-Cookie" not in response.headers
    client.get("/go/gofundme?source=<script>")
    with app.app_context():
        sources = db.session.scalars(select(OutboundClick.source).order_by(OutboundClick.id)).all()
    assert sources == ["thanks:help-ukraine-refugees", "direct"]


def test_the_ask_follows_signing_and_confirming(stripe_app, fake_stripe):
    client = stripe_app.test_client()
    html = client.get(f"/petitions/{SLUG}/thanks").get_data(as_text=True)
    assert html.index("Ask your friends to sign") < html.index("Can you give as well?")
    assert 'value="thanks:help-ukraine-refugees"' in html and "Give £10" in html
    assert "No thanks" in html and "/go/gofundme?source=thanks" in html
    token = TOKEN.findall(html)[-1]
    response = client.post(
        "/donate",
        data={"amount": "10", "source": "thanks:help-ukraine-refugees", "form_token": token},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 303


def test_a_webhook_while_the_database_is_down_asks_stripe_to_retry(tmp_path, fake_stripe):
    from tests.fake_stripe import SECRET_KEY

    config = make_config(tmp_path, "postgresql://nobody@127.0.0.1:1/none", "console")
    config.update(
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=fake_stripe.url,
    )
    down = create_app(config)
    response = post_event(
        down.test_client(),
        event("checkout.session.completed", {"id": "cs_x", "payment_status": "paid"}),
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"]


def test_admins_see_totals_the_list_clicks_and_can_export(stripe_app, fake_stripe):
    import csv
    import io

    from petition.models import AuditLog
    from tests.factories import log_in, make_admin

    client = stripe_app.test_client()
    donate(client, "10", source="thanks:help-ukraine-refugees")
    donate(client, "7.50", source="home")
    post_event(
        client,
        event("checkout.session.completed", paid_session(fake_stripe, "cs_test_000001"), "e1"),
    )
    client.get("/go/gofundme?source=home")
    client.get("/go/gofundme?source=home")
    client.get("/go/gofundme?source=article:riot-police")
    with stripe_app.app_context():
        make_admin()
        make_admin("editor@example.org", role="editor")
    admin = stripe_app.test_client()
    log_in(admin)
    html = admin.get("/admin/donations").get_data(as_text=True)
    assert "£10</dd>" in html and "£7.50</dd>" in html
    assert "thanks:help-ukraine-refugees" in html and "cs_test_000002" in html
    assert "article:riot-police" in html and ">2<" in html.replace(" ", "")
    body = admin.get("/admin/donations.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(r["amount_gbp"], r["status"]) for r in rows] == [
        ("10.00", "paid"),
        ("7.50", "pending"),
    ]
    with stripe_app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "export_donations"))
        assert entry.row_count == 2 and entry.actor == "admin@example.org"
    editor = stripe_app.test_client()
    log_in(editor, "editor@example.org")
    assert editor.get("/admin/donations").status_code == 403
    assert editor.get("/admin/donations.csv").status_code == 403


def test_a_refund_that_arrives_before_its_payment_is_kept_and_applied(stripe_app, fake_stripe):
    client = stripe_app.test_client()
    donate(client, "10")
    session = paid_session(fake_stripe, "cs_test_000001")
    charge = {
        "id": "ch_1",
        "payment_intent": session["payment_intent"],
        "amount": 1000,
        "amount_refunded": 1000,
        "refunded": True,
    }
    early = post_event(client, event("charge.refunded", charge, "evt_refund_first"))
    assert early.status_code == 200  # kept, not lost
    post_event(client, event("checkout.session.completed", session, "evt_paid_later"))
    assert summary(client) == {"count": 0, "amount_minor": 0, "currency": "gbp"}
    with stripe_app.app_context():
        donation = db.session.get(Donation, 1)
        assert donation.status == DonationStatus.REFUNDED and donation.refunded_minor == 1000
        assert db.session.scalar(select(func.count()).select_from(EarlyRefund)) == 0


def test_signed_webhooks_of_odd_shapes_get_a_clear_400_never_a_500(stripe_app, fake_stripe, caplog):
    client = stripe_app.test_client()
    donate(client, "10")
    session = paid_session(fake_stripe, "cs_test_000001")
    charge = {"id": "ch_1", "payment_intent": session["payment_intent"], "amount_refunded": 100}
    odd = [
        event("checkout.session.completed", session, "evt_" + "x" * 5000),
        event("charge.refunded", {**charge, "amount_refunded": "lots"}, "evt_lots"),
        event("charge.refunded", {**charge, "amount_refunded": True}, "evt_bool"),
        event("checkout.session.completed", {**session, "metadata": ["donation_id", "1"]}, "e1"),
        event("checkout.session.completed", {**session, "payment_intent": {"id": 1}}, "e3"),
        {"id": "evt_no_data", "type": "charge.refunded"},
        ["not", "an", "object"],
    ]
    with caplog.at_level(logging.ERROR):
        for payload in odd:
            response = post_event(client, payload)
            assert response.status_code == 400, (payload, response.status_code)
            assert response.get_json()["error"]["code"] in ("malformed_event", "bad_signature")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # A donation id too long for any row is no match; the session id still finds it.
    long_id = {**session, "metadata": {"donation_id": "9" * 400}}
    assert post_event(client, event("checkout.session.completed", long_id, "e2")).status_code == 200
    # Kinds we do not act on are acknowledged, so Stripe stops sending them.
    assert (
        post_event(client, event("customer.created", {"id": "cus_1"}, "evt_other")).status_code
        == 200
    )
    # The same event, well formed, is acted on (the positive control).
    assert (
        post_event(client, event("checkout.session.completed", session, "evt_ok")).status_code
        == 200
    )
    assert summary(client)["count"] == 1


def transactions_open(app) -> int:
    """Transactions of the app's database left open by someone else: PostgreSQL lists them;
    on SQLite, one holds the write lock (our transactions begin IMMEDIATE), so no other can."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as connection:
                return connection.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
                ).scalar_one()
        probe = sqlite3.connect(db.engine.url.database, timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            return 0
        except sqlite3.OperationalError:
            return 1
        finally:
            probe.close()


def test_no_transaction_waits_on_stripe(stripe_app, fake_stripe):
    """Going to checkout calls Stripe with nothing of ours held open: a slow Stripe must not
    keep a transaction (and on SQLite, every signer) waiting."""
    seen: list[int] = []
    fake_stripe.while_answering = lambda: seen.append(transactions_open(stripe_app))
    client = stripe_app.test_client()
    assert donate(client, "10").status_code == 303
    assert seen == [0]
    with stripe_app.app_context():  # the probe can see an open transaction
        db.session.execute(db.select(Donation.id)).all()
        assert transactions_open(stripe_app) == 1
        db.session.rollback()
