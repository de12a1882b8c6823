"""The micro-cache: public pages and counts answered from memory for a second, nothing else."""

from __future__ import annotations

import time

from sqlalchemy import update

from petition.extensions import db
from petition.models import Petition
from petition.security import form_tokens
from tests.factories import SLUG, forget_cached, log_in, make_admin


def rename(app, title: str) -> None:
    with app.app_context():
        db.session.execute(update(Petition).values(title=title))
        db.session.commit()
        from petition.extensions import cache

        cache.clear_local()  # only the micro-cache still remembers


def test_public_pages_and_counts_are_served_from_memory_for_a_moment(app, client):
    for path in (
        f"/petitions/{SLUG}",
        f"/api/v1/petitions/{SLUG}",
        f"/embed/petitions/{SLUG}",
        "/",
    ):
        first = client.get(path)
        rename(app, "Renamed petition")
        again = client.get(path)
        assert again.get_data() == first.get_data(), path
        assert "Renamed" not in again.get_data(as_text=True)
        forget_cached()
        assert "Renamed petition" in client.get(path).get_data(as_text=True), path
        rename(app, "Go further and faster")
        forget_cached()


def test_cached_pages_keep_their_headers_and_revalidate(client, monkeypatch):
    # The page's form token is stamped to the minute; keep this test inside one minute.
    now = time.time()
    monkeypatch.setattr(form_tokens, "_clock", lambda: now)
    first = client.get(f"/petitions/{SLUG}")
    second = client.get(f"/petitions/{SLUG}")
    for header in (
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "Cache-Control",
        "ETag",
        "Content-Type",
    ):
        assert first.headers[header] == second.headers[header], header
    assert "public" in second.headers["Cache-Control"]
    revalidated = client.get(
        f"/petitions/{SLUG}", headers={"If-None-Match": second.headers["ETag"]}
    )
    assert revalidated.status_code == 304 and revalidated.get_data() == b""
    forget_cached()
    fresh = client.get(f"/petitions/{SLUG}", headers={"If-None-Match": first.headers["ETag"]})
    assert fresh.status_code == 304


def test_query_strings_are_kept_apart(client):
    plain = client.get(f"/petitions/{SLUG}").get_data(as_text=True)
    tagged = client.get(f"/petitions/{SLUG}?utm_source=newsletter").get_data(as_text=True)
    assert 'value="newsletter"' in tagged and 'value="newsletter"' not in plain


def test_nothing_private_or_changing_is_cached(app, client):
    with app.app_context():
        make_admin()
    log_in(client)
    dashboard = client.get("/admin/")
    assert dashboard.headers["Cache-Control"] == "no-store"
    cache = app.extensions["microcache"]
    assert not any("/admin" in key for key in cache.store)
    client.get(f"/petitions/{SLUG}/nope")
    client.post(f"/petitions/{SLUG}/sign", data={})
    assert not any("/sign" in key or "nope" in key for key in cache.store)


def test_public_pages_leave_the_date_to_the_server(client):
    # gunicorn and werkzeug stamp every response with Date; one from the app would make two,
    # and a copy answered from the micro-cache would carry the time it was first made.
    for _ in range(2):
        response = client.get(f"/petitions/{SLUG}")
        assert response.status_code == 200 and "Date" not in response.headers


def test_a_copy_has_a_request_id_of_its_own(client, make_app):
    path = f"/petitions/{SLUG}"
    filled = client.get(path)
    copies = [client.get(path) for _ in range(2)]
    assert path in next(iter(client.application.extensions["microcache"].store))
    ids = {filled.headers["X-Request-ID"], *(copy.headers["X-Request-ID"] for copy in copies)}
    assert len(ids) == 3 and all(len(i) == 16 for i in ids)
    assert all(
        copy.headers.getlist("X-Request-ID") == [copy.headers["X-Request-ID"]] for copy in copies
    )
    # Behind our proxy a copy carries the proxy's id, as every other answer does; a stranger's
    # id is not taken up when there is no proxy to vouch for it.
    given = {"X-Request-ID": "proxy-7f3a9c"}
    assert client.get(path, headers=given).headers["X-Request-ID"] != "proxy-7f3a9c"
    proxied = make_app(TRUSTED_PROXY_COUNT=1).test_client()
    proxied.get(path)
    assert proxied.get(path, headers=given).headers["X-Request-ID"] == "proxy-7f3a9c"
