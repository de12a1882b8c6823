"""What admins do with signatures: search, moderate, export, answer privacy requests, purge."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from petition.extensions import db
from petition.models import (
    AuditLog,
    Campaign,
    OutboxMessage,
    Petition,
    Signature,
    SignatureState,
    utcnow,
)
from petition.services import counting
from tests.factories import (
    SLUG,
    admin_csrf,
    confirmed_signatures,
    count_of,
    forget_cached,
    log_in,
    make_admin,
    make_petition,
    sign,
    signature_for,
    signer,
)

PEOPLE = [
    {"name": "Zoë O'Brien", "email": "zoe@example.org", "country": "GB", "postcode": "SW1A 1AA"},
    {"name": 'Jean "Jay" Dupont, Jr.', "email": "jean@example.fr", "country": "FR", "postcode": ""},
    {"name": "Łukasz Żółć", "email": "lukasz@example.pl", "country": "PL", "postcode": ""},
]


def petition_counts(app, slug: str = SLUG) -> tuple[int, int, int]:
    with app.app_context():
        counting.flush_counts()
        p = db.session.scalar(select(Petition).where(Petition.slug == slug))
        return p.confirmed_count, p.pending_count, p.invalidated_count


def set_ip(app, email: str, ip: str) -> None:
    with app.app_context():
        db.session.execute(update(Signature).where(Signature.email == email).values(ip_address=ip))
        db.session.commit()


def search(client, **params) -> str:
    response = client.get("/admin/signatures", query_string=params)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_dashboard_shows_counts_charts_countries_and_sources(app, admin):
    keen = [{**person, "consent_updates": "y"} for person in PEOPLE[:2]]
    confirmed_signatures(app, admin, keen + PEOPLE[2:])
    sign(admin, email="pending@example.org", utm_source="newsletter", consent_updates="y")
    petition_counts(app)  # the charts read the hourly figures the worker folds in
    html = admin.get("/admin/").get_data(as_text=True)
    # Three signers asked for updates and two of them confirmed: only those two count.
    assert re.search(r"<dt>Confirmed, want updates</dt><dd>2</dd>", html)
    assert html.count('<svg class="chart__svg"') == 2
    assert (
        "Signatures per hour, last 48 hours" in html and "Signatures per day, last 30 days" in html
    )
    assert "3 signed in this period" not in html  # four were made, three confirmed
    assert "4 signed in this period and 3 confirmed (less withdrawals)" in html
    for country in ("United Kingdom", "France", "Poland"):
        assert country in html
    assert "utm:newsletter" in html and "petition" in html


def test_the_dashboard_says_when_nobody_has_signed_instead_of_drawing_empty_charts(app, admin):
    html = admin.get("/admin/").get_data(as_text=True)
    # Both periods are empty: words, not an empty frame under a scale of "1".
    assert html.count("Nobody signed or confirmed in this period.") == 2
    assert '<svg class="chart__svg"' not in html and "chart__peak" not in html
    sign(admin, email="first@example.org")
    petition_counts(app)
    html = admin.get("/admin/").get_data(as_text=True)
    assert "Nobody signed or confirmed in this period." not in html
    assert html.count('<svg class="chart__svg"') == 2
    assert "1 signed in this period and 0 confirmed (less withdrawals)" in html


def test_every_search_filter_finds_the_right_people(app, admin):
    confirmed_signatures(app, admin, PEOPLE)
    sign(admin, name="Pending Person", email="p.e.n.d.i.n.g@gmail.com", postcode="M1 1AE")
    set_ip(app, "zoe@example.org", "192.0.2.10")
    set_ip(app, "jean@example.fr", "192.0.2.200")
    set_ip(app, "lukasz@example.pl", "198.51.100.7")
    with app.app_context():
        make_petition("other")
    sign(admin, slug="other", email="other@example.org", name="Other Signer", postcode="EC1A 1BB")

    def names(**params) -> set[str]:
        html = search(admin, **params)
        return {
            p["name"]
            for p in PEOPLE + [{"name": "Pending Person"}, {"name": "Other Signer"}]
            if p["name"].replace("'", "&#39;").replace('"', "&#34;") in html
        }

    assert names(email="PENDING+x@googlemail.com") == {"Pending Person"}
    assert names(domain="example.fr") == {'Jean "Jay" Dupont, Jr.'}
    assert names(ip="192.0.2.0/24") == {"Zoë O'Brien", 'Jean "Jay" Dupont, Jr.'}
    assert names(ip="198.51.100.7") == {"Łukasz Żółć"}
    assert names(postcode="sw1a") == {"Zoë O'Brien"}
    assert names(name="żółć") == {"Łukasz Żółć"}
    assert names(state="pending", petition=SLUG) == {"Pending Person"}
    assert names(petition="other") == {"Other Signer"}
    today = utcnow().date()
    assert len(names(since=str(today), until=str(today))) == 5
    assert names(until=str(today - timedelta(days=2))) == set()
    bad = admin.get("/admin/signatures", query_string={"ip": "not-an-ip"})
    assert "Enter an IP address" in bad.get_data(as_text=True)


def test_search_is_paginated(app, admin):
    for i in range(55):
        sign(admin, email=f"bulk{i}@spam.example.net", name=f"Bulk {i}")
    first = search(admin, domain="spam.example.net")
    assert "55 matching signatures" in first and "Page 1 of 2" in first
    second = search(admin, domain="spam.example.net", page=2)
    assert "Page 2 of 2" in second and "Bulk 0<" in second


def test_bulk_invalidation_and_restore_keep_counts_right(app, admin):
    confirmed_signatures(app, admin, PEOPLE)
    for i in range(4):
        sign(admin, email=f"bot{i}@spam.example.net", name=f"Bot {i}")
    confirmed_signatures(app, admin, [{"name": "Bot 9", "email": "bot9@spam.example.net"}])
    assert petition_counts(app) == (4, 4, 0)

    html = search(admin, domain="spam.example.net")
    assert "Invalidate 5 signatures" in html
    token = admin_csrf(admin, "/admin/signatures?domain=spam.example.net")
    url = "/admin/signatures/invalidate?domain=spam.example.net"

    no_reason = admin.post(url, data={"csrf_token": token, "expected": "5", "reason": ""})
    assert "Give a reason" in admin.get(no_reason.headers["Location"]).get_data(as_text=True)
    stale = admin.post(url, data={"csrf_token": token, "expected": "4", "reason": "Bot flood"})
    assert "matching signatures changed (now 5)" in admin.get(stale.headers["Location"]).get_data(
        as_text=True
    )
    assert petition_counts(app) == (4, 4, 0)

    done = admin.post(
        url, data={"csrf_token": token, "expected": "5", "reason": "Bot flood from one domain"}
    )
    assert "5 signature(s) invalidated" in admin.get(done.headers["Location"]).get_data(
        as_text=True
    )
    assert petition_counts(app) == (3, 0, 5)
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "invalidate"))
        assert entry.row_count == 5 and entry.actor == "admin@example.org"
        assert entry.details["reason"] == "Bot flood from one domain"
        assert entry.details["filters"] == {"domain": "spam.example.net"}
        # A recount agrees with the batch-maintained figures.
        assert not any(r.changed for r in counting.recount())

    restored = admin.post(
        "/admin/signatures/restore?domain=spam.example.net",
        data={"csrf_token": token, "expected": "5"},
    )
    assert "5 signature(s) restored" in admin.get(restored.headers["Location"]).get_data(
        as_text=True
    )
    assert petition_counts(app) == (4, 4, 0)
    with app.app_context():
        assert signature_for("bot9@spam.example.net").state == SignatureState.CONFIRMED
        assert signature_for("bot0@spam.example.net").state == SignatureState.PENDING


def test_invalidation_needs_a_filter(app, admin):
    token = admin_csrf(admin, "/admin/signatures")
    response = admin.post(
        "/admin/signatures/invalidate", data={"csrf_token": token, "expected": "0", "reason": "x"}
    )
    assert "Choose at least one filter" in admin.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_export_has_every_confirmed_signer_intact_and_is_audited(app, admin):
    people = PEOPLE + [
        {"name": "Eve", "email": "eve@example.org", "country": "GB", "postcode": "E1 6AN"}
    ]
    confirmed_signatures(app, admin, people)
    sign(admin, name="Not Confirmed", email="pending@example.org")
    with app.app_context():
        # Data from before the form's rules (or typed in elsewhere) is still neutralised.
        db.session.execute(
            update(Signature)
            .where(Signature.email == "eve@example.org")
            .values(name='=HYPERLINK("http://x")')
        )
        db.session.execute(
            update(Signature).where(Signature.email == "zoe@example.org").values(source="@SUM(1+1)")
        )
        db.session.commit()

    response = admin.get(f"/admin/petitions/{SLUG}/signatures.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith(
        f'attachment; filename="{SLUG}-confirmed-signatures-'
    )
    raw = response.get_data()
    # A byte-order mark first, so Excel reads it as UTF-8.
    assert raw.startswith(b"\xef\xbb\xbf")
    body = raw.decode("utf-8-sig")
    columns = (
        "name email postcode country state consent_to_updates consent_version "
        "signed_at confirmed_at source language"
    )
    assert body.splitlines()[0] == ",".join(f'"{c}"' for c in columns.split())
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {r["email"] for r in rows} == {p["email"] for p in people}
    by_email = {r["email"]: r for r in rows}
    assert by_email["zoe@example.org"]["name"] == "Zoë O'Brien"
    assert by_email["jean@example.fr"]["name"] == 'Jean "Jay" Dupont, Jr.'
    assert by_email["lukasz@example.pl"]["name"] == "Łukasz Żółć"
    assert by_email["eve@example.org"]["name"] == '\'=HYPERLINK("http://x")'
    assert by_email["zoe@example.org"]["source"] == "'@SUM(1+1)"
    for row in rows:
        assert all(not v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values())
        assert row["state"] == "confirmed"

    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "export"))
        assert entry.actor == "admin@example.org" and entry.row_count == 4 and entry.target == SLUG
    audit = admin.get("/admin/audit?action=export").get_data(as_text=True)
    assert "admin@example.org" in audit and "export" in audit


def test_export_filters(app, admin):
    confirmed_signatures(app, admin, PEOPLE[:1])
    confirmed_signatures(app, admin, [{**PEOPLE[1], "consent_updates": "y"}])
    sign(admin, name="Waiting Reader", email="waiting@example.org", consent_updates="y")
    pending = admin.get(f"/admin/petitions/{SLUG}/signatures.csv?state=pending").get_data(
        as_text=True
    )
    assert "waiting@example.org" in pending and "zoe@example.org" not in pending
    consent = admin.get(f"/admin/petitions/{SLUG}/signatures.csv?state=all&consent=yes").get_data(
        as_text=True
    )
    # Consent counts once the owner of the address confirmed it, not when a form was ticked.
    assert "jean@example.fr" in consent
    assert "waiting@example.org" not in consent and "zoe@example.org" not in consent
    refused = admin.get(f"/admin/petitions/{SLUG}/signatures.csv?state=all&consent=no")
    assert "jean@example.fr" not in refused.get_data(as_text=True)
    tomorrow = (utcnow() + timedelta(days=1)).date()
    later = admin.get(
        f"/admin/petitions/{SLUG}/signatures.csv?state=all&since={tomorrow}"
    ).get_data(as_text=True)
    assert len(later.splitlines()) == 1
    assert admin.get(f"/admin/petitions/{SLUG}/signatures.csv?state=bogus").status_code == 400
    assert admin.get("/admin/petitions/nope/signatures.csv").status_code == 404


def test_export_from_the_command_line(app, admin, runner, tmp_path):
    confirmed_signatures(app, admin, PEOPLE)
    out = tmp_path / "export.csv"
    result = runner.invoke(args=["export-signatures", SLUG, "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 3
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "export"))
        assert entry.actor.startswith("command line") and entry.row_count == 3
    assert runner.invoke(args=["export-signatures", "nope"]).exit_code != 0


def test_privacy_lookup_access_request_and_erasure(app, admin, mailbox):
    confirmed_signatures(app, admin, [{"name": "Ann Reader", "email": "Ann.Reader@gmail.com"}])
    with app.app_context():
        make_petition("other")
    sign(admin, slug="other", name="Ann Reader", email="annreader+2@googlemail.com")
    with app.app_context():
        assert count_of() == 1

    html = admin.get("/admin/privacy", query_string={"email": "ANNREADER@gmail.com"}).get_data(
        as_text=True
    )
    assert (
        "2 signatures for" in html
        and "Ann.Reader@gmail.com" in html
        and "annreader+2@googlemail.com" in html
    )

    token = admin_csrf(admin, "/admin/privacy?email=annreader@gmail.com")
    download = admin.post(
        "/admin/privacy/export", data={"csrf_token": token, "email": "annreader@gmail.com"}
    )
    assert download.headers["Content-Disposition"].startswith("attachment")
    report = json.loads(download.get_data(as_text=True))
    assert len(report["signatures"]) == 2
    assert {s["state"] for s in report["signatures"]} == {"confirmed", "pending"}
    assert report["signatures"][0]["consent_wording"]

    unticked = admin.post(
        "/admin/privacy/erase", data={"csrf_token": token, "email": "annreader@gmail.com"}
    )
    assert "Tick the box" in admin.get(unticked.headers["Location"]).get_data(as_text=True)
    erased = admin.post(
        "/admin/privacy/erase",
        data={"csrf_token": token, "email": "annreader@gmail.com", "confirm": "y"},
    )
    assert "Erased the personal data of 2 signature(s)" in admin.get(
        erased.headers["Location"]
    ).get_data(as_text=True)

    with app.app_context():
        rows = db.session.scalars(select(Signature)).all()
        assert all(
            s.name is None
            and s.email is None
            and s.canonical_email is None
            and s.ip_address is None
            for s in rows
        )
        assert all(s.erased_at is not None for s in rows)
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.to_address.like("%ann%"))
            )
            == 0
        )
        audit = db.session.scalars(
            select(AuditLog.target).where(AuditLog.action.in_(["erase", "subject_access"]))
        ).all()
        assert audit == ["a***@gmail.com", "a***@gmail.com"]
    with app.app_context():
        assert count_of() == 1  # the count stays as it was
    # What is left is recognised (they signed, once) but says nothing about them.
    html = admin.get("/admin/privacy?email=annreader@gmail.com").get_data(as_text=True)
    assert "2 signatures for" in html and html.count("(erased)") == 4
    assert "Ann Reader" not in html and "Ann.Reader@gmail.com" not in html


def test_a_readers_own_withdrawal_shows_in_privacy_lookup(app, admin, mailbox):
    from petition.mail import deliver_due
    from tests.factories import links_in

    sign(admin, email="leaver@example.org")
    with app.app_context():
        deliver_due()
    links = links_in(mailbox.wait_for(1)[0])
    admin.post(links["withdraw"])
    html = admin.get("/admin/privacy?email=leaver@example.org").get_data(as_text=True)
    assert "withdrawn by the reader" in html


def test_a_reader_who_stopped_updates_leaves_the_consenting_export(app, admin, mailbox):
    from petition.mail import deliver_due
    from tests.factories import links_in

    people = [
        {"email": e, "consent_updates": "y"} for e in ("quiet@example.org", "keen@example.org")
    ]
    confirmed_signatures(app, admin, [signer(**p) for p in people])
    with app.app_context():
        deliver_due()
    quiet = next(m for m in mailbox.wait_for(2) if m["To"] == "quiet@example.org")
    admin.post(links_in(quiet)["withdraw"] + "/updates")

    export = admin.get(f"/admin/petitions/{SLUG}/signatures.csv?state=all&consent=yes")
    rows = export.get_data(as_text=True)
    assert "keen@example.org" in rows and "quiet@example.org" not in rows
    html = admin.get("/admin/privacy?email=quiet@example.org").get_data(as_text=True)
    assert "this reader gets none" in html
    token = admin_csrf(admin, "/admin/privacy?email=quiet@example.org")
    report = json.loads(
        admin.post(
            "/admin/privacy/export", data={"csrf_token": token, "email": "quiet@example.org"}
        ).get_data(as_text=True)
    )
    [signature] = report["signatures"]
    assert signature["asked_for_updates_when_signing"] is True and signature["consented_at"]
    updates = report["campaign_updates"]
    assert updates["wanted_now"] is False
    assert [(e["given"], e["how"]) for e in updates["history"]] == [
        (True, "signature confirmed"),
        (False, "stop link"),
    ]
    assert updates["history"][0]["wording"].startswith("Email me occasional updates")


def test_purge_applies_retention_idempotently_and_is_audited(app, admin, runner, mailbox):
    from petition.mail import deliver_due

    confirmed_signatures(app, admin, PEOPLE[:1])
    sign(admin, email="old-pending@example.org")
    sign(admin, email="new-pending@example.org")
    with app.app_context():
        deliver_due()
        old = utcnow() - timedelta(days=31)
        ancient = utcnow() - timedelta(days=91)
        db.session.execute(
            update(Signature)
            .where(Signature.email == "old-pending@example.org")
            .values(created_at=old)
        )
        db.session.execute(
            update(Signature).where(Signature.email == "zoe@example.org").values(created_at=ancient)
        )
        db.session.execute(update(OutboxMessage).values(sent_at=utcnow() - timedelta(days=8)))
        db.session.commit()
    assert petition_counts(app)[:2] == (1, 2)

    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 unconfirmed signature(s)" in result.output
    assert "cleared 1 IP address(es)" in result.output
    with app.app_context():
        assert signature_for("old-pending@example.org") is None
        assert signature_for("new-pending@example.org") is not None
        assert signature_for("zoe@example.org").ip_address is None
        assert signature_for("new-pending@example.org").ip_address == "127.0.0.1"
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        counting.flush_counts()
        assert not any(r.changed for r in counting.recount())
    assert petition_counts(app)[:2] == (1, 1)

    again = runner.invoke(args=["purge"])
    assert "deleted 0 unconfirmed signature(s)" in again.output
    assert "cleared 0 IP address(es)" in again.output
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditLog).where(AuditLog.action == "purge")
            )
            == 2
        )


def test_petitions_can_be_created_edited_opened_and_closed(app, admin):
    token = admin_csrf(admin)
    bad = admin.post(
        "/admin/petitions/new",
        data={"csrf_token": token, "slug": "Bad Slug!", "title": "", "ask": "", "goal": "0"},
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "lower-case letters" in html and "Enter a title" in html
    # Spaces alone are no title either.
    blank = admin.post(
        "/admin/petitions/new",
        data={"csrf_token": token, "slug": "blank", "title": "   ", "ask": " \n ", "goal": "9"},
    )
    assert blank.status_code == 422
    assert "Enter a title" in blank.get_data(as_text=True)
    assert "Enter the ask" in blank.get_data(as_text=True)

    created = admin.post(
        "/admin/petitions/new",
        data={
            "csrf_token": token,
            "slug": "safe-routes",
            "title": "Safe routes now",
            "ask": "Open safe routes.",
            "goal": "5000",
        },
    )
    assert created.status_code == 303
    assert admin.get("/petitions/safe-routes").status_code == 404  # a draft until opened
    duplicate = admin.post(
        "/admin/petitions/new",
        data={
            "csrf_token": token,
            "slug": "safe-routes",
            "title": "Again",
            "ask": "x",
            "goal": "5",
        },
    )
    assert "already uses this address" in duplicate.get_data(as_text=True)

    admin.post("/admin/petitions/safe-routes/open", data={"csrf_token": token})
    assert "Sign this petition" in admin.get("/petitions/safe-routes").get_data(as_text=True)
    edited = admin.post(
        "/admin/petitions/safe-routes",
        data={
            "csrf_token": token,
            "slug": "safe-routes",
            "title": "Safe and legal routes",
            "ask": "Open them.",
            "goal": "8000",
        },
    )
    assert edited.status_code == 303
    with app.app_context():
        forget_cached()
    assert "Safe and legal routes" in admin.get("/petitions/safe-routes").get_data(as_text=True)
    # Closing asks first, saying what it means; asking changes nothing.
    edit_page = admin.get("/admin/petitions/safe-routes").get_data(as_text=True)
    assert 'href="/admin/petitions/safe-routes/close">Close petition…' in edit_page
    asked = admin.get("/admin/petitions/safe-routes/close").get_data(as_text=True)
    assert "Close “Safe and legal routes”?" in asked and "can still be confirmed for 24" in asked
    with app.app_context():
        forget_cached()
    assert "Sign this petition" in admin.get("/petitions/safe-routes").get_data(as_text=True)
    admin.post("/admin/petitions/safe-routes/close", data={"csrf_token": token})
    with app.app_context():
        forget_cached()
    assert "This petition is closed" in admin.get("/petitions/safe-routes").get_data(as_text=True)
    with app.app_context():
        actions = db.session.scalars(
            select(AuditLog.action).where(AuditLog.target == "safe-routes").order_by(AuditLog.id)
        ).all()
        assert actions == [
            "petition_created",
            "petition_opened",
            "petition_updated",
            "petition_closed",
        ]


def test_campaign_copy_is_saved_and_audited_with_what_changed(app, admin):
    token = admin_csrf(admin, "/admin/campaign")
    ok = admin.post(
        "/admin/campaign",
        data={
            "csrf_token": token,
            "name": "Refugees Welcome",
            "tagline": "New tagline",
            "intro": "Intro",
            "history": "History",
            # Not a field of the copy form: where donations go is changed elsewhere, by admins.
            "gofundme_url": "https://evil.example/",
        },
    )
    assert ok.status_code == 303
    with app.app_context():
        forget_cached()
    assert "New tagline" in admin.get("/").get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "campaign_updated"))
        assert entry.details["changed"]["tagline"]["to"] == "New tagline"
        assert "gofundme_url" not in entry.details["changed"]
        assert db.session.scalar(select(Campaign.gofundme_url)) != "https://evil.example/"


def set_fundraiser(client: Any, url: str) -> Any:
    token = admin_csrf(client, "/admin/campaign")
    return client.post(
        "/admin/campaign/fundraiser", data={"csrf_token": token, "gofundme_url": url}
    )


def test_only_admins_choose_where_donations_go_and_only_on_allowed_hosts(app, admin, client):
    with app.app_context():
        make_admin("editor@example.org", role="editor")
        old = db.session.scalar(select(Campaign.gofundme_url))
    editor = app.test_client()
    log_in(editor, "editor@example.org")
    page = editor.get("/admin/campaign").get_data(as_text=True)
    assert "Only admins can change where donations go" in page
    assert set_fundraiser(editor, "https://www.gofundme.com/f/editors-pick").status_code == 403

    for bad, message in [
        ("https://evil.example/", "must be on gofundme.com or www.gofundme.com"),
        ("http://www.gofundme.com/f/x", "starting https://"),
        ("https://www.gofundme.com.evil.example/f/x", "must be on"),
        ("https://user@www.gofundme.com/f/x", "plain address"),
    ]:
        refused = set_fundraiser(admin, bad)
        assert refused.status_code == 422 and message in refused.get_data(as_text=True), bad
    new = "https://www.gofundme.com/f/refugees-welcome-2026"
    assert set_fundraiser(admin, new).status_code == 303  # the positive control
    with app.app_context():
        assert db.session.scalar(select(Campaign.gofundme_url)) == new
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "fundraiser_changed"))
        assert entry.details == {"from": old, "to": new}
        assert entry.actor == "admin@example.org"
        forget_cached()
    go = client.get("/go/gofundme?source=test")
    assert go.status_code == 302 and go.headers["Location"].startswith(new)


def test_a_fundraiser_set_before_the_rules_leads_nowhere(app, client):
    with app.app_context():
        db.session.execute(update(Campaign).values(gofundme_url="https://evil.example/steal"))
        db.session.commit()
        forget_cached()
    app.config["GOFUNDME_URL"] = ""
    assert client.get("/go/gofundme").status_code == 404


def test_search_results_export_exactly_the_rows_found_and_are_audited(app, admin):
    confirmed_signatures(app, admin, PEOPLE)
    confirmed_signatures(
        app, admin, [{"name": "Олена Шевченко", "email": "olena@bots.example", "country": "UA"}]
    )
    sign(admin, email="second@bots.example", name="Second Bot")
    html = search(admin, domain="bots.example")
    assert "2 matching signatures" in html
    assert 'href="/admin/signatures.csv?domain=bots.example"' in html
    response = admin.get("/admin/signatures.csv", query_string={"domain": "bots.example"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the Cyrillic name as it is
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert sorted(r["email"] for r in rows) == ["olena@bots.example", "second@bots.example"]
    assert "Олена Шевченко" in [r["name"] for r in rows]
    with app.app_context():
        entry = db.session.scalar(
            select(AuditLog).where(AuditLog.action == "export").order_by(AuditLog.id.desc())
        )
        assert entry.details["filters"] == {"domain": "bots.example"}
        assert entry.details["from"] == "search" and entry.row_count == 2
    # An empty search exports nothing (it would be everyone): the reader is sent back.
    refused = admin.get("/admin/signatures.csv")
    assert refused.status_code == 303
