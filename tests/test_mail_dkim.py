"""DKIM: our mail signed for MAIL_FROM's domain, checked as a mailbox provider checks it — by
another implementation (dkimpy), on the bytes the SMTP server received, against the record
`flask dkim-record` tells the operator to publish."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from petition import create_app
from tests.conftest import make_config
from tests.factories import confirmed_signatures, send_all_mail, sign, signed_in_admin
from tests.test_mailings import email_the_news, keen, post_news

SELECTOR = "rw2026"
DOMAIN = "petition.test"  # MAIL_FROM's, in the tests' settings


def key_file(tmp_path: Path, key: Any, name: str = "dkim.pem") -> str:
    path = tmp_path / name
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(path)


@pytest.fixture
def signing_app(make_app: Any, tmp_path: Path) -> Any:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return make_app(MAIL_DKIM_KEY_FILE=key_file(tmp_path, key), MAIL_DKIM_SELECTOR=SELECTOR)


def published(app: Any) -> dict[bytes, bytes]:
    """The DNS record, as `flask dkim-record` prints it for the zone file."""
    printed = app.test_cli_runner().invoke(args=["dkim-record"])
    assert printed.exit_code == 0, printed.output
    name, strings = re.fullmatch(r"(\S+) IN TXT (.+)\n", printed.stdout).groups()
    assert name == f"{SELECTOR}._domainkey.{DOMAIN}."
    parts = re.findall(r'"([^"]*)"', strings)
    assert all(len(part) <= 255 for part in parts) and len(parts) == 2  # 2048 bits
    return {name.encode(): "".join(parts).encode()}


def signature_tags(raw: bytes) -> dict[str, str]:
    """The DKIM-Signature header's tags, unfolded (it is the first header)."""
    lines = raw.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")
    value = lines[0].removeprefix("DKIM-Signature:")
    for line in lines[1:]:
        if not line[:1].isspace():
            break
        value += line
    pairs = (tag.split("=", 1) for tag in re.sub(r"\s", "", value).split(";") if tag)
    return dict(pairs)


def checks_out(raw: bytes, zone: dict[bytes, bytes]) -> bool:
    return dkim.verify(raw, dnsfunc=lambda name, timeout=5: zone.get(name))


def test_every_email_is_signed_and_checks_out_against_the_published_record(signing_app, mailbox):
    app = signing_app
    zone = published(app)
    admin = signed_in_admin(app)
    # A confirmation, a receipt, and news with one-click unsubscribe.
    confirmed_signatures(app, admin, keen(1))
    email_the_news(admin, post_news(admin))
    sign(app.test_client(), email="new@example.org", name="Ірина Коваленко", language="uk")
    send_all_mail(app)
    assert len(mailbox.raw) == 4
    for raw in mailbox.raw:
        assert raw.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n")
        assert checks_out(raw, zone), raw[:600]
    [news] = [raw for raw in mailbox.raw if b"\r\nList-Unsubscribe-Post:" in raw]
    tags = signature_tags(news)
    assert (tags["d"], tags["s"]) == (DOMAIN, SELECTOR)
    covered = tags["h"].split(":")
    # What mailbox providers need signed for one-click unsubscribe (RFC 8058), each listed once
    # more than it occurs, so nobody can add another.
    for header in ("from", "subject", "list-unsubscribe", "list-unsubscribe-post"):
        assert covered.count(header) == 2, covered

    # Negative controls: what a forger or a careless relay would change breaks it.
    head, _, body = news.partition(b"\r\n\r\n")
    tampered = {
        "subject": news.replace(b"\r\nSubject: ", b"\r\nSubject: Re: ", 1),
        "unsubscribe address": news.replace(b"/stop-updates/", b"/stop-updatez/", 1),
        "a second From": head + b"\r\nFrom: someone@elsewhere.example\r\n\r\n" + body,
        "a second List-Unsubscribe": head
        + b"\r\nList-Unsubscribe: <https://elsewhere.example/x>\r\n\r\n"
        + body,
        "the body": head + b"\r\n\r\n" + body.replace(b"--=_", b"--=_x", 1),
    }
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = other.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    [name] = zone
    assert not checks_out(news, {name: b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)})
    for what, message in tampered.items():
        assert message != news, what
        assert not checks_out(message, zone), what
    # A relay may add its own headers above, and refold ours: the signature holds.
    refolded = b"Received: from petition.test by relay.example\r\n" + news.replace(
        b"\r\nSubject: ", b"\r\nSubject:\r\n\t ", 1
    )
    assert checks_out(refolded, zone)


def test_unsigned_unless_asked(app, mailbox):
    sign(app.test_client())
    send_all_mail(app)
    [raw] = mailbox.raw
    assert b"DKIM-Signature" not in raw
    printed = app.test_cli_runner().invoke(args=["dkim-record"])
    assert printed.exit_code == 1 and "MAIL_DKIM_KEY_FILE" in printed.output


def start(tmp_path: Path, **settings: str) -> str:
    """What starting with these settings says: '' when it starts."""
    config = make_config(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", "console", **settings)
    try:
        create_app(config)
    except SystemExit as stop:
        return str(stop)
    return ""


def test_a_key_that_cannot_sign_stops_the_start_with_one_line(tmp_path):
    good = key_file(tmp_path, rsa.generate_private_key(public_exponent=65537, key_size=1024))
    assert start(tmp_path, MAIL_DKIM_KEY_FILE=good, MAIL_DKIM_SELECTOR=SELECTOR) == ""
    short = tmp_path / "short.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:512"]
        + ["-out", str(short)],
        check=True,
        capture_output=True,
    )
    elliptic = key_file(tmp_path, ec.generate_private_key(ec.SECP256R1()), "ec.pem")
    not_a_key = tmp_path / "notes.txt"
    not_a_key.write_text("selector rw2026\n")
    for settings, said in (
        ({"MAIL_DKIM_KEY_FILE": good}, "go together"),
        ({"MAIL_DKIM_SELECTOR": SELECTOR}, "go together"),
        ({"MAIL_DKIM_KEY_FILE": good, "MAIL_DKIM_SELECTOR": "rw 2026"}, "not a selector"),
        ({"MAIL_DKIM_KEY_FILE": str(short), "MAIL_DKIM_SELECTOR": SELECTOR}, "512-bit"),
        ({"MAIL_DKIM_KEY_FILE": elliptic, "MAIL_DKIM_SELECTOR": SELECTOR}, "not an RSA key"),
        ({"MAIL_DKIM_KEY_FILE": str(not_a_key), "MAIL_DKIM_SELECTOR": SELECTOR}, "not an"),
        ({"MAIL_DKIM_KEY_FILE": "/nowhere.pem", "MAIL_DKIM_SELECTOR": SELECTOR}, "cannot read"),
    ):
        stopped = start(tmp_path, **settings)
        assert said in stopped and "\n" not in stopped, (settings, stopped)
