"""The widget and the API it signs through: small, framable, cookie-free, hostile-host proof."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from sqlalchemy import func, select

from petition.extensions import db
from petition.models import Signature
from tests.factories import ORIGIN, SLUG, forget_cached, signature_for, signer

TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def widget_token(
    client, slug: str = SLUG, ref: str = "https://news.example/story?utm_source=fb"
) -> str:
    page = client.get(f"/embed/petitions/{slug}", query_string={"ref": ref})
    return TOKEN.search(page.get_data(as_text=True)).group(1)


def api_sign(
    client,
    body: dict | bytes | str,
    origin: str | None = ORIGIN,
    content_type: str = "application/json",
    **kw,
):
    headers = {"Origin": origin} if origin else {}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(
        f"/api/v1/petitions/{SLUG}/signatures",
        data=data,
        headers=headers,
        content_type=content_type,
        **kw,
    )


def static_bytes(client, path: str) -> bytes:
    with client.get(path) as response:
        assert response.status_code == 200
        return response.get_data()


def test_the_widget_page_is_small_standalone_framable_and_cookie_free(client):
    page = client.get(f"/embed/petitions/{SLUG}?ref=https://news.example/a")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Set-Cookie" not in page.headers and "Cookie" not in page.headers.get("Vary", "")
    assert "X-Frame-Options" not in page.headers
    assert "frame-ancestors *" in page.headers["Content-Security-Policy"]
    assert "public" in page.headers["Cache-Control"]
    css = static_bytes(client, re.search(r'href="(/static/widget\.css[^"]*)"', html).group(1))
    js = static_bytes(client, re.search(r'src="(/static/widget\.js[^"]*)"', html).group(1))
    total = len(page.get_data()) + len(css) + len(js)
    assert total < 30 * 1024, total
    assert '<script src="https://' not in html and "fonts.googleapis" not in html
    for field in ("name", "email", "postcode", "country", "consent_updates"):
        assert f'name="{field}"' in html
    assert 'value="widget:news.example"' in html
    assert "Go further and faster" in html and "data-count-bar" in html


def test_only_allowed_sites_may_frame_the_widget_and_other_pages_are_not_framable(make_app):
    app = make_app(EMBED_ALLOWED_ORIGINS="https://news.example https://partner.example")
    client = app.test_client()
    widget = client.get(f"/embed/petitions/{SLUG}")
    assert (
        "frame-ancestors 'self' https://news.example https://partner.example"
        in widget.headers["Content-Security-Policy"]
    )
    assert "X-Frame-Options" not in widget.headers
    page = client.get(f"/petitions/{SLUG}")
    assert "frame-ancestors 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "SAMEORIGIN"
    # Nothing of ours uses a camera, a microphone or where the reader is; sharing stays on.
    for response in (widget, page):
        features = response.headers["Permissions-Policy"]
        assert "camera=()" in features and "geolocation=()" in features
        assert "web-share" not in features and "clipboard-write" not in features


def test_the_loader_is_tiny_cacheable_javascript(client):
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "public" in response.headers["Cache-Control"] and response.headers["ETag"]
    body = response.get_data()
    assert len(gzip.compress(body, 9)) <= 3 * 1024
    for needed in (
        b"data-petition",
        b"postMessage" if False else b"message",
        b"CustomEvent",
        b"petition:signed",
    ):
        assert needed in body
    assert (
        client.get("/embed.js", headers={"If-None-Match": response.headers["ETag"]}).status_code
        == 304
    )


def test_api_signing_answers_202_the_same_for_new_and_repeat_signers(app, client):
    token = widget_token(client)
    body = {
        **signer(email="widget.reader@gmail.com"),
        "form_token": token,
        "source": "widget:news.example",
        "ref": "news.example",
        "utm_source": "fb",
    }
    first = api_sign(client, body)
    again = api_sign(client, {**body, "email": "WidgetReader+x@googlemail.com"})
    assert first.status_code == again.status_code == 202
    # The same answer, but for the address each typed (partly hidden) and an opaque token.
    ignore = {"sent_to", "replaces"}
    assert {k: v for k, v in first.get_json().items() if k not in ignore} == {
        k: v for k, v in again.get_json().items() if k not in ignore
    }
    assert (first.get_json()["sent_to"], again.get_json()["sent_to"]) == (
        "wi…@gmail.com",
        "Wi…@googlemail.com",
    )
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert "Set-Cookie" not in first.headers
    with app.app_context():
        signature = signature_for("widget.reader@gmail.com")
        assert (signature.source, signature.referrer_host, signature.utm_source) == (
            "widget:news.example",
            "news.example",
            "fb",
        )
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 1


def test_sandboxed_frames_sign_with_origin_null_and_text_plain(app, client):
    token = widget_token(client)
    response = api_sign(
        client,
        {**signer(), "form_token": token},
        origin="null",
        content_type="text/plain;charset=UTF-8",
    )
    assert response.status_code == 202
    with app.app_context():
        assert signature_for("ada@example.org") is not None


def test_api_validation_errors_are_422_with_field_messages(client):
    token = widget_token(client)
    response = api_sign(
        client, {**signer(name="=1+1", email="nope", country="ZZ"), "form_token": token}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid"  # a code, as every error has
    errors = response.get_json()["errors"]
    assert set(errors) >= {"name", "email", "country"}
    assert "cannot start with" in errors["name"]
    wrong_types = api_sign(
        client,
        {
            "name": ["Ada"],
            "email": 5,
            "country": "GB",
            "postcode": "SW1A 1AA",
            "consent_updates": "yes",
            "form_token": token,
        },
    )
    assert wrong_types.status_code == 422
    assert wrong_types.get_json()["errors"]["consent_updates"] == "Must be true or false"
    # Only what is wrong is named: a country that is not text asks for no postcode.
    fields = {**signer(email="typed@example.org", country="FR", postcode=None), "form_token": token}
    assert api_sign(client, fields).status_code == 202  # the control
    not_text = api_sign(client, {**fields, "country": 12}).get_json()["errors"]
    assert not_text == {"country": "Must be text"}


def test_api_takes_a_country_code_in_small_letters_and_still_asks_for_a_uk_postcode(app, client):
    token = widget_token(client)
    no_postcode = api_sign(client, {**signer(country="gb", postcode=None), "form_token": token})
    assert no_postcode.status_code == 422
    assert set(no_postcode.get_json()["errors"]) == {"postcode"}
    assert api_sign(client, {**signer(country="zz"), "form_token": token}).status_code == 422
    assert api_sign(client, {**signer(country="gb"), "form_token": token}).status_code == 202
    assert (
        api_sign(
            client,
            {**signer(email="b@example.org", country="fr", postcode=None), "form_token": token},
        ).status_code
        == 202
    )
    with app.app_context():
        assert signature_for("ada@example.org").country == "GB"
        assert signature_for("b@example.org").country == "FR"


@pytest.mark.parametrize(
    ("prefix", "hint"),
    [
        ("", "Required if you live in the UK."),
        ("/uk", "Обов'язково, якщо ви живете у Великій Британії."),
    ],
)
def test_the_widget_says_a_uk_postcode_is_required_as_the_petition_page_does(client, prefix, hint):
    """It said "If you live in the UK", as if it were optional there; the server asks for it."""
    widget = client.get(f"{prefix}/embed/petitions/{SLUG}").get_data(as_text=True)
    page = client.get(f"{prefix}/petitions/{SLUG}").get_data(as_text=True)
    assert hint in page and hint in widget


def test_the_api_answers_in_the_language_asked_for_with_lang(app, client):
    """A partner's Ukrainian form shows the API's words: the sentences around the fields too."""
    token = widget_token(client)
    asked = {"query_string": {"lang": "uk"}}
    wrong = api_sign(client, {**signer(email="nope"), "form_token": token}, **asked)
    assert wrong.status_code == 422
    assert wrong.get_json()["error"]["message"] == "Деякі дані треба виправити: див. errors."
    unreadable = api_sign(client, "[1, 2]", **asked)
    assert unreadable.get_json()["error"]["message"] == "Надішліть об’єкт JSON."
    mistyped = {**signer(email="t@example.org"), "country": 12, "consent_updates": "так"}
    errors = api_sign(client, {**mistyped, "form_token": token}, **asked).get_json()["errors"]
    assert errors == {"country": "Має бути текстом", "consent_updates": "Має бути true або false"}
    signed = api_sign(client, {**signer(), "form_token": token}, **asked)
    assert signed.status_code == 202
    assert signed.get_json()["message"].startswith("Дякуємо. Тепер перевірте пошту")
    with app.app_context():
        assert signature_for("ada@example.org").language == "uk"
    missing = client.get("/api/v1/petitions/no-such-thing", query_string={"lang": "uk"})
    assert missing.get_json()["error"]["message"] == "Петиції «no-such-thing» немає."
    # Without `lang`, the same answers in English.
    english = api_sign(client, {**signer(email="b@example.org"), "form_token": token})
    assert english.get_json()["message"].startswith("Thank you. Now check your email")
    assert api_sign(client, "[1, 2]").get_json()["error"]["message"] == "Send a JSON object."


@pytest.mark.parametrize(
    ("body", "origin", "status"),
    [
        ({"form_token": "forged"}, ORIGIN, 403),
        ({}, ORIGIN, 403),
        (None, ORIGIN, 400),
        ("[1, 2]", ORIGIN, 400),
        ("{not json", ORIGIN, 400),
    ],
)
def test_api_refuses_forged_tokens_and_unreadable_bodies(client, body, origin, status):
    payload = json.dumps(signer() | body) if isinstance(body, dict) else (body or "")
    response = api_sign(client, payload, origin=origin)
    assert response.status_code == status
    assert response.get_json()["error"]["code"]


def test_api_refuses_pages_that_may_not_embed_us(make_app):
    app = make_app(EMBED_ALLOWED_ORIGINS="https://news.example")
    client = app.test_client()
    token = widget_token(client)
    assert (
        api_sign(
            client, {**signer(), "form_token": token}, origin="https://evil.example"
        ).status_code
        == 403
    )
    assert (
        api_sign(
            client, {**signer(), "form_token": token}, origin="https://news.example"
        ).status_code
        == 202
    )


def test_api_signing_shares_the_sign_rate_limit(make_app):
    app = make_app(RATELIMIT_ENABLED=True, SIGN_RATE_LIMIT="2 per minute")
    client = app.test_client()
    token = widget_token(client)
    codes = [
        api_sign(client, {**signer(email=f"r{i}@example.org"), "form_token": token}).status_code
        for i in range(3)
    ]
    assert codes == [202, 202, 429]
    limited = api_sign(client, {**signer(email="x@example.org"), "form_token": token})
    assert limited.get_json()["error"]["code"] == "too_many_requests"


def test_preflight_for_partners_using_json(client):
    response = client.options(
        f"/api/v1/petitions/{SLUG}/signatures",
        headers={"Origin": "https://partner.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_the_widget_works_without_javascript_too(app, client):
    token = widget_token(client)
    response = client.post(
        f"/embed/petitions/{SLUG}/sign",
        data={
            **signer(email="nojs@example.org"),
            "form_token": token,
            "source": "widget:news.example",
        },
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Now check your email" in html and "data-form" not in html
    bad = client.post(
        f"/embed/petitions/{SLUG}/sign",
        data={**signer(email="bad"), "form_token": token},
        headers={"Origin": ORIGIN},
    )
    assert bad.status_code == 422 and "correct format" in bad.get_data(as_text=True)


def test_public_api_is_cacheable_open_and_counts_by_country(app, client):
    from tests.factories import confirmed_signatures

    confirmed_signatures(
        app,
        client,
        [signer(email="a@example.org"), signer(email="b@example.org", country="FR", postcode="")],
    )

    forget_cached()
    response = client.get(f"/api/v1/petitions/{SLUG}")
    data = response.get_json()
    assert data["signature_count"] == 2
    assert data["signatures_by_country"] == [
        {"country": "FR", "count": 1},
        {"country": "GB", "count": 1},
    ]
    assert "Vary" not in response.headers or "Cookie" not in response.headers["Vary"]
    assert "stale-while-revalidate" in response.headers["Cache-Control"]
    assert "a@example.org" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    [
        f"http://petition.test/petitions/{SLUG}",
        f"http://petition.test/petitions/{SLUG}/",
        f"http://petition.test/embed/petitions/{SLUG}",
    ],
)
def test_oembed_for_our_petition_urls(client, url):
    response = client.get("/oembed", query_string={"url": url, "format": "json", "maxwidth": 400})
    assert response.status_code == 200
    data = response.get_json()
    assert (
        data["type"] == "rich"
        and data["version"] == "1.0"
        and data["provider_name"] == "Refugees Welcome"
    )
    assert data["width"] == 400 and data["height"] >= 250
    assert f'src="http://petition.test/embed/petitions/{SLUG}"' in data["html"]
    assert "<iframe" in data["html"] and "title=" in data["html"]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"url": f"https://evil.example/petitions/{SLUG}"}, 404),
        ({"url": "http://petition.test/petitions/no-such-petition"}, 404),
        ({"url": "http://petition.test/admin/"}, 404),
        ({"url": "javascript:alert(1)"}, 404),
        ({"url": f"http://petition.test/petitions/{SLUG}", "format": "xml"}, 501),
        ({"url": f"http://petition.test/petitions/{SLUG}", "maxwidth": "wide"}, 400),
    ],
)
def test_oembed_refuses_what_is_not_ours(client, params, status):
    response = client.get("/oembed", query_string=params)
    assert response.status_code == status
    assert response.get_json()["error"]["code"]


def test_petition_pages_advertise_oembed(client):
    html = client.get(f"/petitions/{SLUG}").get_data(as_text=True)
    assert 'type="application/json+oembed"' in html
    href = (
        re.search(r'type="application/json\+oembed" href="([^"]+)"', html)
        .group(1)
        .replace("&amp;", "&")
    )
    # Absolute: WordPress fetches the address as it finds it.
    assert href.startswith("http://petition.test/oembed?")
    assert client.get(href.removeprefix("http://petition.test")).status_code == 200


def test_oembed_carries_the_host_pages_attribution_into_the_frame(client):
    pasted = f"http://petition.test/petitions/{SLUG}?ref=news.example&utm_source=wp"
    html = client.get("/oembed", query_string={"url": pasted}).get_json()["html"]
    src = re.search(r'src="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "ref=https://news.example/" in src.replace("%3A", ":").replace("%2F", "/")
    widget = client.get(src.removeprefix("http://petition.test")).get_data(as_text=True)
    assert 'name="source" value="widget:news.example"' in widget
    assert 'name="utm_source" value="wp"' in widget


def test_no_response_under_embed_or_api_sets_a_cookie(client):
    token = widget_token(client)
    paths = [
        f"/embed/petitions/{SLUG}",
        "/embed.js",
        "/api/v1/petitions",
        f"/api/v1/petitions/{SLUG}",
        "/api/v1/openapi.json",
        "/api/v1/donations/summary",
        "/api/v1/petitions/nope",
    ]
    responses = [client.get(p) for p in paths]
    responses.append(api_sign(client, {**signer(), "form_token": token}))
    responses.append(api_sign(client, {"form_token": "x"}))
    for response in responses:
        assert "Set-Cookie" not in response.headers, response.request.path


def embed_code_is_on(html: str) -> None:
    """The snippet, the frame, the oEmbed address, and the widget itself as the preview."""
    assert f'&lt;div data-petition="{SLUG}"&gt;' in html
    assert '&lt;script src="http://petition.test/embed.js" async&gt;' in html
    assert f'&lt;iframe src="http://petition.test/embed/petitions/{SLUG}"' in html
    assert f"/oembed?url=http://petition.test/petitions/{SLUG}" in html
    assert f'<div class="embed-preview" data-petition="{SLUG}">' in html
    assert '<script src="/embed.js" async></script>' in html


def test_admins_get_an_embed_panel_with_snippet_and_preview(app, client):
    from tests.factories import log_in, make_admin

    with app.app_context():
        make_admin("editor@example.org", role="editor")
    log_in(client, "editor@example.org")
    embed_code_is_on(client.get(f"/admin/petitions/{SLUG}").get_data(as_text=True))


def test_partners_find_the_embed_code_on_a_public_page(app, client):
    petition = client.get(f"/petitions/{SLUG}").get_data(as_text=True)
    assert f'href="/petitions/{SLUG}/embed">Put this petition on your website</a>' in petition
    page = client.get(f"/petitions/{SLUG}/embed")
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert page.headers["Cache-Control"].startswith("public")
    embed_code_is_on(page.get_data(as_text=True))
    assert client.get("/petitions/no-such-petition/embed").status_code == 404
