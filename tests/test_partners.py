"""Partners (issue 24): made and keyed from the command line, and the OSDI API their keys open:
petitions for any partner, signers only for the partner they came through and said yes to."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from petition.extensions import db
from tests.factories import (
    SLUG,
    confirmed_signatures,
    forget_cached,
    make_petition,
    sign,
    signature_for,
    signer,
)

OSDI = "/api/osdi/v1"
ORIGIN = "http://petition.test"
QUESTION = "Refugee Action may email me about its work with refugees."


def cli(runner: Any, *args: str) -> Any:
    return runner.invoke(args=["partner", *args])


def new_partner(runner: Any, slug: str, *key_flags: str) -> str:
    """A partner with its own question, and a key for it (the key printed on stdout)."""
    name = slug.replace("-", " ").title()
    made = cli(runner, "create", slug, "--name", name, "--question", QUESTION)
    assert made.exit_code == 0, made.output
    keyed = cli(runner, "key", slug, *key_flags)
    assert keyed.exit_code == 0, keyed.output
    return keyed.stdout.strip()


def came_through(app: Any, email: str, slug: str, said_yes: bool = True) -> None:
    """What a partner's widget will record (issue 24's next step): the partner, and the
    signer's answer to its question."""
    from petition.models import Partner, utcnow

    with app.app_context():
        signature = signature_for(email)
        partner = db.session.scalar(db.select(Partner).where(Partner.slug == slug))
        signature.partner_id = partner.id
        if said_yes:
            signature.partner_wording_id = partner.question.id
            signature.partner_consented_at = utcnow()
        db.session.commit()


def get(client: Any, path: str, key: str | None) -> Any:
    headers = {"OSDI-API-Token": key} if key else {}
    return client.get(path, headers=headers)


def test_partners_are_made_and_keyed_from_the_command_line(app, runner):
    made = cli(runner, "create", "refugee-action", "--name", "Refugee Action")
    assert made.exit_code == 0 and "Created partner refugee-action" in made.output
    for bad, why in (("Refugee Action", "lower-case"), ("refugee-action", "already")):
        refused = cli(runner, "create", bad, "--name", "Someone")
        assert refused.exit_code != 0 and why in refused.output
    keyed = cli(runner, "key", "refugee-action", "--write")
    key = keyed.stdout.strip()
    assert key.startswith("rwp_") and len(key) > 40 and "shown only now" in keyed.output
    listed = cli(runner, "list").output
    assert key[:12] in listed and "write" in listed and key not in listed
    from petition.models import AuditLog, PartnerKey

    with app.app_context():
        stored = db.session.scalars(db.select(PartnerKey)).one()
        assert stored.key_hash != key and key not in stored.prefix + stored.key_hash
        actions = db.session.scalars(db.select(AuditLog.action).order_by(AuditLog.id)).all()
        assert actions == ["partner_created", "partner_key_issued"]
    assert cli(runner, "key", "nobody").exit_code != 0


