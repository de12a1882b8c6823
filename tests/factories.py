"""Data builders and the steps a reader takes, for tests."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from petition.extensions import db
from petition.models import Campaign, Petition, PetitionState, Signature, utcnow
from petition.services.counting import flush_counts
from petition.services.seed import PETITION_SLUG
from tests.parts import text_of

SLUG = PETITION_SLUG
ORIGIN = "http://petition.test"

TOKEN_FIELD = re.compile(r'name="form_token" value="([^"]+)"')
LINK = re.compile(r"(https?://\S+/signatures/(confirm|withdraw)/[A-Za-z0-9_\-]+)")


def make_petition(
    slug: str = "second-petition", state: PetitionState = PetitionState.OPEN, **fields: Any
) -> Petition:
    campaign = db.session.scalar(select(Campaign).limit(1))
    petition = Petition(
        campaign=campaign,
        slug=slug,
        title=fields.pop("title", f"Petition {slug}"),
        ask=fields.pop("ask", "Do the right thing."),
        state=state,
        opens_at=fields.pop("opens_at", utcnow()),
        **fields,
    )
    db.session.add(petition)
    db.session.commit()
    return petition


def form_token(client: FlaskClient, slug: str = SLUG) -> str:
    page = client.get(f"/petitions/{slug}")
    assert page.status_code == 200, page.status_code
    match = TOKEN_FIELD.search(page.get_data(as_text=True))
    assert match, "the petition page carries no form token"
    return match.group(1)


def signer(**overrides: Any) -> dict[str, str]:
    fields = {
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "country": "GB",
        "postcode": "SW1A 1AA",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def sign(
    client: FlaskClient,
    slug: str = SLUG,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    language: str = "en",
    **fields: Any,
) -> TestResponse:
    """Post the sign form the way a browser on our page (at PUBLIC_URL) does, in its language."""
    data = signer(**fields)
    data.setdefault("form_token", token or form_token(client, slug))
    ours = client.application.config["PUBLIC_URL"].rstrip("/")
    return client.post(
        ("" if language == "en" else f"/{language}") + f"/petitions/{slug}/sign",
        data=data,
        headers={"Origin": ours, "Sec-Fetch-Site": "same-origin", **(headers or {})},
    )


def links_in(message: Any) -> dict[str, str]:
    """The confirm and withdraw links in an email's text, as paths."""
    found = {kind: urlsplit(url).path for url, kind in LINK.findall(text_of(message))}
    return found


def signature_for(email: str, slug: str = SLUG) -> Signature | None:
    from petition.services.addresses import canonical_email

    return db.session.scalar(
        select(Signature)
        .join(Petition)
        .where(Petition.slug == slug, Signature.canonical_email == canonical_email(email))
    )


def wants_updates(email: str) -> bool:
    """Whether the person with this address gets campaign updates now (any petition)."""
    from petition.security.email_hash import email_hashes
    from petition.services import consent
    from petition.services.addresses import canonical_email

    return consent.wants_updates(email_hashes(canonical_email(email)))


def consent_history(email: str) -> list[Any]:
    from petition.security.email_hash import email_hashes
    from petition.services import consent
    from petition.services.addresses import canonical_email

    return consent.history(email_hashes(canonical_email(email)))


def count_of(slug: str = SLUG) -> int:
    """Fold pending count changes in and read the stored confirmed count."""
    flush_counts()
    return db.session.scalar(select(Petition.confirmed_count).where(Petition.slug == slug))


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


ADMIN_PASSWORD = "correct horse battery staple"
CSRF_FIELD = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def make_admin(
    email: str = "admin@example.org", role: str = "admin", password: str = ADMIN_PASSWORD
) -> Any:
    from petition.models import Role
    from petition.services.accounts import save_admin

    user, _ = save_admin(email, password, Role(role))
    return user


def csrf_from(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def log_in(
    client: FlaskClient, email: str = "admin@example.org", password: str = ADMIN_PASSWORD
) -> TestResponse:
    page = client.get("/admin/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        "/admin/login", data={"email": email, "password": password, "csrf_token": token}
    )


def signed_in_admin(app: Any, client: FlaskClient | None = None) -> FlaskClient:
    """A test client of `app` (a new one unless given), signed in as a new admin
    (admin@example.org)."""
    client = client or app.test_client()
    with app.app_context():
        make_admin()
    assert log_in(client).status_code == 303
    return client


def admin_csrf(client: FlaskClient, path: str = "/admin/petitions/new") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def unpublish_article(app: Any, slug: str) -> FlaskClient:
    """Unpublish a story as an admin would; returns that admin's signed-in client."""
    with app.app_context():
        make_admin()
    admin = app.test_client()
    log_in(admin)
    token = admin_csrf(admin, "/admin/articles/new")
    admin.post(f"/admin/articles/{slug}/unpublish", data={"csrf_token": token})
    forget_cached()
    return admin


def confirmed_signatures(
    app: Any, client: FlaskClient, people: list[dict[str, str]], slug: str = SLUG
) -> None:
    """Sign and confirm for each person, through the service's own paths."""
    from petition.services.signatures import Details, confirm

    for person in people:
        assert sign(client, slug=slug, **person).status_code == 303
    with app.app_context():
        for person in people:
            signature = signature_for(person["email"], slug)
            confirm(signature, Details.of(signature))
        db.session.commit()
        flush_counts()


def forget_cached() -> None:
    """Drop this process's cached counts and pages, so the next read sees the database."""
    from petition import microcache
    from petition.extensions import cache

    cache.clear_local()
    microcache.clear_all()


def send_all_mail(app: Any) -> None:
    """What the worker does with mail, until nothing is left: queue mailings, then send."""
    from petition.mail import deliver_due
    from petition.services import mailings

    with app.app_context():
        while mailings.queue_next_chunk() or mailings.drop_stopped_chunk() or deliver_due():
            pass
