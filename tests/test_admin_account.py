"""Staff accounts: two-step verification with an authenticator app, and changing a password."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from petition.extensions import db
from petition.models import AdminUser, AuditLog
from petition.services import two_factor
from tests.factories import ADMIN_PASSWORD, admin_csrf, csrf_from, log_in, make_admin


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A clock in the middle of a 30-second step, moved only by the test."""
    now = [(time.time() // 30) * 30 + 15]
    monkeypatch.setattr(two_factor, "clock", lambda: now[0])
    return now


def code_at(secret: str, seconds_from_now: float = 0) -> str:
    return pyotp.TOTP(secret).at(two_factor.clock() + seconds_from_now)


def turn_on(client: FlaskClient) -> str:
    """Set up two-step verification as a person with an authenticator app would; the secret."""
    page = client.get("/admin/account/two-step").get_data(as_text=True)
    assert '<svg viewBox="' in page  # the QR code
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    done = client.post(
        "/admin/account/two-step",
        data={"csrf_token": csrf_from(page), "code": code_at(secret), "password": ADMIN_PASSWORD},
    )
    assert done.status_code == 303, done.get_data(as_text=True)
    return secret


def enter_code(client: FlaskClient, code: str) -> Any:
    page = client.get("/admin/login/code")
    assert page.status_code == 200, page.status_code
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/admin/login/code", data={"csrf_token": token, "code": code})


def actions(app: Any) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def test_two_step_verification_from_setup_to_signing_in(app, admin):
    assert "Set up two-step verification" in admin.get("/admin/").get_data(as_text=True)
    page = admin.get("/admin/account/two-step").get_data(as_text=True)
    wrong = admin.post(
        "/admin/account/two-step",
        data={"csrf_token": csrf_from(page), "code": "000000", "password": ADMIN_PASSWORD},
    )
    assert wrong.status_code == 422 and "That code is not right" in wrong.get_data(as_text=True)
    # A session left open cannot enrol its own phone: the right code needs the password too.
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    for password in ("", "not the password"):
        refused = admin.post(
            "/admin/account/two-step",
            data={"csrf_token": csrf_from(page), "code": code_at(secret), "password": password},
        )
        assert refused.status_code == 422
        assert "password" in refused.get_data(as_text=True).lower()
    with app.app_context():
        assert db.session.scalar(select(AdminUser.totp_secret)) is None

    secret = turn_on(admin)
    account = admin.get("/admin/account").get_data(as_text=True)
    assert "Two-step verification is on" in account and "Turn off two-step" in account
    assert "Set up two-step verification" not in admin.get("/admin/").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(AdminUser.totp_secret)) == secret

    admin.post("/admin/logout", data={"csrf_token": admin_csrf(admin, "/admin/")})
    password_only = log_in(admin)
    assert password_only.headers["Location"] == "/admin/login/code"
    # A right password alone opens nothing.
    assert admin.get("/admin/").headers["Location"].startswith("/admin/login")
    # The code that turned it on was used up; so is every code before it.
    assert enter_code(admin, code_at(secret)).status_code == 422
    assert enter_code(admin, code_at(secret, -30)).status_code == 422
    signed_in = enter_code(admin, code_at(secret, 30))  # the app's clock runs a little fast
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/admin/"
    assert admin.get("/admin/").status_code == 200
    # Nobody can sign in again with that code.
    admin.post("/admin/logout", data={"csrf_token": admin_csrf(admin, "/admin/")})
    log_in(admin)
    assert enter_code(admin, code_at(secret, 30)).status_code == 422
    assert actions(app).count("sign_in_failed") == 3
    assert "two_factor_on" in actions(app)


def test_the_code_step_follows_next_and_runs_out(app, client, monkeypatch):
    with app.app_context():
        make_admin()
    assert log_in(client).status_code == 303
    secret = turn_on(client)
    client.post("/admin/logout", data={"csrf_token": admin_csrf(client, "/admin/")})

    page = client.get("/admin/login?next=/admin/audit")
    client.post(
        "/admin/login?next=/admin/audit",
        data={
            "email": "admin@example.org",
            "password": ADMIN_PASSWORD,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    done = enter_code(client, code_at(secret, 30))
    assert done.headers["Location"] == "/admin/audit"

    client.post("/admin/logout", data={"csrf_token": admin_csrf(client, "/admin/")})
    monkeypatch.setattr("petition.admin.auth.CODE_MINUTES", -1)
    log_in(client)
    late = client.get("/admin/login/code")
    assert late.status_code == 303 and late.headers["Location"] == "/admin/login"
    assert "Sign in again" in client.get("/admin/login").get_data(as_text=True)


def test_turning_it_on_ends_every_other_session(app, client):
    with app.app_context():
        make_admin()
    other = app.test_client()
    assert log_in(client).status_code == 303 and log_in(other).status_code == 303
    turn_on(client)
    assert client.get("/admin/").status_code == 200
    assert other.get("/admin/").status_code in (302, 303)


def test_wrong_codes_are_slowed_down(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    with app.app_context():
        make_admin()
    client = app.test_client()
    log_in(client)
    turn_on(client)
    client.post("/admin/logout", data={"csrf_token": admin_csrf(client, "/admin/")})
    log_in(client)
    codes = [enter_code(client, f"{i:06d}").status_code for i in range(7)]
    assert codes[:5] == [422] * 5 and codes[5:] == [429, 429]


def test_turning_it_off_asks_for_the_password(app, admin):
    turn_on(admin)
    token = admin_csrf(admin, "/admin/account")
    refused = admin.post("/admin/account/two-step/off", data={"csrf_token": token, "password": "x"})
    assert refused.status_code == 422
    assert "That password is not right" in refused.get_data(as_text=True)
    done = admin.post(
        "/admin/account/two-step/off", data={"csrf_token": token, "password": ADMIN_PASSWORD}
    )
    assert done.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(AdminUser.totp_secret)) is None
    assert actions(app)[-1] == "two_factor_off"


def test_the_command_line_resets_it_for_someone_who_lost_their_phone(app, admin, runner):
    turn_on(admin)
    result = runner.invoke(args=["reset-two-factor", "Admin@example.org"])
    assert result.exit_code == 0, result.output
    assert "Two-step verification is off" in result.output
    again = runner.invoke(args=["reset-two-factor", "admin@example.org"])
    assert again.exit_code != 0 and "No admin" in again.output
    with app.app_context():
        assert db.session.scalar(select(AdminUser.totp_secret)) is None
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "two_factor_reset"))
        assert entry.actor == "command line" and entry.target == "admin@example.org"
    fresh = app.test_client()
    assert log_in(fresh).headers["Location"] == "/admin/"


def test_changing_the_password(app, admin):
    other = app.test_client()
    assert log_in(other).status_code == 303
    token = admin_csrf(admin, "/admin/account")

    def change(current: str, new: str, repeat: str | None = None) -> Any:
        return admin.post(
            "/admin/account",
            data={
                "csrf_token": token,
                "current_password": current,
                "new_password": new,
                "repeat_password": new if repeat is None else repeat,
            },
        )

    for response, message in [
        (change("not my password", "a brand new passphrase"), "That password is not right"),
        (change(ADMIN_PASSWORD, "too short"), "Use at least 12 characters"),
        (change(ADMIN_PASSWORD, ADMIN_PASSWORD), "different from the one you have now"),
        (change(ADMIN_PASSWORD, "a brand new passphrase", "typo"), "are not the same"),
    ]:
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert change(ADMIN_PASSWORD, "a brand new passphrase").status_code == 303
    assert "Your password is changed" in admin.get("/admin/account").get_data(as_text=True)
    assert other.get("/admin/").status_code in (302, 303)
    assert log_in(app.test_client()).status_code == 422
    assert log_in(app.test_client(), password="a brand new passphrase").status_code == 303
    assert "password_changed" in actions(app)


def test_editors_manage_their_own_account_too(app, client):
    with app.app_context():
        make_admin("editor@example.org", role="editor")
    assert log_in(client, "editor@example.org").status_code == 303
    page = client.get("/admin/account")
    assert page.status_code == 200 and "editor@example.org" in page.get_data(as_text=True)
    turn_on(client)


def test_an_admin_removes_and_restores_someones_access(app, admin):
    with app.app_context():
        leaver = make_admin("leaver@example.org", role="editor")
        leaver_id = leaver.id
    theirs = app.test_client()
    assert log_in(theirs, "leaver@example.org").status_code == 303
    page = admin.get("/admin/team").get_data(as_text=True)
    assert "leaver@example.org" in page and "admin@example.org" in page

    token = admin_csrf(admin, "/admin/team")
    removed = admin.post(f"/admin/team/{leaver_id}/remove", data={"csrf_token": token})
    assert "can no longer sign in" in admin.get(removed.headers["Location"]).get_data(as_text=True)
    assert theirs.get("/admin/").status_code in (302, 303)  # their session ended at once
    refused = log_in(app.test_client(), "leaver@example.org")
    assert refused.status_code == 422  # told nothing more than a wrong password would be
    assert "Email address or password is not right" in refused.get_data(as_text=True)

    admin.post(f"/admin/team/{leaver_id}/restore", data={"csrf_token": token})
    assert log_in(app.test_client(), "leaver@example.org").status_code == 303
    log = actions(app)
    assert log[log.index("access_removed") :] == [
        "access_removed",
        "sign_in_failed",  # the attempt while removed
        "access_restored",
        "sign_in",
    ]


def test_nobody_removes_their_own_access_and_editors_manage_no_one(app, admin, client):
    with app.app_context():
        me = db.session.scalar(select(AdminUser.id).where(AdminUser.email == "admin@example.org"))
        make_admin("editor@example.org", role="editor")
    token = admin_csrf(admin, "/admin/team")
    own = admin.post(f"/admin/team/{me}/remove", data={"csrf_token": token})
    assert "You cannot remove your own access" in admin.get(own.headers["Location"]).get_data(
        as_text=True
    )
    assert admin.get("/admin/").status_code == 200
    assert admin.post("/admin/team/999/remove", data={"csrf_token": token}).status_code == 404
    # Without the form's token nothing changes.
    admin.post(f"/admin/team/{me}/remove")

    editor = app.test_client()
    log_in(editor, "editor@example.org")
    assert editor.get("/admin/team").status_code == 403
    editor_token = admin_csrf(editor, "/admin/account")
    forbidden = editor.post(f"/admin/team/{me}/remove", data={"csrf_token": editor_token})
    assert forbidden.status_code == 403
    with app.app_context():
        assert all(db.session.scalars(select(AdminUser.active)))
