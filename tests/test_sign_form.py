"""Bad input, forged posts and floods at the sign form: clear answers, nothing half-written."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from petition.extensions import db
from petition.models import OutboxMessage, PetitionState, Signature, utcnow
from petition.security import form_tokens
from tests.factories import ORIGIN, SLUG, form_token, make_petition, sign, signer


def rows(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def nothing_written(app) -> bool:
    with app.app_context():
        return rows(Signature) == 0 and rows(OutboxMessage) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Enter your full name"),
        ("name", '=HYPERLINK("http://x")', "cannot start with =, +, - or @"),
        ("name", "+44 7700", "cannot start with =, +, - or @"),
        ("name", "-1", "cannot start with =, +, - or @"),
        ("name", "@SUM(A1)", "cannot start with =, +, - or @"),
        ("name", "x" * 5000, "100 characters or fewer"),
        ("name", "Ada\r\nBcc: victim@example.org", "letters, spaces and punctuation"),
        ("name", "12345", "using letters"),
        ("email", "", "Enter your email address"),
        ("email", "not-an-email", "correct format"),
        ("email", "ada@", "correct format"),
        ("email", "a" * 5000 + "@example.org", "254 characters or fewer"),
        ("email", "ａｄａ@example.org", "correct format"),
        ("postcode", "", "Enter your postcode"),
        ("postcode", "NOT A POSTCODE", "real UK postcode"),
        ("postcode", "x" * 5000, "16 characters or fewer"),
        ("country", "XX", "Choose the country where you live"),
    ],
)
def test_bad_input_is_refused_with_a_message_next_to_the_field(app, client, field, value, message):
    response = sign(client, **{field: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    # The error summary links to the field, and the field points at its message.
    assert f'href="#{field}"' in html
    control = re.search(rf'<(?:input|select)[^>]*id="{field}"[^>]*>', html)
    assert control and f"{field}-error" in control.group(0)
    assert 'aria-invalid="true"' in control.group(0)
    assert f'id="{field}-error"' in html
    assert "There is a problem" in html
    assert nothing_written(app)


def test_typed_values_are_kept_when_the_form_comes_back(client):
    response = sign(client, name="Zoë O'Brien", email="bad", postcode="sw1a 1aa")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Zoë O&#39;Brien"' in html
    assert 'value="bad"' in html


def test_script_in_a_name_is_escaped_on_the_way_back(client):
    response = sign(client, name="<script>alert(1)</script>", email="bad")
    html = response.get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_non_uk_signers_need_no_postcode_and_uk_ones_are_tidied(app, client):
    assert sign(client, email="fr@example.org", country="FR", postcode="").status_code == 303
    assert sign(client, email="uk@example.org", country="GB", postcode="sw1a1aa").status_code == 303
    with app.app_context():
        postcodes = dict(db.session.execute(select(Signature.email, Signature.postcode)).all())
    assert postcodes == {"fr@example.org": None, "uk@example.org": "SW1A 1AA"}


def test_nul_bytes_and_invalid_utf8_get_400(app, client):
    token = form_token(client)
    nul = sign(client, token=token, name="Ada\x00Lovelace")
    assert nul.status_code == 400
    raw = b"name=Ada%FF%FE&email=ada%40example.org&country=GB&postcode=SW1A1AA&form_token="
    raw += token.encode()
    bad = client.post(
        f"/petitions/{SLUG}/sign",
        data=raw,
        content_type="application/x-www-form-urlencoded",
        headers={"Origin": ORIGIN},
    )
    assert bad.status_code == 400
    assert nothing_written(app)


def test_oversized_bodies_get_413(app, client):
    response = client.post(
        f"/petitions/{SLUG}/sign",
        data={**signer(), "form_token": form_token(client), "name": "x" * (1024 * 1024)},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 413
    assert nothing_written(app)


def test_cross_site_posts_and_missing_or_forged_tokens_get_403(app, client):
    token = form_token(client)
    cross_site = sign(client, token=token, headers={"Origin": "https://evil.example"})
    assert cross_site.status_code == 403
    fetch_cross_site = client.post(
        f"/petitions/{SLUG}/sign",
        data={**signer(), "form_token": token},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert fetch_cross_site.status_code == 403
    no_token = client.post(f"/petitions/{SLUG}/sign", data=signer(), headers={"Origin": ORIGIN})
    assert no_token.status_code == 403
    forged = sign(client, token=token[:-4] + "AAAA")
    assert forged.status_code == 403
    assert "This form could not be verified." in forged.get_data(as_text=True)
    # A reader of the Ukrainian page is told in Ukrainian.
    forged_uk = sign(client, token=token[:-4] + "AAAA", language="uk")
    assert "Не вдалося перевірити цю форму." in forged_uk.get_data(as_text=True)
    cross_site_uk = sign(
        client, token=token, headers={"Origin": "https://evil.example"}, language="uk"
    )
    assert "Цю форму можна надіслати лише з наших сторінок." in cross_site_uk.get_data(as_text=True)
    assert nothing_written(app)


def test_a_token_for_one_petition_does_not_sign_another(app, client):
    with app.app_context():
        make_petition("another")
    assert sign(client, slug="another", token=form_token(client, SLUG)).status_code == 403


def test_pages_rendered_within_a_minute_carry_the_same_token(app, client, monkeypatch):
    """So a page's bytes, and its ETag, stay the same when it is rendered again."""
    clock = [time.time() // 60 * 60 - 120]
    monkeypatch.setattr(form_tokens, "_clock", lambda: clock[0])
    with app.app_context():
        first = form_tokens.issue("sign", SLUG)
        clock[0] += 59
        assert form_tokens.issue("sign", SLUG) == first
        clock[0] += 1
        later = form_tokens.issue("sign", SLUG)
    assert later != first
    assert sign(client, token=later).status_code == 303


def test_an_expired_form_asks_the_reader_to_send_again(app, client):
    token = form_token(client)
    # Accepted once while fresh (and so remembered as genuine), then refused once too old.
    assert sign(client, token=token, email="first@example.org").status_code == 303
    with app.app_context():
        before = db.session.scalar(select(func.count(Signature.id)))
    app.config["FORM_TOKEN_MAX_AGE"] = 0
    time.sleep(1.1)
    response = sign(client, token=token, name="Ada Lovelace")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "send the form again" in html
    assert 'value="Ada Lovelace"' in html
    in_ukrainian = sign(client, token=token, name="Ada Lovelace", language="uk")
    assert in_ukrainian.status_code == 400
    assert "надішліть форму ще раз" in in_ukrainian.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == before


def test_no_public_page_sets_a_cookie_or_varies_on_one(app, client, mailbox):
    from petition.mail import deliver_due
    from tests.factories import links_in

    responses = [client.get(path) for path in ("/", f"/petitions/{SLUG}", "/privacy", "/nope")]
    responses.append(sign(client))
    responses.append(sign(client, email="bad"))
    responses.append(client.get(f"/petitions/{SLUG}/thanks"))
    with app.app_context():
        deliver_due()
    links = links_in(mailbox.wait_for(1)[0])
    responses += [client.get(links["confirm"]), client.post(links["confirm"])]
    responses += [client.get(links["withdraw"]), client.post(links["withdraw"])]
    responses += [client.get("/api/v1/petitions"), client.get(f"/api/v1/petitions/{SLUG}")]
    for response in responses:
        assert "Set-Cookie" not in response.headers, response.request.path
        assert "Cookie" not in response.headers.get("Vary", ""), response.request.path
    assert not client._cookies


def test_closed_petitions_show_no_form_and_refuse_signatures(app, client):
    with app.app_context():
        make_petition("closed-one", state=PetitionState.CLOSED, closed_at=utcnow())
        make_petition("ended", closes_at=utcnow() - timedelta(minutes=1))
    for slug in ("closed-one", "ended"):
        html = client.get(f"/petitions/{slug}").get_data(as_text=True)
        assert "This petition is closed" in html and 'name="email"' not in html
    with app.test_request_context():
        token = form_tokens.issue("sign", "ended")  # as if the page had been open since before
    response = sign(client, slug="ended", token=token)
    assert response.status_code == 409
    assert "This petition is not taking signatures." in response.get_data(as_text=True)
    in_ukrainian = sign(client, slug="ended", token=token, language="uk")
    assert in_ukrainian.status_code == 409
    assert "Ця петиція зараз не приймає підписів." in in_ukrainian.get_data(as_text=True)
    assert nothing_written(app)


def test_draft_and_unknown_petitions_are_not_found(app, client):
    with app.app_context():
        make_petition("secret-draft", state=PetitionState.DRAFT)
    assert client.get("/petitions/secret-draft").status_code == 404
    assert client.get("/petitions/no-such-thing").status_code == 404
    assert client.get("/api/v1/petitions/secret-draft").status_code == 404
    assert client.post("/petitions/secret-draft/sign", data=signer()).status_code == 404


def test_over_the_rate_limit_readers_get_a_friendly_429(make_app):
    app = make_app(RATELIMIT_ENABLED=True, SIGN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    token = form_token(client)
    codes = [sign(client, token=token, email=f"n{i}@example.org").status_code for i in range(4)]
    assert codes == [303, 303, 303, 429]
    limited = sign(client, token=token, email="n9@example.org")
    assert "Please wait a moment" in limited.get_data(as_text=True)
    assert limited.headers["Retry-After"]
    # Another address (another reader) is not held up.
    other = sign(client, token=token, email="x@example.org", headers={})
    assert other.status_code == 429
    assert (
        app.test_client()
        .post(
            f"/petitions/{SLUG}/sign",
            data={**signer(email="other@example.org"), "form_token": token},
            environ_base={"REMOTE_ADDR": "192.0.2.7"},
            headers={"Origin": ORIGIN},
        )
        .status_code
        == 303
    )
