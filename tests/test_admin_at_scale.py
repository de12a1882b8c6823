"""What keeps staff pages flat as signatures grow: hourly figures kept by the count journal,
figures the worker works out and keeps with their age, capped counts, and indexes that serve
every search (bench/admin.py times them at ten million signatures)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from petition.extensions import db
from petition.models import Figure, PetitionHour, Signature, SignatureState, utcnow
from petition.services import counting, figures, moderation
from petition.services.audit import Actor
from petition.services.errors import InvalidInput
from petition.services.signatures import _move
from tests.factories import SLUG, admin_csrf, confirmed_signatures, sign, signature_for


def hours() -> list[tuple[int, int]]:
    return [
        (h.signed, h.confirmed)
        for h in db.session.scalars(select(PetitionHour).order_by(PetitionHour.hour))
    ]


def test_hourly_figures_follow_signing_confirming_and_withdrawing(app, client):
    for n in range(3):
        sign(client, email=f"h{n}@example.org")
    with app.app_context():
        counting.flush_counts()
        assert hours() == [(3, 0)]
        for email in ("h0@example.org", "h1@example.org"):
            _move(signature_for(email), SignatureState.CONFIRMED, confirmed_at=utcnow())
        db.session.commit()
        counting.flush_counts()
        assert hours() == [(3, 2)]
        # A confirmed signer withdrawing takes one away; a pending one changes nothing.
        _move(signature_for("h0@example.org"), SignatureState.WITHDRAWN, withdrawn_at=utcnow())
        _move(signature_for("h2@example.org"), SignatureState.WITHDRAWN, withdrawn_at=utcnow())
        db.session.commit()
        counting.flush_counts()
        assert hours() == [(3, 1)]


def test_the_worker_keeps_staff_figures_ready_and_says_how_old_they_are(app, admin):
    keen = [
        {"name": f"Keen {n}", "email": f"keen{n}@example.org", "consent_updates": "y"}
        for n in range(2)
    ]
    with app.app_context():
        # Before anyone opens the dashboard, the worker has worked out every panel's figures.
        assert figures.refresh_due() >= 3
        keys = set(db.session.scalars(select(Figure.key)))
        assert {"wanting_updates:1", "sources:1", "funnels:"} <= keys
        assert figures.refresh_due() == 0  # nothing due again yet
    confirmed_signatures(app, admin, keen)
    with app.app_context():
        db.session.execute(update(Figure).values(computed_at=utcnow() - timedelta(minutes=3)))
        db.session.commit()
    html = admin.get("/admin/").get_data(as_text=True)
    # The stored figure (from before these two signed), with its age.
    assert "<dt>Confirmed, want updates</dt><dd>0</dd>" in html
    assert "(3 min ago)" in html
    with app.app_context():
        assert figures.refresh_due(utcnow() + figures.MAX_AGE) >= 3
    html = admin.get("/admin/").get_data(as_text=True)
    assert "<dt>Confirmed, want updates</dt><dd>2</dd>" in html
    assert "min ago)" not in html


def test_a_figure_another_worker_holds_is_left_to_it(app, admin):
    confirmed_signatures(app, admin, [{"email": "k@example.org", "consent_updates": "y"}])
    with app.app_context():
        figures.refresh_due()  # every standing figure worked out once
        later = utcnow() + figures.MAX_AGE + timedelta(seconds=1)
        db.session.execute(update(Figure).values(value=99, claimed_until=later + timedelta(1)))
        db.session.commit()
        assert figures.refresh_due(later) == 0
        assert figures.get("wanting_updates", 1).value == 99  # still the other worker's
        # Its claim lapses (the worker died): the next worker takes the figure over.
        assert figures.refresh_due(later + timedelta(days=2)) >= 1
        assert figures.get("wanting_updates", 1).value == 1
        assert db.session.get(Figure, "wanting_updates:1").claimed_until is None


def test_counts_stop_at_the_limit_and_bulk_changes_refuse_more(app, admin, monkeypatch):
    monkeypatch.setattr(moderation, "COUNT_LIMIT", 3)
    for n in range(4):
        sign(admin, email=f"spam{n}@spam.example", name=f"Spam Bot {n}")
    sign(admin, email="real@example.org", name="Real Reader")
    html = admin.get("/admin/signatures?domain=spam.example").get_data(as_text=True)
    assert "More than 3 matching signatures" in html
    assert "narrow the search" in html and "Invalidate 4" not in html
    with app.app_context():
        too_broad = moderation.SignatureFilter(domain="spam.example")
        with pytest.raises(InvalidInput, match="More than 3 signatures match"):
            moderation.invalidate(too_broad, "spam", 4, Actor("admin@example.org"))
        assert (
            db.session.scalar(
                select(Signature.state).where(Signature.email == "spam0@spam.example")
            )
            == SignatureState.PENDING
        )
    # Narrowed, the same change goes through.
    token = admin_csrf(admin, "/admin/signatures?domain=spam.example")
    narrow = "/admin/signatures/invalidate?domain=spam.example&name=Bot+1"
    done = admin.post(narrow, data={"csrf_token": token, "expected": "1", "reason": "spam"})
    assert done.status_code == 303
    with app.app_context():
        assert signature_for("spam1@spam.example").state == SignatureState.INVALIDATED
        assert signature_for("spam2@spam.example").state == SignatureState.PENDING


def explain(query) -> str:
    """PostgreSQL's plan for `query`, with sequential scans priced out of it."""
    compiled = query.compile(db.engine, compile_kwargs={"render_postcompile": True})
    cursor = db.session.connection().connection.driver_connection.cursor()
    cursor.execute("SET LOCAL enable_seqscan = off")
    cursor.execute(f"EXPLAIN {compiled}", compiled.params)
    plan = "\n".join(row[0] for row in cursor.fetchall())
    db.session.rollback()
    return plan


