"""Consent and personal data: one stop for all campaign mail, erasure that still counts once,
the owner of an address decides what is recorded, retention, and a reader's own privacy page."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, update

from petition.extensions import db
from petition.models import (
    AuditLog,
    Petition,
    PetitionCountryCount,
    PetitionState,
    Signature,
    SignatureState,
    utcnow,
)
from petition.services import mailings, moderation, petitions, privacy, retention
from petition.services.audit import Actor
from petition.services.moderation import SignatureFilter
from tests.factories import (
    SLUG,
    confirmed_signatures,
    count_of,
    forget_cached,
    links_in,
    make_petition,
    send_all_mail,
    sign,
    signature_for,
    signer,
    wants_updates,
)
from tests.parts import text_of

STAFF = Actor("admin@example.org")


def email_news(app: Any, slug: str, title: str) -> None:
    """Staff post news on a petition and email it; the worker queues the recipients."""
    with app.app_context():
        news = petitions.post_news(slug, petitions.NewsDraft(title, "What happened."), STAFF)
        mailings.start(slug, news.id, STAFF)
        while mailings.queue_next_chunk():
            pass


def news_to(mailbox: Any, title: str) -> list[str]:
    return sorted(str(m["To"]) for m in mailbox.messages if m["Subject"].startswith(title))


def test_one_stop_ends_campaign_mail_about_every_petition_even_queued(app, client, mailbox):
    with app.app_context():
        make_petition("second")
    both = signer(email="both@example.org", consent_updates="y")
    other = signer(email="other@example.org", consent_updates="y")
    confirmed_signatures(app, client, [both, other])
    confirmed_signatures(app, client, [both, other], slug="second")
    send_all_mail(app)
    email_news(app, SLUG, "News of A")
    send_all_mail(app)
    assert news_to(mailbox, "News of A") == ["both@example.org", "other@example.org"]
    [from_a] = [
        m
        for m in mailbox.messages
        if m["To"] == "both@example.org" and m["Subject"].startswith("News of A")
    ]

    email_news(app, "second", "News of B")  # queued, not yet sent
    stop_url = from_a["List-Unsubscribe"].strip("<>")
    # A's email, a mail program's one-click button: stops B's mail too.
    assert (
        client.post(urlsplit(stop_url).path, data={"List-Unsubscribe": "One-Click"}).status_code
        == 200
    )
    send_all_mail(app)
    assert news_to(mailbox, "News of B") == ["other@example.org"]
    email_news(app, "second", "More news of B")
    send_all_mail(app)
    assert news_to(mailbox, "More news of B") == ["other@example.org"]
    with app.app_context():
        assert not wants_updates("both@example.org")
        from tests.factories import consent_history

        assert consent_history("both@example.org")[-1].route == "one-click unsubscribe"


def test_an_erased_signer_signing_again_counts_once_and_hears_nothing(app, client, mailbox):
    confirmed_signatures(app, client, [signer(email="ada.lovelace@gmail.com")])
    send_all_mail(app)
    with app.app_context():
        assert count_of() == 1
        privacy.erase(privacy.Person.by_address("adalovelace@gmail.com"), STAFF)
        assert count_of() == 1  # erasure changes no count
    mailbox.clear()
    again = sign(client, email="Ada.Love.Lace+again@googlemail.com")
    assert again.status_code == 303
    assert again.headers["Location"].startswith(f"/petitions/{SLUG}/thanks?s=")
    fresh = sign(client, email="someone-new@example.org")  # the same answer as a newcomer's
    assert fresh.status_code == 303
    assert fresh.headers["Location"].startswith(f"/petitions/{SLUG}/thanks?s=")
    # Each thanks page shows the address typed, partly hidden, and nothing else differs.
    pages = [client.get(r.headers["Location"]).get_data(as_text=True) for r in (again, fresh)]
    assert "Ad…@googlemail.com" in pages[0] and "so…@example.org" in pages[1]
    tokens = re.compile(r'name="(replaces|form_token)" value="[^"]+"')
    assert tokens.sub("TOKEN", pages[0].replace("Ad…@googlemail.com", "ADDRESS")) == tokens.sub(
        "TOKEN", pages[1].replace("so…@example.org", "ADDRESS")
    )
    send_all_mail(app)
    assert [str(m["To"]) for m in mailbox.messages] == ["someone-new@example.org"]
    with app.app_context():
        assert count_of() == 1
        petition_id = db.session.scalar(select(Petition.id).where(Petition.slug == SLUG))
        stored = db.session.scalar(
            select(func.count()).select_from(Signature).where(Signature.petition_id == petition_id)
        )
        assert stored == 2  # the erased one and the newcomer: no second row for Ada


def confirm_form(page: str) -> dict[str, str]:
    """The fields of the confirm page's form, as a browser would send them unchanged."""
    fields = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', page))
    fields.pop("website", None)
    checked = re.search(r'name="consent_updates"[^>]*checked', page)
    fields.pop("consent_updates", None)
    if checked:
        fields["consent_updates"] = "y"
    country = re.search(r'<option value="(\w\w)" selected>', page)
    fields["country"] = country.group(1) if country else ""
    return fields


