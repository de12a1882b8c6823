"""An outbox row turned into the bytes a mail server receives.

Written out by hand, as a mail program does: the headers line by line, then a text part and an
HTML part, each UTF-8 in base64. The worker builds hundreds of messages a second, and the email
package's generator (even its classic classes) spent more time folding short ASCII headers than
the rest of sending put together. Every value is checked (or made one line) before it is
written; only long or non-ASCII headers go through the email package's Header, folded and
RFC 2047-encoded. The List-Unsubscribe headers are exactly as RFC 2369 and RFC 8058 want them:
one bare `<URI>` on one line (mailbox providers ignore the folded, encoded form).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from typing import Any

from flask import current_app, render_template

from petition import i18n
from petition.models import utcnow

CRLF = "\r\n"
PLAIN_URL = re.compile(r"^https?://[\x21-\x7e]+$")


@dataclass(frozen=True)
class Email:
    """A message ready for the wire: who it is from and to, and its bytes."""

    sender: str
    recipient: str
    data: bytes


def build_email(
    *,
    message_id: int,
    kind: str,
    to_address: str,
    subject: str,
    context: dict[str, Any],
    unsubscribe_url: str | None = None,
    envelope_sender: str | None = None,
) -> Email:
    """A message, its envelope sender MAIL_FROM's address unless another is given (where its
    bounces go)."""
    if not to_address or any(ch.isspace() or ch in "<>," for ch in to_address):
        raise ValueError(f"not a single address: {to_address!r}")
    config = current_app.config
    sender, from_header = _sender(config["MAIL_FROM"])
    domain = sender.rpartition("@")[2] or "localhost"
    extra = b""
    if unsubscribe_url is not None:
        if not PLAIN_URL.match(unsubscribe_url) or any(ch in unsubscribe_url for ch in "<>"):
            raise ValueError("an unsubscribe address must be a plain URL")
        context = {**context, "stop_updates_url": unsubscribe_url}
        extra = (
            f"List-Unsubscribe: <{unsubscribe_url}>\r\n"
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        ).encode("ascii")
    subject = " ".join(subject.split())  # one line, whatever it was given
    # In the language the reader signed in (the subject was written in it when queued).
    with i18n.speaking(context.get("language") or "en"):
        text = render_template(f"emails/{kind}.txt", **context)
        html = render_template(f"emails/{kind}.html", subject=subject, **context)
    # A boundary of our own: the parts are base64, which can never contain it.
    boundary = f"=_{secrets.token_hex(16)}"
    head = "".join(
        _header(name, value)
        for name, value in (
            ("From", from_header),
            ("To", to_address),
            ("Subject", subject),
            ("Date", format_datetime(utcnow())),
            ("Message-ID", f"<{_message_key(message_id)}@{domain}>"),
            ("Auto-Submitted", "auto-generated"),
            ("MIME-Version", "1.0"),
            ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        )
    )
    body = b"".join(
        (
            f"--{boundary}\r\n".encode(),
            _part("plain", text),
            f"--{boundary}\r\n".encode(),
            _part("html", html),
            f"--{boundary}--\r\n".encode(),
        )
    )
    data = extra + head.encode("ascii") + b"\r\n" + body
    dkim_key = current_app.extensions["dkim"]
    signed = dkim_key.sign(data) if dkim_key else data
    return Email(envelope_sender or sender, to_address, signed)


@lru_cache(maxsize=8)
def _sender(mail_from: str) -> tuple[str, str]:
    """MAIL_FROM's address, and the From header's value (the same for every message)."""
    name, address = parseaddr(mail_from)
    return address, formataddr((name, address), charset="utf-8")


def _header(name: str, value: str) -> str:
    """One header line: as it is when short and ASCII, else folded and RFC 2047-encoded."""
    if value.isascii() and len(name) + 2 + len(value) <= 78:
        return f"{name}: {value}\r\n"
    return _encoded(name, value)


@lru_cache(maxsize=512)
def _encoded(name: str, value: str) -> str:
    """Folding and encoding is slow, and most subjects (one per petition, kind and language)
    and the From header are the same for thousands of messages: each is encoded once."""
    charset = "us-ascii" if value.isascii() else "utf-8"
    return f"{name}: {Header(value, charset, header_name=name).encode(linesep=CRLF)}\r\n"


def _part(subtype: str, content: str) -> bytes:
    """A text part in UTF-8, base64-encoded in lines of 76 characters."""
    encoded = base64.encodebytes(content.encode("utf-8")).replace(b"\n", b"\r\n")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + encoded


def _message_key(message_id: int) -> str:
    """The same Message-ID on any resend (a mailbox can drop a duplicate after a crash), but
    one that tells nobody how many emails we have sent."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"outbox:{message_id}".encode(), hashlib.sha256).hexdigest()[:32]