SEARCHES = {
    "email": ("ix_signatures_email_hash", {"email": "Someone@Example.org"}),
    "domain": ("ix_signatures_email_domain", {"domain": "example.org"}),
    "ip range": ("ix_signatures_ip_inet", {"ip": "192.0.2.0/24"}),
    "postcode": ("ix_signatures_postcode_prefix", {"postcode": "sw1a"}),
    "name": ("ix_signatures_name_trgm", {"name": "żółć"}),
}


@pytest.mark.postgres
@pytest.mark.parametrize("search", sorted(SEARCHES))
def test_each_staff_search_is_served_by_its_own_index(app, search):
    """With sequential scans priced out, PostgreSQL uses the index each search was given (a
    search no index could serve would still scan the table)."""
    index, fields = SEARCHES[search]
    with app.app_context():
        query = select(Signature.id).where(
            *moderation.conditions(moderation.SignatureFilter(**fields))
        )
        plan = explain(query)
    assert index in plan, plan
    assert "Seq Scan on signatures" not in plan


@pytest.mark.postgres
def test_a_search_no_index_serves_is_seen_scanning(app):
    """The positive control for the test above: a condition without an index scans."""
    with app.app_context():
        query = select(Signature.id).where(Signature.utm_campaign == "spring")
        plan = explain(query)
    assert "Seq Scan on signatures" in plan


def test_purge_marks_closed_petitions_done_and_reads_them_no_more(app, client):
    from petition.models import Petition, PetitionState
    from petition.services import retention

    sign(client, email="old@example.org")
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == SLUG))
        petition.state = PetitionState.CLOSED
        petition.closed_at = utcnow() - timedelta(days=400)
        db.session.commit()
        assert retention.purge().closed_anonymised == 1
        assert (
            db.session.scalar(
                select(Petition.personal_data_removed_at).where(Petition.slug == SLUG)
            )
            is not None
        )
        # A signature that somehow still holds details is not looked for again: done is done.
        db.session.execute(update(Signature).values(erased_at=None))
        db.session.commit()
        assert retention.purge().closed_anonymised == 0


def test_unreadable_searches_are_explained_at_their_own_field(app, admin):
    sign(admin, name="Ada Lovelace", email="ada@example.org")
    for field, bad, good, message in [
        ("name", "Ad", "Ada", "Enter at least 3 letters of the name"),
        ("ip", "192.0.2.300", "192.0.2.0/24", "Enter an IP address (192.0.2.1) or a range"),
    ]:
        refused = admin.get("/admin/signatures", query_string={field: bad})
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422 and message in html, field
        # The message sits with its own field (its input says so to screen readers).
        assert f'id="{field}-error"' in html or f'aria-describedby="{field}-error"' in html, html
        found = admin.get("/admin/signatures", query_string={field: good})
        assert found.status_code == 200 and message not in found.get_data(as_text=True)
