"""Bounces that arrive later, by email: a relay that took a message and could not deliver it.

A relay that accepts every message (the usual smarthost) learns only afterwards that an address
does not exist, and says so in a delivery status notification (RFC 3464) sent to the message's
envelope sender. With MAIL_BOUNCE_ADDRESS set, each message goes out with an envelope sender of
its own (VERP): `bounces+<token>@domain`, the token a keyed hash of the recipient and the lane.
Deliver that address's mail to `flask --app app bounce` (a Postfix pipe, a procmail or fetchmail
rule): a notification that a message failed for good because of its address puts the address on
the suppression list, exactly as a refusal while sending does.

The token is what makes a notification believable: only we can make it for an address, so
nobody can mail us a forged bounce to stop someone else's mail. A notification whose token does
not match its failed address, a delay (4.x.x), a refusal about us or the message (5.7.1), an
auto-reply or anything else is left alone.
"""

from __future__ import annotations

import email
import hashlib
import hmac
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from typing import cast

from flask import current_app

from petition.extensions import db
from petition.mail import suppression
from petition.mail.transport import ADDRESS_CODES
from petition.services.addresses import canonical_email, masked_email
from petition.services.errors import LinkInvalid

TOKEN_LENGTH = 20  # hex: 80 bits, and `bounces+` + lane + token stays within 64 characters
LOCAL_PART_ROOM = 64 - 2 - TOKEN_LENGTH
STATUS = re.compile(r"\d\.\d{1,3}\.\d{1,3}")
STOP_LINK = re.compile(r"/signatures/stop-updates/([A-Za-z0-9_.-]{1,100})>")


def return_path(recipient: str, lane: int) -> str:
    """The envelope sender for a message to `recipient`: where its bounce will come back."""
    local, _, domain = current_app.config["MAIL_BOUNCE_ADDRESS"].rpartition("@")
    return f"{local}+{lane}{_token(current_app.config['EMAIL_HASH_KEY'], recipient, lane)}@{domain}"


def _token(key: str, recipient: str, lane: int) -> str:
    message = f"bounce:{lane}:{canonical_email(recipient)}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:TOKEN_LENGTH]


@dataclass(frozen=True)
class Failed:
    """One recipient a notification says failed, as it says it."""

    address: str
    status: str
    diagnostic: str


def _report_type(message: EmailMessage) -> str:
    if message.get_content_type() != "multipart/report":
        return ""
    return str(message.get_param("report-type", "")).lower()


def failures(message: EmailMessage) -> list[Failed]:
    """The recipients a delivery status notification reports as failed (Action: failed)."""
    if _report_type(message) != "delivery-status":
        return []
    found = []
    for part in message.walk():
        blocks = part.get_payload()
        if part.get_content_type() != "message/delivery-status" or not isinstance(blocks, list):
            continue
        # The first block is about the message; each later one about a recipient.
        for block in blocks[1:]:
            action = str(block.get("Action", "")).strip().lower()
            status = STATUS.search(str(block.get("Status", "")))
            kind, _, address = str(block.get("Final-Recipient", "")).partition(";")
            if action != "failed" or not status or kind.strip().lower() != "rfc822":
                continue
            diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
            found.append(Failed(address.strip().strip("<>"), status.group(0), diagnostic))
    return found


def take(raw: bytes, recipient: str | None = None) -> list[str]:
    """Act on a message that came back to a bounce address (committed); what was done, a line
    each. `recipient` is the address it was delivered to, when the delivery agent says so
    (else the notification's own Delivered-To, X-Original-To or To)."""
    # policy.default parses into EmailMessage (the stubs say only Message).
    message = cast(EmailMessage, email.message_from_bytes(raw, policy=policy.default))
    if _report_type(message) == "feedback-report":
        return [complaint(message)]
    failed = failures(message)
    if not failed:
        return ["not a notification of a failed delivery: left alone"]
    returned_to = [recipient] if recipient else _delivered_to(message)
    tokens = [token for token in map(_token_in, returned_to) if token]
    done = []
    for failure in failed:
        masked = masked_email(canonical_email(failure.address))
        lane = _lane_of(failure.address, tokens)
        if lane is None:
            done.append(f"{masked}: not a message we sent to that address: left alone")
        elif not ADDRESS_CODES.fullmatch(failure.status):
            done.append(f"{masked}: {failure.status} is not about the address: left alone")
        else:
            reason = f"{failure.status} {failure.diagnostic}".strip()
            suppression.suppress(failure.address, f"bounced later: {reason}", lane)
            done.append(f"{masked}: suppressed ({failure.status})")
    db.session.commit()
    return done


