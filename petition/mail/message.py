"""An outbox row turned into the email a mail server receives."""

from __future__ import annotations

import hashlib
import hmac
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from flask import current_app, render_template

from petition.models import utcnow

# Headers we set ourselves with `set_raw` are written exactly as given: a List-Unsubscribe
# address longer than a folded line stays one bare `<URI>` (RFC 2369 and 8058 want it so;
# mailbox providers ignore the RFC 2047-encoded form the default policy writes). Every other
# header is folded and encoded as usual.
POLICY = policy.SMTP.clone(refold_source="none")


def build_email(
    *,
    message_id: int,
    kind: str,
    to_address: str,
    subject: str,
    context: dict[str, Any],
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    config = current_app.config
    sender_name, sender = parseaddr(config["MAIL_FROM"])
    domain = sender.rpartition("@")[2] or "localhost"
    email = EmailMessage(policy=POLICY)
    email["From"] = Address(display_name=sender_name, addr_spec=sender)
    email["To"] = Address(addr_spec=to_address)
    email["Subject"] = subject
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = f"<{_message_key(message_id)}@{domain}>"
    email["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url is not None:
        if any(ch in unsubscribe_url for ch in "\r\n<>"):
            raise ValueError("an unsubscribe address must be a plain URL")
        context = {**context, "stop_updates_url": unsubscribe_url}
        email.set_raw("List-Unsubscribe", f"<{unsubscribe_url}>")
        email.set_raw("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    email.set_content(render_template(f"emails/{kind}.txt", **context))
    email.add_alternative(
        render_template(f"emails/{kind}.html", subject=subject, **context), subtype="html"
    )
    return email


def _message_key(message_id: int) -> str:
    """The same Message-ID on any resend (a mailbox can drop a duplicate after a crash), but
    one that tells nobody how many emails we have sent."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"outbox:{message_id}".encode(), hashlib.sha256).hexdigest()[:32]