def test_whoever_signs_first_cannot_speak_for_the_owner_of_the_address(app, client, mailbox):
    # Someone else signs with a spelling of the victim's address, ticking updates.
    squatter = signer(
        name="Mallory Pretend",
        email="victor+x@example.org",
        country="FR",
        postcode=None,
        consent_updates="y",
    )
    assert sign(client, **squatter).status_code == 303
    # The owner signs as themselves, leaving updates unticked.
    owner = signer(name="Victor Owner", email="victor@example.org", postcode="SW1A 1AA")
    assert sign(client, **owner).status_code == 303
    send_all_mail(app)
    first, second = mailbox.wait_for(2)
    assert "already signed" in second["Subject"].lower()
    assert "Hello Victor Owner" in text_of(second) and "Mallory" not in text_of(second)

    # The link in the owner's own email shows, and confirms, what the owner typed.
    link = links_in(second)["confirm"]
    page = client.get(link).get_data(as_text=True)
    assert 'value="Victor Owner"' in page and "Mallory" not in page
    with app.app_context():  # looking changes nothing
        assert signature_for("victor@example.org").state == SignatureState.PENDING
    assert client.post(link, data=confirm_form(page)).status_code == 200
    with app.app_context():
        signature = signature_for("victor@example.org")
        assert (signature.name, signature.country, signature.postcode) == (
            "Victor Owner",
            "GB",
            "SW1A 1AA",
        )
        assert signature.consent_updates is False and signature.consented_at is None
        assert signature.state == SignatureState.CONFIRMED
        assert not wants_updates("victor@example.org")
        assert count_of() == 1


def test_the_first_link_shows_what_was_typed_and_the_owner_corrects_it(app, client, mailbox):
    squatter = signer(
        name="Mallory Pretend",
        email="victor@example.org",
        country="FR",
        postcode=None,
        consent_updates="y",
    )
    sign(client, **squatter)
    send_all_mail(app)
    link = links_in(mailbox.wait_for(1)[0])["confirm"]
    page = client.get(link).get_data(as_text=True)
    assert 'value="Mallory Pretend"' in page and "Email me occasional updates" in page
    fields = {**confirm_form(page), "name": "Victor Owner", "country": "GB", "postcode": "sw1a1aa"}
    fields.pop("consent_updates", None)  # the owner unticks updates
    # A correction that breaks a rule is refused with a message, and nothing changes.
    refused = client.post(link, data={**fields, "postcode": ""})
    assert refused.status_code == 422
    assert "Enter your postcode" in refused.get_data(as_text=True)
    with app.app_context():
        assert signature_for("victor@example.org").state == SignatureState.PENDING
    assert client.post(link, data=fields).status_code == 200
    with app.app_context():
        signature = signature_for("victor@example.org")
        assert (signature.name, signature.country, signature.postcode) == (
            "Victor Owner",
            "GB",
            "SW1A 1AA",
        )
        assert signature.consent_updates is False and not wants_updates("victor@example.org")
        counting_flushed = count_of()
        by_country = dict(
            db.session.execute(
                select(PetitionCountryCount.country, PetitionCountryCount.confirmed_count)
            ).all()
        )
    assert counting_flushed == 1 and by_country == {"GB": 1}  # counted where they live


def test_signing_again_after_withdrawing_takes_the_new_details(app, client, mailbox):
    sign(client, name="Old Name", consent_updates="y")
    send_all_mail(app)
    links = links_in(mailbox.wait_for(1)[0])
    client.post(links["confirm"])
    client.post(links["withdraw"])
    mailbox.clear()
    sign(client, name="New Name", country="IE", postcode=None)
    send_all_mail(app)
    [again] = mailbox.wait_for(1)
    link = links_in(again)["confirm"]
    client.post(link)  # the bare link (no page fields) confirms what the owner just typed
    with app.app_context():
        signature = signature_for("ada@example.org")
        assert signature.state == SignatureState.CONFIRMED
        assert (signature.name, signature.country) == ("New Name", "IE")
        assert signature.consent_updates is False and not wants_updates("ada@example.org")


