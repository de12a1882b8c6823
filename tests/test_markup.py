"""Every page is valid HTML, as the W3C's Nu Html Checker (vnu, from the npm registry) reads
it: readers' pages in both languages and in the states they meet, every admin page, and the
HTML part of every email.
Browsers forgive broken markup; screen readers and mail programs' previews are less kind, and
a duplicated id quietly breaks the label or the heading that points at it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from petition.services.seed import ARTICLE_SLUG
from tests.factories import (
    SLUG,
    confirmed_signatures,
    forget_cached,
    links_in,
    log_in,
    make_admin,
    send_all_mail,
    sign,
    signer,
)
from tests.parts import NODE_MODULES, from_npm, require_part

VNU = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
ARTICLE = f"/articles/{ARTICLE_SLUG}"


@pytest.fixture(scope="module")
def checker() -> list[str]:
    """The command that checks files: Java running vnu.jar (npm ci installs it)."""
    vnu = from_npm("the Nu Html Checker", VNU)
    java = shutil.which("java")
    if java is None:
        require_part("Java", "java", "not installed (apt-get install default-jre-headless)")
    return [str(java), "-jar", str(vnu), "--errors-only", "--format", "json"]


def routes_to_read(app: Flask) -> list[str]:
    """Every page a GET reaches with nothing to fill in but the petition's slug."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.arguments - {"slug"}:
            continue
        paths.append(rule.rule.replace("<slug>", SLUG))
    return sorted(set(paths))


def html_of(response: Any) -> bytes | None:
    """A page's bytes, read at once (an open response keeps its request's context alive)."""
    html = response.get_data() if response.mimetype == "text/html" else None
    response.close()
    return html if response.status_code < 500 else None


def reader_states(
    app: Flask, client: FlaskClient, mailbox: Any, prefix: str
) -> dict[str, bytes | None]:
    """Pages readers meet on the way: a form sent back with mistakes, the links in their mail,
    the pages after each button."""
    from petition.services import digests

    email = f"markup{prefix.strip('/')}@example.org"
    signed = sign(client, email=email, consent_updates="y", language=prefix.strip("/") or "en")
    thanks = signed.headers["Location"]  # with the signer's own link: a form to correct it
    send_all_mail(app)
    links = links_in(next(m for m in mailbox.messages if m["To"] == email))
    confirm, withdraw = (re.sub(r"^https?://[^/]+", "", links[k]) for k in ("confirm", "withdraw"))
    with app.app_context():
        digests.publish_due(every=timedelta(0))
        forget_cached()

    def sent_from(page: str, action: str, data: dict[str, str]) -> Any:
        """A form posted as a browser on our page posts it: its token, our origin."""
        html = client.get(page).get_data(as_text=True)
        token = re.search(r'name="form_token" value="([^"]+)"', html)
        fields = {**data, **({"form_token": token.group(1)} if token else {})}
        return client.post(action, data=fields, headers={"Origin": "http://petition.test"})

    steps = {  # each with the status it answers: a 403 would check the wrong page
        "thanks, to the signer": (200, lambda: client.get(thanks)),
        "article": (200, lambda: client.get(f"{prefix}{ARTICLE}")),
        "sign form with mistakes": (
            422,
            lambda: sent_from(
                f"{prefix}/petitions/{SLUG}",
                f"{prefix}/petitions/{SLUG}/sign",
                {"name": "", "email": "not an address", "country": "GB"},
            ),
        ),
        "widget form with mistakes": (
            422,
            lambda: sent_from(
                f"{prefix}/embed/petitions/{SLUG}",
                f"{prefix}/embed/petitions/{SLUG}/sign",
                {"name": "", "email": "not an address", "country": "GB"},
            ),
        ),
        "your data: form with mistakes": (
            422,
            lambda: sent_from(f"{prefix}/privacy/me", f"{prefix}/privacy/me", {"email": "x"}),
        ),
        "donate form with mistakes": (
            422,
            lambda: sent_from(f"{prefix}/donate", f"{prefix}/donate", {"amount": "abc"}),
        ),
        "confirm page": (200, lambda: client.get(confirm)),
        "confirm form with mistakes": (
            422,
            lambda: client.post(confirm, data={"details_shown": "y"}),
        ),
        "confirmed": (200, lambda: client.post(confirm)),
        "confirm link opened again": (200, lambda: client.get(confirm)),
        "withdraw page": (200, lambda: client.get(withdraw)),
        "withdrawn": (200, lambda: client.post(withdraw)),
        "receipt check, no such code": (
            404,
            lambda: client.post(f"{prefix}/verify", data={"code": "X"}),
        ),
        "not found": (404, lambda: client.get(f"{prefix}/no-such-page")),
    }
    pages = {}
    for name, (status, step) in steps.items():
        response = step()
        assert response.status_code == status, (prefix, name, response.status_code)
        pages[name] = html_of(response)
    return pages


def test_every_page_is_valid_html(stripe_app, mailbox, checker, tmp_path):
    app, client = stripe_app, stripe_app.test_client()  # card donations on: the donate form
    with app.app_context():
        make_admin()
    confirmed_signatures(app, client, [signer(email="counted@example.org")])
    pages: dict[str, bytes | None] = {}
    for prefix in ("", "/uk"):
        for name, html in reader_states(app, client, mailbox, prefix).items():
            pages[f"{prefix or '/en'}: {name}"] = html
    staff = app.test_client()
    assert log_in(staff).status_code == 303
    for path in [
        *routes_to_read(app),
        f"/admin/articles/{ARTICLE_SLUG}",
        f"/admin/articles/{ARTICLE_SLUG}/preview",
    ]:
        if path.startswith("/admin"):
            pages[path] = html_of(staff.get(path))
        else:
            pages[path] = html_of(client.get(path))
            pages[f"/uk{path}"] = html_of(client.get(f"/uk{path}"))
    for message in mailbox.messages:  # and the HTML part of every email they were sent
        part = message.get_body(("html",))
        pages[f"email: {message['Subject']}"] = part.get_content().encode() if part else None
    files = {}
    for name, html in pages.items():
        if html is not None:
            file = tmp_path / f"{len(files):03d}.html"
            file.write_bytes(html)
            files[file.name] = name
    assert len(files) > 70, sorted(pages)  # readers' pages twice over, and the staff's
    checked = subprocess.run(
        [*checker, *(tmp_path / f for f in files)],
        capture_output=True,
        text=True,
        check=False,
    )
    messages = json.loads(checked.stderr)["messages"]
    problems = [
        f"{files.get(Path(m.get('url', '')).name, m.get('url'))}, line {m.get('lastLine')}: "
        f"{m['message']}"
        for m in messages
    ]
    assert not problems, "\n".join(problems)
