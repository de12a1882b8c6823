"""No signature lost to a typo: a mistyped domain gets a suggestion before the form is taken,
the thanks page shows where the link went, and a wrong address can be replaced."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from petition.extensions import db
from petition.models import Signature, SignatureState
from petition.services.addresses import suggested_address
from petition.services.counting import flush_counts
from petition.services.signatures import Details, confirm
from tests.factories import SLUG, form_token, links_in, send_all_mail, sign, signature_for


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("someone@gmial.com", "someone@gmail.com"),
        ("someone@gamil.com", "someone@gmail.com"),
        ("someone@gmail.con", "someone@gmail.com"),
        ("someone@gmail.co", "someone@gmail.com"),
        ("someone@hotmial.co.uk", "someone@hotmail.co.uk"),
        ("someone@hotmail.co.uj", "someone@hotmail.co.uk"),
        ("someone@yaho.com", "someone@yahoo.com"),
        ("someone@outlok.com", "someone@outlook.com"),
        ("someone@icloud.con", "someone@icloud.com"),
        # Real addresses are left alone, however close to a big provider they look.
        ("someone@gmail.com", None),
        ("someone@yahoo.fr", None),
        ("someone@hotmail.fr", None),
        ("someone@mail.com", None),
        ("someone@ukr.net", None),
        ("someone@example.org", None),
        ("someone@bt.com", None),
    ],
)
def test_mistyped_domains_get_a_suggestion_and_real_ones_do_not(typed, meant):
    assert suggested_address(typed) == meant


def stored() -> list[tuple[str, SignatureState]]:
    return [
        (s.email, s.state) for s in db.session.scalars(select(Signature).order_by(Signature.id))
    ]


def test_the_page_asks_did_you_mean_and_one_press_takes_the_suggestion(app, client):
    token = form_token(client)
    asked = sign(client, token=token, email="someone@gmial.com")
    assert asked.status_code == 422
    html = asked.get_data(as_text=True)
    assert "Did you mean someone@gmail.com?" in html
    assert re.search(
        r'name="email_choice" value="suggested">Yes, sign with someone@gmail.com', html
    )
    assert 'name="email_choice" value="typed">No, someone@gmial.com is right' in html
    with app.app_context():
        assert stored() == []  # nothing taken before the reader answers

    taken = sign(client, token=token, email="someone@gmial.com", email_choice="suggested")
    assert taken.status_code == 303
    thanks = client.get(taken.headers["Location"]).get_data(as_text=True)
    assert "so…@gmail.com" in thanks
    with app.app_context():
        assert stored() == [("someone@gmail.com", SignatureState.PENDING)]


def test_keeping_the_address_as_typed_signs_with_it(app, client):
    kept = sign(client, email="reader@gmial.com", email_choice="typed")
    assert kept.status_code == 303
    with app.app_context():
        assert stored() == [("reader@gmial.com", SignatureState.PENDING)]
    # A correct address goes straight through, with no question.
    assert sign(client, email="other@gmail.com").status_code == 303


def test_the_api_offers_the_suggestion_and_takes_the_answer(app, client):
    page = client.get(f"/embed/petitions/{SLUG}").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    body = {
        "name": "Widget Reader",
        "email": "widget@hotmial.com",
        "country": "GB",
        "postcode": "SW1A 1AA",
        "form_token": token,
    }
    headers = {"Origin": app.config["PUBLIC_URL"].rstrip("/")}
    asked = client.post(f"/api/v1/petitions/{SLUG}/signatures", json=body, headers=headers)
    assert asked.status_code == 422
    assert asked.get_json()["suggestions"] == {"email": "widget@hotmail.com"}
    assert asked.get_json()["errors"]["email"] == "Did you mean widget@hotmail.com?"
    taken = client.post(
        f"/api/v1/petitions/{SLUG}/signatures",
        json={**body, "email_choice": "suggested"},
        headers=headers,
    )
    assert taken.status_code == 202
    assert taken.get_json()["sent_to"] == "wi…@hotmail.com"
    with app.app_context():
        assert stored() == [("widget@hotmail.com", SignatureState.PENDING)]


def correct(client, thanks_location: str, email: str):
    """Sign again from the thanks page's "Wrong address?" form."""
    page = client.get(thanks_location).get_data(as_text=True)
    replaces = re.search(r'name="replaces" value="([^"]+)"', page).group(1)
    assert replaces == parse_qs(urlsplit(thanks_location).query)["s"][0]
    return sign(client, email=email, replaces=replaces, email_choice="typed")


def test_a_wrong_address_is_replaced_by_signing_again_from_the_thanks_page(app, client, mailbox):
    wrong = sign(client, email="reader@gmial.com", email_choice="typed")
    send_all_mail(app)
    [sent_wrong] = mailbox.wait_for(1)
    right = correct(client, wrong.headers["Location"], "reader@gmail.com")
    assert right.status_code == 303
    with app.app_context():
        assert stored() == [("reader@gmail.com", SignatureState.PENDING)]
        flush_counts()
    # The link sent to the wrong address no longer confirms anything.
    origin = app.config["PUBLIC_URL"].rstrip("/")
    assert (
        client.post(links_in(sent_wrong)["confirm"], headers={"Origin": origin}).status_code == 404
    )
    figures = client.get(f"/api/v1/petitions/{SLUG}/integrity").get_json()["figures"]
    assert figures["awaiting_confirmation"] == 1 and figures["received"] == 2


def test_a_thanks_link_for_an_address_that_had_signed_replaces_nothing(app, client):
    # Someone signed (and confirmed) long ago; someone else types their address, then
    # "corrects" it: the earlier signature stays as it was.
    sign(client, email="owner@example.org")
    with app.app_context():
        signature = signature_for("owner@example.org")
        confirm(signature, Details.of(signature))
        db.session.commit()
    again = sign(client, email="owner@example.org")
    correct(client, again.headers["Location"], "someone-else@example.org")
    # Nor a pending one made before the thanks link was.
    sign(client, email="pending@example.org")
    repeat = sign(client, email="pending@example.org")
    correct(client, repeat.headers["Location"], "third@example.org")
    with app.app_context():
        assert stored() == [
            ("owner@example.org", SignatureState.CONFIRMED),
            ("someone-else@example.org", SignatureState.PENDING),
            ("pending@example.org", SignatureState.PENDING),
            ("third@example.org", SignatureState.PENDING),
        ]


def test_a_forged_or_stale_thanks_link_shows_the_plain_page(app, client):
    forged = client.get(f"/petitions/{SLUG}/thanks?s=not-a-real-token")
    assert forged.status_code == 200 and "Wrong address?" not in forged.get_data(as_text=True)
    assert "public" in forged.headers["Cache-Control"]
    sign(client, email="first@example.org")
    made = sign(client, email="second@example.org", replaces="forged")
    assert made.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 2