def test_withdrawal_wins_over_restore_and_ends_old_confirm_links(app, client, mailbox):
    sign(client)
    send_all_mail(app)
    links = links_in(mailbox.wait_for(1)[0])
    client.post(links["confirm"])
    matching = SignatureFilter(petition=SLUG, email="ada@example.org")
    with app.app_context():
        assert count_of() == 1
        moderation.invalidate(matching, "looks scripted", 1, STAFF)
        assert count_of() == 0
    withdrawn = client.post(links["withdraw"])
    assert withdrawn.status_code == 200
    with app.app_context():
        assert signature_for("ada@example.org").withdrawn_at is not None
        assert moderation.restore(matching, 1, STAFF) == 1
        signature = signature_for("ada@example.org")
        assert signature.state == SignatureState.WITHDRAWN and count_of() == 0
    # The confirm link mailed before the withdrawal no longer confirms anything.
    assert client.get(links["confirm"]).status_code == 404
    assert client.post(links["confirm"]).status_code == 404
    with app.app_context():
        assert signature_for("ada@example.org").state == SignatureState.WITHDRAWN
        assert count_of() == 0


def test_purge_anonymises_withdrawn_and_closed_signatures_and_keeps_counts(app, client, mailbox):
    with app.app_context():
        make_petition("closed-one")
    confirmed_signatures(
        app, client, [signer(email=f"c{i}@example.org") for i in range(3)], slug="closed-one"
    )
    confirmed_signatures(
        app, client, [signer(email="leaves@example.org"), signer(email="stays@example.org")]
    )
    send_all_mail(app)
    leaving = [m for m in mailbox.messages if m["To"] == "leaves@example.org"][0]
    client.post(links_in(leaving)["withdraw"])
    with app.app_context():
        now = utcnow()
        db.session.execute(
            update(Signature)
            .where(Signature.withdrawn_at.is_not(None))
            .values(withdrawn_at=now - timedelta(days=31))
        )
        db.session.execute(
            update(Petition)
            .where(Petition.slug == "closed-one")
            .values(state=PetitionState.CLOSED, closed_at=now - timedelta(days=181))
        )
        db.session.commit()
        counts_before = _counts()
        report = retention.purge()
        assert report.withdrawn_anonymised == 1 and report.closed_anonymised == 3
        assert _counts() == counts_before
        assert signature_for("leaves@example.org") is None  # no address left to find it by
        assert signature_for("stays@example.org").name == "Ada Lovelace"
        anonymous = db.session.scalars(
            select(Signature).where(Signature.erased_at.is_not(None))
        ).all()
        assert len(anonymous) == 4
        assert all(s.name is None and s.email is None and s.postcode is None for s in anonymous)
        assert all(s.email_hash for s in anonymous)  # still recognised if they sign again
        assert retention.purge().withdrawn_anonymised == 0  # once is enough


def _counts() -> list[tuple[Any, ...]]:
    from petition.services.counting import flush_counts

    flush_counts()
    petitions_ = db.session.execute(
        select(Petition.slug, Petition.confirmed_count, Petition.withdrawn_count).order_by(
            Petition.id
        )
    ).all()
    countries = db.session.execute(
        select(
            PetitionCountryCount.petition_id,
            PetitionCountryCount.country,
            PetitionCountryCount.confirmed_count,
        ).order_by(PetitionCountryCount.petition_id)
    ).all()
    return [*map(tuple, petitions_), *map(tuple, countries)]


def ask_for_link(client: Any, address: str) -> Any:
    page = client.get("/privacy/me").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    return client.post(
        "/privacy/me",
        data={"email": address, "form_token": token},
        headers={"Origin": "http://petition.test", "Sec-Fetch-Site": "same-origin"},
    )


