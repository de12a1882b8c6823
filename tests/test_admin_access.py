"""The admin side's locks: accounts, sign-in, sessions, roles, headers."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from petition.extensions import db
from petition.models import AdminUser, AuditLog
from petition.services import accounts
from tests.factories import ADMIN_PASSWORD, SLUG, admin_csrf, csrf_from, log_in, make_admin

ADMIN_PAGES = [
    "/admin/",
    "/admin/petitions",
    "/admin/petitions/new",
    f"/admin/petitions/{SLUG}",
    f"/admin/petitions/{SLUG}/signatures.csv",
    "/admin/campaign",
    "/admin/signatures?email=a%40b.c",
    "/admin/privacy?email=a%40b.c",
    "/admin/audit",
    "/admin/account",
    "/admin/account/two-step",
    "/admin/login/code",
    "/admin/team",
]
ADMIN_ONLY = [
    "/admin/team",
    f"/admin/petitions/{SLUG}/signatures.csv",
    "/admin/signatures?email=a%40b.c",
    "/admin/privacy?email=a%40b.c",
    "/admin/audit",
]


def test_create_admin_from_stdin_then_sign_in(app, runner, client):
    result = runner.invoke(
        args=["create-admin", "Staff@Example.ORG", "--password-stdin"], input=ADMIN_PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created admin staff@example.org" in result.output
    with app.app_context():
        user = db.session.scalar(select(AdminUser))
        assert user.password_hash.startswith("$argon2id$")
        assert ADMIN_PASSWORD not in user.password_hash

    response = log_in(client, "staff@example.org")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"
    dashboard = client.get("/admin/")
    assert dashboard.status_code == 200
    assert "Dashboard" in dashboard.get_data(as_text=True)

    again = runner.invoke(
        args=["create-admin", "staff@example.org", "--role", "editor", "--password-stdin"],
        input="another long password\n",
    )
    assert "Updated editor staff@example.org" in again.output


def test_short_passwords_and_bad_addresses_are_refused(runner):
    short = runner.invoke(
        args=["create-admin", "a@example.org", "--password-stdin"], input="short\n"
    )
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    bad = runner.invoke(
        args=["create-admin", "not-an-email", "--password-stdin"], input=ADMIN_PASSWORD + "\n"
    )
    assert bad.exit_code != 0 and "Not a valid email" in bad.output


def test_at_the_prompt_a_bad_address_asks_for_no_password_and_a_short_one_is_asked_again(
    app, runner
):
    bad = runner.invoke(args=["create-admin", "not-an-email"], input=ADMIN_PASSWORD + "\n")
    assert bad.exit_code != 0 and "Not a valid email" in bad.output
    assert "Password" not in bad.output
    typed = f"short\n{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n"
    made = runner.invoke(args=["create-admin", "staff@example.org"], input=typed)
    assert made.exit_code == 0, made.output
    assert "Use at least 12 characters" in made.output
    assert "Created admin staff@example.org" in made.output
    with app.app_context():
        [user] = db.session.scalars(select(AdminUser)).all()
        assert accounts.check_password(user, ADMIN_PASSWORD)


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_visitors_who_are_not_signed_in_get_no_data(client, path):
    response = client.get(path)
    assert response.status_code in (302, 303)
    assert response.headers["Location"].startswith("/admin/login")
    assert "Ada" not in response.get_data(as_text=True)


def test_every_admin_route_is_locked(make_app):
    """Walk the URL map: nothing under /admin answers a stranger but the sign-in page.

    With rate limits on, as in production: they are checked before anyone is signed in.
    """
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint == "admin.login":
            continue
        path = re.sub(r"<[^>]+>", SLUG, re.sub(r"<int:[^>]+>", "1", rule.rule))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(path, method=method)
            assert response.status_code in (302, 303), (method, path, response.status_code)
            assert "/admin/login" in response.headers["Location"]


def test_wrong_passwords_are_slowed_down_without_revealing_accounts(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    with app.app_context():
        make_admin()
    client = app.test_client()
    unknown = log_in(client, "nobody@example.org", "wrong password!!")
    wrong = log_in(client, "admin@example.org", "wrong password!!")
    assert unknown.status_code == wrong.status_code == 422
    message = "Email address or password is not right"
    assert message in unknown.get_data(as_text=True) and message in wrong.get_data(as_text=True)
    codes = [log_in(client, "admin@example.org", f"guess {i}").status_code for i in range(10)]
    assert 429 in codes
    assert codes.index(429) <= 4
    # The right password does not get through while the door is shut either.
    assert log_in(client, "admin@example.org").status_code == 429
    with app.app_context():
        failures = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "sign_in_failed")
        ).all()
        assert len(failures) >= 5


def attempt(app, address: str, password: str, email: str = "admin@example.org") -> int:
    """One sign-in from `address`, as a browser there would make it."""
    client = app.test_client()
    page = client.get("/admin/login", environ_base={"REMOTE_ADDR": address})
    return client.post(
        "/admin/login",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
        environ_base={"REMOTE_ADDR": address},
    ).status_code


def test_nobody_can_lock_a_colleague_out_from_elsewhere(make_app, monkeypatch):
    app = make_app(RATELIMIT_ENABLED=True)
    with app.app_context():
        make_admin("editor@example.org", role="editor")
        make_admin()
    waits: list[float] = []
    monkeypatch.setattr("petition.admin.auth.time.sleep", waits.append)
    # Wrong passwords for the editor from many addresses, thirty of them...
    codes = [
        attempt(app, f"198.51.100.{i}", "nope nope nope", "editor@example.org") for i in range(30)
    ]
    assert set(codes) == {422}
    # ...then the right password from a fresh address: in, after a short wait at most.
    assert attempt(app, "203.0.113.7", ADMIN_PASSWORD, "editor@example.org") == 303
    assert waits and max(waits) <= 2.0  # many failures slow every attempt a little
    # One address guessing at one account is stopped, and that is on the record.
    guesses = [attempt(app, "192.0.2.9", f"guess {i}", "editor@example.org") for i in range(7)]
    assert guesses[:5] == [422] * 5 and guesses[5:] == [429, 429]
    admin = app.test_client()
    log_in(admin)
    team = admin.get("/admin/team").get_data(as_text=True)
    assert "Slowed down" in team
    with app.app_context():
        throttled = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "sign_in_throttled")
        ).all()
        assert throttled and throttled[0].actor == "editor@example.org"
        assert throttled[0].ip_address == "192.0.2.9"


def test_one_ipv6_network_is_one_address_to_the_limits(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    with app.app_context():
        make_admin()
    network = "2001:db8:1:2:"
    codes = [attempt(app, f"{network}{i:x}::1", f"guess {i}") for i in range(7)]
    assert codes[:5] == [422] * 5 and 429 in codes[5:]
    # Another network is another address (the positive control).
    assert attempt(app, "2001:db8:9:9::1", ADMIN_PASSWORD) == 303


def test_logout_ends_the_session_on_the_server(app, client):
    with app.app_context():
        make_admin()
    assert log_in(client).status_code == 303
    cookie = client.get_cookie("rw_admin", path="/admin")
    assert cookie is not None
    stolen = cookie.value
    token = admin_csrf(client)
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/admin/").status_code in (302, 303)

    replay = app.test_client()
    replay.set_cookie("rw_admin", stolen, path="/admin")
    response = replay.get("/admin/")
    assert response.status_code in (302, 303)
    assert "/admin/login" in response.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(AuditLog.action).order_by(AuditLog.id.desc())) == "sign_out"


def test_logout_needs_the_csrf_token(app, client):
    with app.app_context():
        make_admin()
    log_in(client)
    client.post("/admin/logout")
    assert client.get("/admin/").status_code == 200


def test_session_cookie_is_locked_down(app, client):
    with app.app_context():
        make_admin()
    response = log_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie  # PUBLIC_URL is http in tests


def test_secure_cookie_when_public_url_is_https(make_app):
    app = make_app(PUBLIC_URL="https://petition.example")
    with app.app_context():
        make_admin()
    response = log_in(app.test_client())
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_admin_responses_are_never_cached_or_framed(app, client):
    with app.app_context():
        make_admin()
    for response in (client.get("/admin/login"), log_in(client), client.get("/admin/")):
        assert response.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "microphone=()" in response.headers["Permissions-Policy"]


@pytest.mark.parametrize(
    ("target", "lands_on"),
    [
        ("/admin/audit", "/admin/audit"),
        ("https://evil.example/admin", "/admin/"),
        ("//evil.example/admin", "/admin/"),
        ("/\\evil.example", "/admin/"),
        ("/petitions/x", "/admin/"),
        ("javascript:alert(1)", "/admin/"),
    ],
)
def test_next_only_leads_to_our_own_admin_pages(app, client, target, lands_on):
    with app.app_context():
        make_admin()
    page = client.get("/admin/login", query_string={"next": target})
    token = csrf_from(page.get_data(as_text=True))
    response = client.post(
        "/admin/login",
        query_string={"next": target},
        data={"email": "admin@example.org", "password": ADMIN_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == lands_on


def test_forms_without_a_csrf_token_change_nothing(app, client):
    with app.app_context():
        make_admin()
    log_in(client)
    response = client.post(
        "/admin/petitions/new", data={"slug": "sneaky", "title": "Sneaky", "ask": "x", "goal": "10"}
    )
    assert response.status_code == 422
    assert "This form had expired" in response.get_data(as_text=True)
    assert client.get("/petitions/sneaky").status_code == 404
    client.post(f"/admin/petitions/{SLUG}/close")
    assert "Sign this petition" in client.get(f"/petitions/{SLUG}").get_data(as_text=True)


@pytest.mark.parametrize("path", ADMIN_ONLY)
def test_editors_see_no_personal_data(app, client, path):
    with app.app_context():
        make_admin("editor@example.org", role="editor")
    log_in(client, "editor@example.org")
    response = client.get(path)
    assert response.status_code == 403


def test_editors_manage_petitions_and_see_aggregates(app, client):
    with app.app_context():
        make_admin("editor@example.org", role="editor")
    log_in(client, "editor@example.org")
    for path in ("/admin/", "/admin/petitions", f"/admin/petitions/{SLUG}", "/admin/campaign"):
        assert client.get(path).status_code == 200, path
    html = client.get(f"/admin/petitions/{SLUG}").get_data(as_text=True)
    assert "Export signatures" not in html
    nav = client.get("/admin/").get_data(as_text=True)
    assert "Privacy requests" not in nav and "Audit log" not in nav


def test_signing_in_starts_a_new_session_with_a_new_csrf_token(app, client):
    with app.app_context():
        make_admin()
    page = client.get("/admin/login").get_data(as_text=True)
    before = csrf_from(page)
    planted = client.get_cookie("rw_admin", path="/admin").value
    response = client.post(
        "/admin/login",
        data={"email": "admin@example.org", "password": ADMIN_PASSWORD, "csrf_token": before},
    )
    assert response.status_code == 303
    assert client.get_cookie("rw_admin", path="/admin").value != planted
    # The token from before signing in no longer works (still signed in); the new one does.
    client.post("/admin/logout", data={"csrf_token": before})
    assert client.get("/admin/").status_code == 200
    fresh = admin_csrf(client, "/admin/")
    assert fresh != before
    client.post("/admin/logout", data={"csrf_token": fresh})
    assert client.get("/admin/").status_code in (302, 303)