def _lane_of(address: str, tokens: list[str]) -> int | None:
    """The lane of the message to `address` that one of these tokens came back from (made with
    the current EMAIL_HASH_KEY or an older one), or None if none was made for it."""
    config = current_app.config
    for token in tokens:
        lane = int(token[0])
        for key in (config["EMAIL_HASH_KEY"], *config["EMAIL_HASH_KEY_FALLBACKS"]):
            if hmac.compare_digest(token[1:], _token(key, address, lane)):
                return lane
    return None


def complaint(message: EmailMessage) -> str:
    """A mailbox provider's report that a reader marked our mail as spam (ARF, RFC 5965, from
    a feedback loop such as Yahoo's or Microsoft's): the reported message's own stop link stops
    their updates, as if they had pressed it. Only we can make such a link, so a forged report
    can stop nobody's mail but the forger's; a report on mail without one (a confirmation, where
    the address is usually blanked out) is left alone."""
    feedback = next(
        (p for p in message.walk() if p.get_content_type() == "message/feedback-report"), None
    )
    payload = feedback.get_payload() if feedback is not None else None
    fields = payload[0] if isinstance(payload, list) and payload else {}
    kind = str(fields.get("Feedback-Type", "")).strip().lower()
    if kind != "abuse":
        return f"a feedback report of type {kind or 'unknown'!r}: left alone"
    # The service that owns stopping updates (and calls on mail to send them).
    from petition.services import signatures

    token = _stop_token_in(message)
    if token is None:
        return "a spam complaint about mail with no stop link of ours: left alone"
    try:
        link = signatures.stop_updates_after_complaint(token)
    except LinkInvalid:
        return "a spam complaint with a stop link that is not ours: left alone"
    return f"a spam complaint: updates stopped for a signer of {link.petition_slug!r}"


def _stop_token_in(report: EmailMessage) -> str | None:
    """The token of the stop link in the reported message's List-Unsubscribe header (it comes
    back whole, as message/rfc822, or as its headers, text/rfc822-headers)."""
    for part in report.walk():
        kind, payload = part.get_content_type(), part.get_payload()
        if kind == "message/rfc822" and isinstance(payload, list) and payload:
            text = str(payload[0].get("List-Unsubscribe", ""))
        elif kind == "text/rfc822-headers":
            text = part.get_payload(decode=True).decode("ascii", "replace")
        else:
            continue
        found = STOP_LINK.search(text)
        if found:
            return found.group(1)
    return None


def _delivered_to(message: EmailMessage) -> list[str]:
    names = ("Delivered-To", "X-Original-To", "To")
    headers = [str(value) for name in names for value in message.get_all(name, [])]
    return [address for _, address in getaddresses(headers) if address]


def _token_in(address: str) -> str | None:
    """`1ab12…` from `bounces+1ab12…@domain`, if the address is our bounce address's."""
    local, _, domain = parseaddr(address)[1].rpartition("@")
    ours_local, _, ours_domain = current_app.config["MAIL_BOUNCE_ADDRESS"].rpartition("@")
    base, plus, token = local.partition("+")
    if (
        plus
        and base.lower() == ours_local.lower()
        and domain.lower() == ours_domain.lower()
        and re.fullmatch(rf"\d[0-9a-f]{{{TOKEN_LENGTH}}}", token.lower())
    ):
        return token.lower()
    return None