def test_a_reader_sees_downloads_and_erases_their_own_data(app, client, mailbox):
    with app.app_context():
        make_petition("second")
    confirmed_signatures(app, client, [signer(consent_updates="y", utm_source="newsletter")])
    sign(client, slug="second", email="Ada@Example.org")
    send_all_mail(app)
    mailbox.clear()

    asked = ask_for_link(client, "ADA@example.org")
    nobody = ask_for_link(client, "never-signed@example.org")
    # The same answer whether or not we hold anything about the address.
    assert asked.status_code == nobody.status_code == 303
    assert asked.headers["Location"] == nobody.headers["Location"]
    sent_page = client.get(asked.headers["Location"])
    assert "If we hold any signature for that address" in sent_page.get_data(as_text=True)
    send_all_mail(app)
    [email] = mailbox.messages  # one email, to the address we know; none to the other
    assert email["To"] == "ADA@example.org"
    link = re.search(r"(http://petition\.test/privacy/me/\S+)", text_of(email)).group(1)
    path = urlsplit(link).path
    assert "ada" not in path.lower()  # the link names nobody

    page = client.get(path)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert html.count("Withdraw this signature") == 2 and "Stop all campaign updates" in html
    assert '<dt>Postcode</dt><dd translate="no">SW1A 1AA</dd>' in html  # under its own name
    with app.app_context():  # looking changed nothing
        assert count_of() == 1 and wants_updates("ada@example.org")

    download = client.post(f"{path}/copy", data={"format": "json"})
    assert download.headers["Content-Disposition"].startswith("attachment")
    report = json.loads(download.get_data(as_text=True))
    assert len(report["signatures"]) == 2
    first = report["signatures"][0]
    assert first["utm_source"] == "newsletter" and first["referrer_host"] is None
    assert report["campaign_updates"]["wanted_now"] is True
    assert any(m["email"] == "confirm" for m in report["emails"])
    readable = client.post(f"{path}/copy", data={"format": "html"}).get_data(as_text=True)
    assert "A copy of your data" in readable and "Ada Lovelace" in readable

    stopped = client.post(f"{path}/stop-updates").get_data(as_text=True)
    assert "no more campaign updates" in stopped
    with app.app_context():
        assert not wants_updates("ada@example.org")
        second = signature_for("ada@example.org", "second")
    withdrawn = client.post(f"{path}/withdraw/{second.id}")
    assert "is withdrawn" in withdrawn.get_data(as_text=True)
    assert client.post(f"{path}/withdraw/999999").status_code == 404

    assert client.post(f"{path}/erase").status_code == 422  # not without ticking the box
    erased = client.post(f"{path}/erase", data={"confirm": "yes"})
    assert "Your data is erased" in erased.get_data(as_text=True)
    with app.app_context():
        assert signature_for("ada@example.org") is None
        assert count_of() == 1
        actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
        assert "subject_access" in actions and actions[-1] == "erase"
    # The link now shows nothing of them.
    assert "We hold no signatures" in client.get(path).get_data(as_text=True)


def test_privacy_links_expire_and_cannot_be_forged(app, client):
    with app.test_request_context():
        person = privacy.Person.by_address("ada@example.org")
        token = privacy.link_token(person)
    assert client.get(f"/privacy/me/{token}").status_code == 200
    assert client.get(f"/privacy/me/{token[:-3]}xyz").status_code == 404
    app.config["PRIVACY_LINK_MINUTES"] = 0
    import time

    time.sleep(1.1)
    assert client.get(f"/privacy/me/{token}").status_code == 404
    # Acting needs our own page (or a privacy-strict browser's null origin), as confirming does.
    app.config["PRIVACY_LINK_MINUTES"] = 60
    foreign = client.post(
        f"/privacy/me/{token}/stop-updates", headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403


def test_bad_requests_for_a_link_get_a_message(app, client):
    response = ask_for_link(client, "not an address")
    assert response.status_code == 422
    assert "Enter an email address in the correct format" in response.get_data(as_text=True)
    assert ask_for_link(client, "ada@example.org").status_code == 303  # the positive control


def test_the_notice_and_footer_name_the_organisation_and_donate_names_the_recipient(app, client):
    forget_cached()
    notice = client.get("/privacy").get_data(as_text=True)
    for expected in (
        "Example News Ltd",
        "1 Example Street, London E1 1AA",
        "privacy@example.org",
        "Information Commissioner",
        "legitimate interests",
        "your consent",
        f"after {app.config['WITHDRAWN_RETENTION_DAYS']} days",
        f"{app.config['CLOSED_RETENTION_DAYS']} days after it closes",
        f"encrypted, for {app.config['BACKUP_RETENTION_DAYS']} days",
        "/privacy/me",
        "The government",
    ):
        assert expected in notice, expected
    home = client.get("/").get_data(as_text=True)
    assert "Run by Example News Ltd" in home
    donate = client.get("/donate").get_data(as_text=True)
    assert "Refugees Welcome Fund, registered charity 1234567" in donate


def test_the_email_hash_key_can_be_rotated_without_counting_anyone_twice(app, client, mailbox):
    confirmed_signatures(app, client, [signer()])
    with app.app_context():
        privacy.erase(privacy.Person.by_address("ada@example.org"), STAFF)
    send_all_mail(app)
    mailbox.clear()
    old_key = app.config["EMAIL_HASH_KEY"]
    app.config.update(EMAIL_HASH_KEY="a-brand-new-key", EMAIL_HASH_KEY_FALLBACKS=(old_key,))
    assert sign(client, email="ADA@example.org").status_code == 303
    with app.app_context():
        assert count_of() == 1
        total = db.session.scalar(select(func.count()).select_from(Signature))
        assert total == 1  # recognised under the old key: no second signature
    # Without the old key listed, the same person would count twice: the fallback matters.
    app.config["EMAIL_HASH_KEY_FALLBACKS"] = ()
    assert sign(client, email="ADA@example.org").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 2