def test_no_key_a_wrong_key_or_a_revoked_key_gets_401(app, runner, client):
    key = new_partner(runner, "refugee-action")
    answer = get(client, f"{OSDI}/", key)
    assert answer.status_code == 200 and answer.mimetype == "application/hal+json"
    assert answer.headers["Cache-Control"] == "no-store"
    aep = answer.get_json()
    assert aep["_links"]["osdi:petitions"]["href"] == f"http://petition.test{OSDI}/petitions"
    assert client.get(f"{OSDI}/", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    for wrong in (None, "rwp_not-a-key", key[:-1], "Bearer nothing"):
        refused = get(client, f"{OSDI}/petitions", wrong)
        assert refused.status_code == 401, wrong
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert refused.get_json()["error"]["code"] == "unauthorized"
    assert cli(runner, "revoke-key", key[:12]).exit_code == 0
    assert get(client, f"{OSDI}/", key).status_code == 401
    from petition.models import PartnerKey

    with app.app_context():
        assert db.session.scalars(db.select(PartnerKey)).one().last_used_at is not None


def follow(client: Any, key: str, href: str, embedded: str) -> list[dict[str, Any]]:
    """Every resource of a collection, page by page through `_links.next`."""
    found = []
    while href:
        page = get(client, href.removeprefix(ORIGIN), key).get_json()
        found += page["_embedded"][embedded]
        href = page["_links"].get("next", {}).get("href")
    return found


def test_petitions_page_through_their_links(app, runner, client):
    from PIL import Image as Pillow

    from petition.services import images

    key = new_partner(runner, "refugee-action")
    picture = io.BytesIO()
    Pillow.new("RGB", (1200, 900), (200, 60, 40)).save(picture, "JPEG")
    with app.app_context():
        image = images.store_upload(picture.getvalue(), "editor@example.org")
        db.session.flush()
        make_petition("second-petition", addressee="The Home Secretary", image_id=image.id)
        make_petition("third-petition")
        largest = image.renditions[-1].digest
    first = get(client, f"{OSDI}/petitions?per_page=2", key).get_json()
    assert (first["total_records"], first["total_pages"], first["page"]) == (3, 2, 1)
    assert "prev" not in first["_links"]
    every = follow(client, key, f"{OSDI}/petitions?per_page=2", "osdi:petitions")
    assert sorted(p["name"] for p in every) == sorted([SLUG, "second-petition", "third-petition"])
    second = next(p for p in every if p["name"] == "second-petition")
    assert second["target"] == [{"name": "The Home Secretary"}]
    assert second["identifiers"] == ["refugees_welcome:second-petition"]
    one = get(client, f"{OSDI}/petitions/second-petition", key).get_json()
    assert one["total_signatures"] == 0 and one["browser_url"].endswith("/second-petition")
    # Its picture, at its largest, as on the petition's own page.
    assert one["featured_image_url"] == f"{ORIGIN}/media/{largest}.jpg"
    assert "featured_image_url" not in get(client, f"{OSDI}/petitions/third-petition", key).json
    # OSDI's common fields, as its datetimes: in UTC, to the second.
    for field in ("created_date", "modified_date"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", one[field]), one
    # A read-only key is not shown where to record signatures; a key that may write is, and
    # the link it follows takes them.
    assert "osdi:record_signature_helper" not in one["_links"]
    writer = cli(runner, "key", "refugee-action", "--write").stdout.strip()
    mine = get(client, f"{OSDI}/petitions/{SLUG}", writer).get_json()
    helper = mine["_links"]["osdi:record_signature_helper"]["href"]
    assert helper == f"{ORIGIN}{OSDI}/petitions/{SLUG}/record_signature_helper"
    sent = client.post(
        helper.removeprefix(ORIGIN),
        json=osdi_person("mariam.haddad@gmail.com"),
        headers={"OSDI-API-Token": writer},
    )
    assert sent.status_code == 202, sent.get_data(as_text=True)
    assert get(client, f"{OSDI}/petitions/no-such", key).status_code == 404
    for bad in ("page=0", "per_page=1000", "page=x"):
        assert get(client, f"{OSDI}/petitions?{bad}", key).status_code == 400, bad


def test_a_partner_sees_only_its_own_signers_who_said_yes(app, runner, client):
    ours = new_partner(runner, "refugee-action")
    theirs = new_partner(runner, "city-of-sanctuary")
    people = [
        signer(email="one@example.org", name="Olena Kovalenko", postcode="M1 1AA"),
        signer(email="two@example.org", name="Cher"),
        signer(email="three@example.org", name="Said No"),
        signer(email="four@example.org", name="Other Partner"),
        signer(email="five@example.org", name="Ours Directly"),
    ]
    confirmed_signatures(app, client, people)
    came_through(app, "one@example.org", "refugee-action")
    came_through(app, "two@example.org", "refugee-action")
    came_through(app, "three@example.org", "refugee-action", said_yes=False)
    came_through(app, "four@example.org", "city-of-sanctuary")
    # Said yes but has not confirmed: not theirs to see yet.
    assert sign(client, email="six@example.org").status_code == 303
    came_through(app, "six@example.org", "refugee-action")

    path = f"{OSDI}/petitions/{SLUG}/signatures?per_page=1"
    first = get(client, path, ours).get_json()
    assert first["total_records"] == 2 and first["_links"]["next"]
    every = follow(client, ours, path, "osdi:signatures")
    people_seen = [s["_embedded"]["osdi:person"] for s in every]
    assert [p["email_addresses"][0]["address"] for p in people_seen] == [
        "one@example.org",
        "two@example.org",
    ]
    olena = people_seen[0]
    assert (olena["given_name"], olena["family_name"]) == ("Olena", "Kovalenko")
    assert olena["postal_addresses"][0] == {
        "postal_code": "M1 1AA",
        "country": "GB",
        "primary": True,
    }
    assert (people_seen[1]["given_name"], people_seen[1]["family_name"]) == ("Cher", "")
    assert every[0]["partner_consent_date"] and every[0]["referrer_data"]["source"] == "petition"
    # One by one, through its own link; another partner's signer is not there for this key.
    own = get(client, every[0]["_links"]["self"]["href"].removeprefix(ORIGIN), ours)
    assert own.status_code == 200 and own.get_json()["identifiers"] == every[0]["identifiers"]
    other = follow(client, theirs, path, "osdi:signatures")
    assert [s["_embedded"]["osdi:person"]["given_name"] for s in other] == ["Other"]
    assert (
        get(client, other[0]["_links"]["self"]["href"].removeprefix(ORIGIN), ours).status_code
        == 404
    )
    # Reading signers is personal data leaving us: audited, with how many rows.
    from petition.models import AuditLog

    with app.app_context():
        reads = db.session.scalars(
            db.select(AuditLog)
            .where(AuditLog.action == "partner_read_signers")
            .order_by(AuditLog.id)
        ).all()
        assert reads and reads[0].actor.startswith("partner refugee-action (API key rwp_")
        # The first page alone, then both pages, one signature by its link, and the attempt
        # at another partner's signer (nothing read).
        assert [r.row_count for r in reads if "refugee-action" in r.actor] == [1, 1, 1, 1, 0]


@pytest.mark.parametrize("url", ["http://partner.example/hook", "ftp://x", "not a url"])
def test_webhooks_need_an_https_address(app, runner, url):
    new_partner(runner, "refugee-action")
    assert cli(runner, "webhook", "refugee-action", url).exit_code != 0
    made = cli(runner, "webhook", "refugee-action", "https://crm.example.org/hooks/petition")
    assert made.exit_code == 0 and made.stdout.strip().startswith("whsec_")


def test_the_partner_api_has_a_budget_per_address_counted_before_the_key(make_app):
    app = make_app(RATELIMIT_ENABLED=True, PARTNER_RATE_LIMIT="3 per minute")
    key = new_partner(app.test_cli_runner(), "refugee-action")
    client = app.test_client()
    answers = [get(client, f"{OSDI}/", guess).status_code for guess in ("rwp_a", "rwp_b", key)]
    assert answers == [401, 401, 200]
    limited = get(client, f"{OSDI}/", key)
    assert limited.status_code == 429 and limited.get_json()["error"]["code"]


def test_a_partners_link_asks_its_question_and_keeps_the_answer_apart_from_ours(
    app, runner, client
):
    new_partner(runner, "refugee-action")
    assert cli(runner, "create", "quiet-group", "--name", "Quiet Group").exit_code == 0
    page = client.get(f"/petitions/{SLUG}?partner=refugee-action").get_data(as_text=True)
    assert QUESTION in page and 'name="partner" value="refugee-action"' in page
    plain = client.get(f"/petitions/{SLUG}").get_data(as_text=True)
    assert QUESTION not in plain and 'name="partner"' not in plain
    assert QUESTION not in client.get(f"/petitions/{SLUG}?partner=quiet-group").get_data(
        as_text=True
    )

    def signed(email: str, **fields: str) -> Any:
        assert sign(client, email=email, **fields).status_code == 303
        return signature_for(email)

    with app.app_context():
        theirs = signed("theirs@example.org", partner="refugee-action", consent_partner="y")
        assert theirs.partner.slug == "refugee-action" and theirs.partner_consented_at
        assert theirs.partner_wording.text == QUESTION and not theirs.consent_updates
        ours = signed("ours@example.org", partner="refugee-action", consent_updates="y")
        assert ours.partner.slug == "refugee-action" and ours.consent_updates
        assert ours.partner_consented_at is None and ours.partner_wording_id is None
        # A partner that asks nothing gets no answer, whatever is sent.
        quiet = signed("quiet@example.org", partner="quiet-group", consent_partner="y")
        assert quiet.partner.slug == "quiet-group" and quiet.partner_consented_at is None
        for email, made_up in (("x@example.org", "nobody"), ("y@example.org", "<b>")):
            stray = signed(email, partner=made_up, consent_partner="y")
            assert stray.partner_id is None and stray.partner_consented_at is None


def test_a_partners_answer_through_the_json_api_and_in_the_readers_own_data(app, runner, client):
    from tests.test_widget import widget_token

    new_partner(runner, "refugee-action")
    body = {
        **signer(email="api@example.org"),
        "form_token": widget_token(client),
        "partner": "refugee-action",
        "consent_partner": True,
    }
    answer = client.post(
        f"/api/v1/petitions/{SLUG}/signatures", json=body, headers={"Origin": ORIGIN}
    )
    assert answer.status_code == 202, answer.get_json()
    refused = client.post(
        f"/api/v1/petitions/{SLUG}/signatures",
        json={**body, "consent_partner": "yes"},
        headers={"Origin": ORIGIN},
    )
    assert refused.status_code == 422 and "consent_partner" in refused.get_json()["errors"]
    from petition.services import privacy

    with app.test_request_context():
        [described] = privacy.subject_access(
            privacy.Person.by_address("api@example.org"), privacy.READER
        )["signatures"]
    assert described["partner"] == "Refugee Action"
    assert described["partner_question"] == QUESTION and described["partner_agreed_at"]


def test_the_embed_page_gives_a_partner_its_own_code(app, runner, client):
    new_partner(runner, "refugee-action")
    page = client.get(f"/petitions/{SLUG}/embed?partner=refugee-action").get_data(as_text=True)
    assert "This code is Refugee Action&#39;s" in page or "This code is Refugee Action's" in page
    assert f'data-petition="{SLUG}" data-partner="refugee-action"' in page.replace("&#34;", '"')
    assert f"/embed/petitions/{SLUG}?partner=refugee-action" in page
    answer = client.get(
        "/oembed", query_string={"url": f"{ORIGIN}/petitions/{SLUG}?partner=refugee-action"}
    ).get_json()
    assert "partner=refugee-action" in answer["html"]
    frame = client.get(f"/embed/petitions/{SLUG}?partner=refugee-action").get_data(as_text=True)
    assert QUESTION in frame and 'name="partner" value="refugee-action"' in frame


def osdi_person(email: str, **extra: Any) -> dict[str, Any]:
    return {
        "person": {
            "given_name": "Mariam",
            "family_name": "Haddad",
            "email_addresses": [{"address": email, "primary": True, **extra}],
            "postal_addresses": [{"postal_code": "M1 1AA", "country": "GB"}],
        },
        "referrer_data": {"source": "march-stall"},
    }


def post(client: Any, key: str, body: Any, helper: bool = True) -> Any:
    path = "record_signature_helper" if helper else "signatures"
    return client.post(
        f"{OSDI}/petitions/{SLUG}/{path}", json=body, headers={"OSDI-API-Token": key}
    )


def test_a_partner_records_signatures_it_collected_under_the_same_rules(
    app, runner, client, mailbox
):
    from tests.factories import send_all_mail

    reader = new_partner(runner, "refugee-action")
    writer = cli(runner, "key", "refugee-action", "--write").stdout.strip()
    refused = post(client, reader, osdi_person("mariam.haddad@gmail.com"))
    assert refused.status_code == 403
    recorded = post(client, writer, osdi_person("mariam.haddad@gmail.com", status="subscribed"))
    assert recorded.status_code == 202 and recorded.mimetype == "application/hal+json"
    assert recorded.get_json()["status"] == "awaiting_confirmation"
    with app.app_context():
        signature = signature_for("mariam.haddad@gmail.com")
        assert signature.state.value == "pending" and signature.name == "Mariam Haddad"
        assert signature.partner.slug == "refugee-action" and signature.partner_consented_at
        assert signature.source == "partner:refugee-action" and not signature.consent_updates
    # The same person, spelt another way, through the collection: no second signature, and
    # the same answer as for someone new.
    again = post(client, writer, osdi_person("MariamHaddad+stall@gmail.com"), helper=False)
    assert again.status_code == 202 and again.get_json() == recorded.get_json()
    send_all_mail(app)
    subjects = sorted(str(m["Subject"]) for m in mailbox.messages)
    assert len(subjects) == 2 and subjects[0].startswith("Please confirm your signature")
    assert subjects[1].startswith("You have already signed")
    with app.app_context():
        from petition.models import Signature

        assert db.session.scalar(db.select(db.func.count()).select_from(Signature)) == 1
    # Someone who speaks Ukrainian is written to in Ukrainian, whatever the API spoke.
    ukrainian = osdi_person("olha@example.org")
    ukrainian["person"]["languages_spoken"] = ["uk"]
    # A CRM that writes its addresses in small letters: the same country and postcode.
    ukrainian["person"]["postal_addresses"] = [{"postal_code": "m1 1aa", "country": "gb"}]
    assert post(client, writer, ukrainian).status_code == 202
    with app.app_context():
        olha = signature_for("olha@example.org")
        assert (olha.country, olha.postcode) == ("GB", "M1 1AA")
    send_all_mail(app)
    [to_olha] = mailbox.to("olha@example.org")
    assert str(to_olha["Subject"]).startswith("Підтвердьте, будь ласка, свій підпис: Більше")
    # Languages are RFC 5646 tags, as CRMs write them: a region after the language, or the
    # person's preferred_language before the others.
    for email, person in (
        ("petro@example.org", {"languages_spoken": ["uk-UA"]}),
        ("iryna@example.org", {"languages_spoken": ["de", "uk_UA"]}),
        ("taras@example.org", {"preferred_language": "uk", "languages_spoken": ["en", "uk"]}),
        ("anna@example.org", {"preferred_language": "en-GB", "languages_spoken": ["uk"]}),
    ):
        body = osdi_person(email)
        body["person"].update(person)
        assert post(client, writer, body).status_code == 202
    send_all_mail(app)
    with app.app_context():
        spoken = {
            e: signature_for(f"{e}@example.org").language
            for e in ("petro", "iryna", "taras", "anna")
        }
    assert spoken == {"petro": "uk", "iryna": "uk", "taras": "uk", "anna": "en"}
    [to_petro] = mailbox.to("petro@example.org")
    assert str(to_petro["Subject"]).startswith("Підтвердьте")
    # Not a person we can take: told why, nothing written.
    bad = post(client, writer, osdi_person("not an address"))
    assert bad.status_code == 422 and "email" in bad.get_json()["error"]["errors"]
    # A name sent as a list is refused by name (it was kept as "['Mariam']").
    listed = osdi_person("listed@example.org")
    listed["person"]["given_name"] = ["Mariam"]
    refused = post(client, writer, listed)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["errors"] == {"name": "Must be text"}
    numbered = osdi_person("numbered@example.org")  # a number is a postal code all the same
    numbered["person"]["postal_addresses"] = [{"postal_code": 10115, "country": "DE"}]
    assert post(client, writer, numbered).status_code == 202
    with app.app_context():
        assert signature_for("numbered@example.org").postcode == "10115"
        assert signature_for("listed@example.org") is None
    assert post(client, writer, {"people": []}).status_code == 400


def test_a_trusted_partners_signatures_count_at_once_with_a_receipt(app, runner, client, mailbox):
    from tests.factories import count_of, send_all_mail

    new_partner(runner, "refugee-action")
    trusted = cli(runner, "key", "refugee-action", "--trusted")
    assert "trusted" in trusted.output
    body = osdi_person("ukrainian@example.org")
    body["person"]["languages_spoken"] = ["uk"]
    answer = post(client, trusted.stdout.strip(), body)
    assert answer.status_code == 202 and answer.get_json()["status"] == "counted"
    with app.app_context():
        signature = signature_for("ukrainian@example.org")
        assert signature.state.value == "confirmed" and signature.receipt_hash
        assert signature.language == "uk" and signature.partner_consented_at is None
        assert count_of() == 1
        from petition.models import AuditLog

        actions = [a.action for a in db.session.scalars(db.select(AuditLog))]
        assert "partner_recorded_confirmed" in actions
    send_all_mail(app)
    [receipt] = mailbox.messages
    assert str(receipt["Subject"]).startswith("Ваша квитанція")


def test_exports_for_action_network_take_opted_in_people_in_its_columns(app, admin, runner):
    import csv
    import io

    client = app.test_client()
    confirmed_signatures(
        app,
        client,
        [
            signer(email="keen@example.org", name="Olena Kovalenko", consent_updates="y"),
            signer(email="solo@example.org", name="Cher", consent_updates="y"),
            signer(email="quiet@example.org", name="Not Asked"),
        ],
    )
    answer = admin.get(f"/admin/petitions/{SLUG}/signatures.csv?layout=action_network")
    assert answer.status_code == 200
    assert "action-network" in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == [
        "first_name",
        "last_name",
        "email",
        "zip_code",
        "country",
        "language",
        "signed_at",
        "confirmed_at",
    ]
    assert [r[:5] for r in rows[1:]] == [
        ["Olena", "Kovalenko", "keen@example.org", "SW1A 1AA", "GB"],
        ["Cher", "", "solo@example.org", "SW1A 1AA", "GB"],
    ]
    ours = admin.get(f"/admin/petitions/{SLUG}/signatures.csv").get_data(as_text=True)
    assert "quiet@example.org" in ours and ours.lstrip("\ufeff").startswith('"name"')
    assert admin.get(f"/admin/petitions/{SLUG}/signatures.csv?layout=excel").status_code == 400
    from petition.models import AuditLog

    with app.app_context():
        exported = db.session.scalars(
            db.select(AuditLog).where(AuditLog.action == "export").order_by(AuditLog.id)
        ).first()
        assert exported.details["filters"]["layout"] == "action_network"
        assert exported.details["filters"]["consent"] == "yes" and exported.row_count == 2
    made = runner.invoke(args=["export-signatures", SLUG, "--layout", "action_network"])
    assert made.exit_code == 0 and made.output.count("@example.org") == 2


def test_the_dashboard_counts_signatures_by_partner(app, admin, runner):
    import re

    from petition.services import figures

    new_partner(runner, "refugee-action")
    client = app.test_client()
    confirmed_signatures(
        app,
        client,
        [signer(email=f"{who}@example.org") for who in ("a", "b", "c")],
    )
    came_through(app, "a@example.org", "refugee-action")
    came_through(app, "b@example.org", "refugee-action", said_yes=False)
    assert sign(client, email="d@example.org", partner="refugee-action").status_code == 303
    with app.app_context():
        figures.refresh_due()
    page = admin.get("/admin/").get_data(as_text=True)
    panel = page.split("Through partners")[1].split("</figure>")[0]
    counts = re.findall(
        r'ranking__label">([^<]+)</span>.*?ranking__value">(\d+) '
        r'<span class="muted">\((\d+) confirmed',
        panel,
        re.S,
    )
    assert counts == [
        ("Refugee Action (1 said yes to its question)", "3", "2"),
        ("Directly", "1", "1"),
    ]


def test_staff_manage_partners_keys_and_webhooks_in_the_admin(app, admin):
    from tests.factories import make_admin

    page = admin.get("/admin/partners")
    assert page.status_code == 200 and "No partners yet" in page.get_data(as_text=True)
    token = admin_token(admin)
    bad = admin.post("/admin/partners", data={"csrf_token": token, "slug": "Bad Slug", "name": "X"})
    assert bad.status_code == 422 and "lower-case" in bad.get_data(as_text=True)
    assert add_refugee_action(admin, token).status_code == 303
    keyed = admin.post(
        "/admin/partners/refugee-action/keys", data={"csrf_token": token, "write": "y"}
    )
    html = keyed.get_data(as_text=True)
    key = re.search(r"(rwp_[A-Za-z0-9_-]{40,})", html).group(1)
    assert keyed.headers["Cache-Control"] == "no-store" and "read and record" in html
    assert key not in admin.get("/admin/partners").get_data(as_text=True)  # shown once
    hooked = admin.post(
        "/admin/partners/refugee-action/webhooks",
        data={"csrf_token": token, "url": "https://crm.example.org/hook"},
    )
    assert "whsec_" in hooked.get_data(as_text=True)
    revoked = admin.post(f"/admin/partners/keys/{key[:12]}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert app.test_client().get(f"{OSDI}/", headers={"OSDI-API-Token": key}).status_code == 401
    # Editors see aggregate figures only: keys and partners' data are for admins.
    with app.app_context():
        make_admin("editor@example.org", role="editor")
    from tests.factories import log_in

    editor = app.test_client()
    log_in(editor, "editor@example.org")
    assert editor.get("/admin/partners").status_code == 403


def add_refugee_action(admin: Any, token: str) -> Any:
    """Staff add a partner with its own question, in the admin."""
    fields = {"slug": "refugee-action", "name": "Refugee Action", "question": QUESTION}
    return admin.post("/admin/partners", data={"csrf_token": token, **fields})


def admin_token(admin: Any) -> str:
    from tests.factories import csrf_from

    return csrf_from(admin.get("/admin/partners").get_data(as_text=True))


def test_the_integrity_report_says_who_brought_the_signatures_in(app, runner):
    from petition.services import figures

    client = app.test_client()
    plain = client.get(f"/petitions/{SLUG}/integrity").get_data(as_text=True)
    assert "Who brought the signatures in" not in plain  # no partners, nothing to say
    new_partner(runner, "refugee-action")
    confirmed_signatures(app, client, [signer(email=f"{n}@example.org") for n in "abc"])
    came_through(app, "a@example.org", "refugee-action")
    came_through(app, "b@example.org", "refugee-action", said_yes=False)
    with app.app_context():
        from datetime import timedelta

        from petition.models import utcnow

        figures.refresh_due(utcnow() + timedelta(days=1))  # as the worker will, within minutes
    from tests.factories import forget_cached

    forget_cached()
    page = client.get(f"/petitions/{SLUG}/integrity?after=partners").get_data(as_text=True)
    section = page.split("Who brought the signatures in")[1].split("</section>")[0]
    shown = re.findall(r"<dt>(.*?)</dt><dd>(\d+)</dd>", section)
    assert shown == [
        ('<span translate="no">Refugee Action</span>', "2"),
        ("Directly, through our own pages", "1"),
    ]


def test_a_partners_question_changes_and_old_answers_keep_their_words(app, runner, client):
    new_partner(runner, "refugee-action")
    assert (
        sign(
            client, email="first@example.org", partner="refugee-action", consent_partner="y"
        ).status_code
        == 303
    )
    changed = cli(runner, "question", "refugee-action", "Refugee Action may text me about events.")
    assert changed.exit_code == 0 and "asks: Refugee Action may text me" in changed.output
    assert (
        sign(
            client, email="second@example.org", partner="refugee-action", consent_partner="y"
        ).status_code
        == 303
    )
    with app.app_context():
        assert signature_for("first@example.org").partner_wording.text == QUESTION
        assert signature_for("second@example.org").partner_wording.text.endswith("events.")
    assert "asks nothing" in cli(runner, "question", "refugee-action").output
    assert cli(runner, "question", "refugee-action", "too short").exit_code != 0


def test_an_id_too_large_for_the_database_is_no_page_not_a_fault(app, runner, client):
    key = new_partner(runner, "refugee-action")
    for number in (2**63 - 1, 2**63, 10**30):
        path = f"{OSDI}/petitions/{SLUG}/signatures/{number}"
        assert get(client, path, key).status_code == 404, number
    assert client.post(f"/privacy/me/not-a-token/withdraw/{10**30}").status_code in (400, 403, 404)


def test_a_page_number_too_large_for_the_database_is_refused_not_a_fault(app, runner, client):
    """Found by the schema fuzzer: page=132086520416567427072 made an OFFSET no database
    integer holds (a 500). Pages run to a million; past the last one a page is empty."""
    from petition.models import AuditLog

    key = new_partner(runner, "refugee-action")
    confirmed_signatures(app, client, [signer(email="one@example.org")])
    came_through(app, "one@example.org", "refugee-action")
    path = f"{OSDI}/petitions/{SLUG}/signatures"
    for number in (10**6 + 1, 2**63, 132086520416567427072):
        answer = get(client, f"{path}?page={number}", key)
        assert answer.status_code == 400, number
        assert "1 to 1,000,000" in answer.get_json()["error"]["message"]
    last = get(client, f"{path}?page=1000000&per_page=100", key)
    assert last.status_code == 200 and last.get_json()["_embedded"]["osdi:signatures"] == []
    first = get(client, f"{path}?page=1", key).get_json()  # the positive control
    assert [s["identifiers"] for s in first["_embedded"]["osdi:signatures"]] != []
    with app.app_context():  # every read is audited, the empty page too
        reads = db.session.scalars(
            db.select(AuditLog.details)
            .where(AuditLog.action == "partner_read_signers")
            .order_by(AuditLog.id)
        ).all()
    assert [r["page"] for r in reads] == [1000000, 1]


UK_QUESTION = "Refugee Action може писати мені про свою роботу з біженцями."


def test_a_partners_question_is_asked_in_ukrainian_where_staff_wrote_it(app, admin, client):
    """Consent is to words the reader understood: a Ukrainian reader is asked the partner's
    question in Ukrainian where staff wrote it, and their yes is kept with those words."""
    from petition.models import AuditLog

    token = admin_token(admin)
    assert add_refugee_action(admin, token).status_code == 303

    def ask(**fields: str) -> str:
        saved = admin.post(
            "/admin/partners/refugee-action/question", data={"csrf_token": token, **fields}
        )
        assert saved.status_code == 303
        return admin.get("/admin/partners").get_data(as_text=True)

    def asked(path: str) -> str:
        forget_cached()
        page = client.get(f"{path}?partner=refugee-action").get_data(as_text=True)
        found = re.search(r'<label[^>]*for="[^"]*consent_partner"[^>]*>(.*?)</label>', page, re.S)
        assert found, path
        return found.group(1).strip()

    # Only the English: Ukrainian readers see it, marked as English.
    assert asked(f"/uk/petitions/{SLUG}") == f'<span lang="en-GB">{QUESTION}</span>'
    listing = ask(question=QUESTION, uk_question=f"  {UK_QUESTION} ")
    assert f'In Ukrainian: “<span lang="uk">{UK_QUESTION}</span>”' in listing
    assert f">{UK_QUESTION}</textarea>" in listing
    assert asked(f"/uk/petitions/{SLUG}") == UK_QUESTION
    assert asked(f"/uk/embed/petitions/{SLUG}") == UK_QUESTION
    assert asked(f"/petitions/{SLUG}") == QUESTION  # English readers: the English

    # Each reader's yes is kept with the words they were asked.
    for email, language in (("olena@example.org", "uk"), ("ada@example.org", "en")):
        signed = sign(
            client, email=email, partner="refugee-action", consent_partner="y", language=language
        )
        assert signed.status_code == 303
    with app.app_context():
        olena, ada = signature_for("olena@example.org"), signature_for("ada@example.org")
        assert (olena.partner_wording.text, olena.partner_wording.language) == (UK_QUESTION, "uk")
        assert (ada.partner_wording.text, ada.partner_wording.language) == (QUESTION, "en")
    from petition.services import privacy

    with app.test_request_context("/uk/privacy/me"):
        [described] = privacy.subject_access(
            privacy.Person.by_address("olena@example.org"), privacy.READER
        )["signatures"]
    assert described["partner_question"] == UK_QUESTION
    assert described["partner_question_language"] == "uk"

    # Too short in Ukrainian is refused, and nothing changes.
    refused = admin.post(
        "/admin/partners/refugee-action/question",
        data={
            "csrf_token": token,
            "question": "Refugee Action may write to me now.",
            "uk_question": "Коротко",
        },
    )
    assert refused.status_code == 303
    assert "Write the question in 10 to 500 characters" in admin.get("/admin/partners").get_data(
        as_text=True
    )
    assert asked(f"/uk/petitions/{SLUG}") == UK_QUESTION
    assert asked(f"/petitions/{SLUG}") == QUESTION

    # New English words without the Ukrainian: Ukrainian readers get the new English, marked,
    # never a translation of words no longer asked.
    listing = ask(question="Refugee Action may write to me now.", uk_question="")
    assert "Readers in Ukrainian are asked the English." in listing
    assert asked(f"/uk/petitions/{SLUG}") == (
        '<span lang="en-GB">Refugee Action may write to me now.</span>'
    )
    with app.app_context():
        olena = signature_for("olena@example.org")
        assert olena.partner_wording.text == UK_QUESTION  # old answers keep their words
        actions = db.session.scalars(
            db.select(AuditLog.details).where(AuditLog.action == "partner_question_set")
        ).all()
        assert {"question": UK_QUESTION, "language": "uk"} in actions


def test_new_english_words_from_the_command_line_stop_the_old_translation(
    app, admin, runner, client
):
    new_partner(runner, "refugee-action")
    token = admin_token(admin)
    saved = admin.post(
        "/admin/partners/refugee-action/question",
        data={"csrf_token": token, "question": QUESTION, "uk_question": UK_QUESTION},
    )
    assert saved.status_code == 303
    # The same English again keeps the Ukrainian; new English words end it.
    assert cli(runner, "question", "refugee-action", QUESTION).exit_code == 0
    with app.app_context():
        from petition.services import partners

        assert partners.offer("refugee-action", "uk")["question"] == UK_QUESTION
    assert cli(runner, "question", "refugee-action", "Refugee Action may text me.").exit_code == 0
    with app.app_context():
        offered = partners.offer("refugee-action", "uk")
        assert (offered["question"], offered["question_language"]) == (
            "Refugee Action may text me.",
            "en",
        )
