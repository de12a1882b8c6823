"""Counts: folded in from a journal in batches, reconciled on demand, never double-counted."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select, text, update

from petition.extensions import db
from petition.models import (
    CountJournalEntry,
    Petition,
    PetitionCountryCount,
    PetitionMilestone,
    Signature,
    SignatureState,
    display_goal,
    utcnow,
)
from petition.services import counting
from petition.templating import percent
from tests.factories import SLUG, confirmed_signatures, count_of, forget_cached, sign


def confirm_all() -> None:
    """Confirm every pending signature through the service's own state change."""
    from petition.services.signatures import _move

    for signature in db.session.scalars(select(Signature).where(Signature.state == "pending")):
        _move(signature, SignatureState.CONFIRMED, confirmed_at=utcnow())
    db.session.commit()


def petition() -> Petition:
    return db.session.scalar(select(Petition).where(Petition.slug == SLUG))


def test_counts_change_only_when_the_journal_is_folded_in(app, client):
    for i in range(5):
        sign(
            client,
            email=f"p{i}@example.org",
            country="GB" if i < 3 else "FR",
            postcode="SW1A 1AA" if i < 3 else "",
        )
    with app.app_context():
        assert petition().pending_count == 0
        assert counting.flush_counts() == 5
        assert (petition().pending_count, petition().confirmed_count) == (5, 0)
        confirm_all()
        assert petition().confirmed_count == 0
        assert counting.flush_counts() == 10  # one -1 pending and one +1 confirmed each
        assert (petition().pending_count, petition().confirmed_count) == (0, 5)
        by_country = dict(
            db.session.execute(
                select(PetitionCountryCount.country, PetitionCountryCount.confirmed_count)
            ).all()
        )
        assert by_country == {"GB": 3, "FR": 2}
        assert db.session.scalar(select(func.count()).select_from(CountJournalEntry)) == 0
        assert counting.flush_counts() == 0


def test_recount_repairs_drift_and_is_idempotent(app, client, runner):
    for i in range(3):
        sign(client, email=f"r{i}@example.org")
    with app.app_context():
        confirm_all()
        counting.flush_counts()
        db.session.execute(update(Petition).values(confirmed_count=99, pending_count=7))
        db.session.commit()
    result = runner.invoke(args=["recount"])
    assert result.exit_code == 0, result.output
    assert "corrected" in result.output
    with app.app_context():
        assert (petition().confirmed_count, petition().pending_count) == (3, 0)
    again = runner.invoke(args=["recount", SLUG])
    assert "already right (3 confirmed)" in again.output
    assert runner.invoke(args=["recount", "nope"]).exit_code != 0


def test_recount_does_not_double_count_changes_still_in_the_journal(app, client):
    sign(client)
    with app.app_context():
        counting.recount()
        assert counting.flush_counts() == 0  # the journal entry was absorbed by the recount
        assert petition().pending_count == 1


def test_milestones_are_recorded_once_and_the_goal_raises_itself(app):
    with app.app_context():
        p = petition()
        p.goal = 100
        db.session.commit()
        for delta in (60, 60, 400):
            db.session.add(
                CountJournalEntry(petition_id=p.id, state="confirmed", country="GB", delta=delta)
            )
            db.session.commit()
            counting.flush_counts()
        thresholds = db.session.scalars(
            select(PetitionMilestone.threshold).order_by(PetitionMilestone.threshold)
        ).all()
        assert thresholds == [100, 500]
        assert display_goal(100, 520) == 1_000
    assert display_goal(10_000, 9_999) == 10_000
    assert display_goal(10_000, 10_000) == 25_000
    assert display_goal(10_000, 12_000_000) == 13_000_000


def test_progress_is_put_as_a_reader_would_say_it():
    assert percent(0, 10_000) == "0%"
    assert percent(1, 10_000) == "Under 1%"
    assert percent(99, 10_000) == "Under 1%"
    assert percent(100, 10_000) == "1%"
    assert percent(9_960, 10_000) == "99%"  # not "100%" before the goal is reached
    assert percent(10_000, 10_000) == "100%"
    assert percent(12_000, 10_000) == "100%"
    assert percent(5, 0) == "0%"


def test_the_first_signature_shows_on_the_bar(app, client):
    page = client.get(f"/petitions/{SLUG}").get_data(as_text=True)
    done = r'data-bar-done x="0" y="0" width="([\d.]+)"'
    assert re.search(done, page).group(1) == "0.0" and ">0%</span> of the way" in page
    confirmed_signatures(app, client, [{"email": "first@example.org"}])
    forget_cached()
    page = client.get(f"/petitions/{SLUG}").get_data(as_text=True)
    # One in 10,000 is drawn as a sliver, not as nothing.
    assert re.search(done, page).group(1) == "15.0" and "Under 1%</span> of the way" in page


def test_the_petition_page_shows_where_confirmed_signers_live(app, client):
    page = client.get(f"/petitions/{SLUG}").get_data(as_text=True)
    assert "Where signers live" not in page
    people = [
        {"email": f"w{i}@example.org", "country": country, "postcode": postcode}
        for i, (country, postcode) in enumerate(
            [("GB", "SW1A 1AA")] * 3 + [("FR", "")] * 2 + [(c, "") for c in "DE IE PL UA".split()]
        )
    ]
    confirmed_signatures(app, client, people)
    sign(client, email="pending@example.org", country="NL", postcode="")
    forget_cached()
    page = client.get(f"/petitions/{SLUG}").get_data(as_text=True)
    where = page[page.index("Where signers live") :]
    assert "the top 5 of 6 countries" in where
    labels = re.findall(r'ranking__label">([^<]+)<', where)
    values = re.findall(r'ranking__value">([^<]+)<', where)
    assert labels[:2] == ["United Kingdom", "France"] and len(labels) == 5
    assert values[:2] == ["3", "2"]
    assert "Netherlands" not in where  # only confirmed signatures are shown


def test_the_api_count_follows_confirmations(app, client):

    with app.app_context():
        assert count_of() == 0
    sign(client)
    with app.app_context():
        confirm_all()
        counting.flush_counts()
    forget_cached()
    data = client.get(f"/api/v1/petitions/{SLUG}").get_json()
    assert data["signature_count"] == 1


def test_concurrent_flushes_apply_every_entry_exactly_once(app):
    with app.app_context():
        p = petition()
        for _ in range(600):
            db.session.add(
                CountJournalEntry(petition_id=p.id, state="confirmed", country="GB", delta=1)
            )
        db.session.commit()

    def flush() -> None:
        with app.app_context():
            while counting.flush_counts(batch=50):
                pass
            db.session.remove()

    threads = [threading.Thread(target=flush) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        assert petition().confirmed_count == 600
        assert db.session.scalar(select(PetitionCountryCount.confirmed_count)) == 600


@pytest.mark.postgres
def test_a_fold_takes_its_batch_whatever_the_statistics_say(app):
    with app.app_context():
        db.session.execute(text("ANALYZE count_journal"))  # statistics of an empty journal
        petition_id = petition().id
        db.session.execute(
            CountJournalEntry.__table__.insert(),
            [
                {
                    "petition_id": petition_id,
                    "state": "pending",
                    "country": "GB",
                    "delta": 1,
                    "created_at": utcnow(),
                }
                for _ in range(2000)
            ],
        )
        db.session.commit()
        assert counting.flush_counts(batch=500) == 500
        left = db.session.scalar(select(func.count()).select_from(CountJournalEntry))
        assert left == 1500
        assert petition().pending_count == 500
