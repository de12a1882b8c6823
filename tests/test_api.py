"""The public read API: counts for anyone, cacheable, never personal data."""

from __future__ import annotations

from tests.factories import SLUG, sign


def test_petition_json_has_the_contracted_fields_and_no_personal_data(client):
    sign(client, name="Secret Person", email="secret@example.org")
    response = client.get(f"/api/v1/petitions/{SLUG}")
    data = response.get_json()
    assert response.status_code == 200
    assert {"slug", "title", "state", "goal", "signature_count"} <= set(data)
    assert data["slug"] == SLUG and data["state"] == "open" and data["signature_count"] == 0
    body = response.get_data(as_text=True)
    assert "secret" not in body.lower() and "Secret Person" not in body


def test_petition_list(client):
    data = client.get("/api/v1/petitions").get_json()
    assert [p["slug"] for p in data["petitions"]] == [SLUG]


def test_responses_are_cacheable_by_anyone_and_revalidate_with_304(client):
    response = client.get(f"/api/v1/petitions/{SLUG}")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert (
        "public" in response.headers["Cache-Control"]
        and "max-age=" in response.headers["Cache-Control"]
    )
    etag = response.headers["ETag"]
    assert etag and not etag.startswith("W/")
    again = client.get(f"/api/v1/petitions/{SLUG}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_errors_are_json_with_a_code(client):
    response = client.get("/api/v1/petitions/nope")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert "nope" in response.get_json()["error"]["message"]


def test_the_api_says_closed_when_the_page_does(app, client):
    from datetime import timedelta

    from petition.extensions import db
    from petition.models import utcnow
    from tests.factories import forget_cached, make_petition

    with app.app_context():
        make_petition("past-its-date", closes_at=utcnow() - timedelta(hours=1))
        make_petition("opens-tomorrow", opens_at=utcnow() + timedelta(days=1))
        db.session.remove()
    forget_cached()
    states = {
        p["slug"]: p["state"] for p in client.get("/api/v1/petitions").get_json()["petitions"]
    }
    assert states == {SLUG: "open", "past-its-date": "closed", "opens-tomorrow": "scheduled"}
    assert client.get("/api/v1/petitions/past-its-date").get_json()["state"] == "closed"
    page = client.get("/petitions/past-its-date").get_data(as_text=True)
    assert "Sign this petition" not in page  # the page agrees: no sign form
