"""DKIM signatures (RFC 6376) on our own mail, for a relay that does not sign it.

Mailbox providers believe a message's From only when a DKIM signature for its domain holds
(DMARC), and honour one-click unsubscribe only when that signature covers List-Unsubscribe and
List-Unsubscribe-Post (RFC 8058). A mail service's relay usually signs for its customers; a
plain relay (the newspaper's own Postfix) does not. Then set MAIL_DKIM_KEY_FILE and
MAIL_DKIM_SELECTOR, and publish the record `flask --app app dkim-record` prints.

Written here rather than taken from a library: we build every message ourselves, so its headers
are known, and the one library (dkimpy, which the tests verify with) does RSA in Python at
13 ms a message against OpenSSL's one. Canonicalisation is relaxed/relaxed, so a relay that
refolds a header does not break the signature; every signed header is listed once more than it
occurs, so nobody can add a second From or a List-Unsubscribe of their own and keep it
(RFC 6376 §8.15).
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# What a reader's mail program shows, and what says where the message leads.
SIGNED = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "auto-submitted",
    "mime-version",
    "content-type",
)
SELECTOR = re.compile(
    r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$", re.IGNORECASE
)
MIN_BITS = 1024  # RFC 8301: verifiers refuse shorter keys (2048 is what to generate)
FOLD = b"\r\n "
WSP = re.compile(rb"[ \t]+")
UNFOLD = re.compile(rb"\r\n(?=[ \t])")


@dataclass(frozen=True)
class DkimKey:
    """A domain's signing key, found in DNS at `selector._domainkey.domain`."""

    domain: str
    selector: str
    key: rsa.RSAPrivateKey

    def sign(self, message: bytes) -> bytes:
        """The message with a DKIM-Signature header in front of it."""
        head, _, body = message.partition(b"\r\n\r\n")
        fields = _fields(head)
        occurs = Counter(name for name, _ in fields)
        names = [name for name in SIGNED for _ in range(occurs[name] + 1)]
        body_hash = base64.b64encode(hashlib.sha256(_relaxed_body(body)).digest()).decode()
        listed = [""]
        for name in names:  # lines under 78 characters, as mail programs write them
            if len(listed[-1]) + len(name) > 66:
                listed.append("")
            listed[-1] += f"{':' if listed[-1] else ''}{name}"
        unsigned = " " + "\r\n ".join(
            (
                "v=1; a=rsa-sha256; c=relaxed/relaxed;",
                f"d={self.domain}; s={self.selector}; t={int(time.time())};",
                "h=" + ":\r\n ".join(listed) + ";",
                f"bh={body_hash};",
                "b=",
            )
        )
        signed = b"".join(_relaxed_field(field) for field in _chosen(fields, names))
        header = b"DKIM-Signature:" + unsigned.encode("ascii")
        # The signature's own header is signed with b= empty, without its line end.
        signed += _relaxed_field(header).removesuffix(b"\r\n")
        signature = self.key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
        encoded = base64.b64encode(signature)
        folded = FOLD.join(encoded[i : i + 72] for i in range(0, len(encoded), 72))
        return header + folded + b"\r\n" + message

    def dns_record(self) -> tuple[str, str]:
        """Where to publish the public key, and the TXT record's text."""
        public = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        name = f"{self.selector}._domainkey.{self.domain}"
        return name, f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}"


def load_key(path: str, selector: str, domain: str) -> DkimKey:
    """The key in a PEM file (as `openssl genpkey` writes it); raises ValueError saying what is
    wrong with it."""
    if not SELECTOR.match(selector):
        raise ValueError(f"{selector!r} is not a selector: letters, digits and hyphens")
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ValueError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA key (rsa-sha256 is what every verifier knows)")
    if key.key_size < MIN_BITS:
        raise ValueError(f"{path} is a {key.key_size}-bit key: verifiers refuse under {MIN_BITS}")
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError(f"MAIL_FROM's domain {domain!r} is not a domain to sign for") from None
    return DkimKey(ascii_domain, selector, key)


def _fields(head: bytes) -> list[tuple[str, bytes]]:
    """The header fields, each with its folded lines and its name, top to bottom."""
    fields: list[bytes] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\r\n" + line
        else:
            fields.append(line)
    return [(f.partition(b":")[0].strip().lower().decode("ascii", "replace"), f) for f in fields]


def _chosen(fields: list[tuple[str, bytes]], names: list[str]) -> list[bytes]:
    """The field each listed name signs: its instances from the bottom up (RFC 6376 §5.4.2);
    a name listed once more than it occurs signs nothing, so none can be added."""
    remaining = list(fields)
    chosen = []
    for name in names:
        for index in range(len(remaining) - 1, -1, -1):
            if remaining[index][0] == name:
                chosen.append(remaining.pop(index)[1])
                break
    return chosen


def _relaxed_field(field: bytes) -> bytes:
    name, _, value = field.partition(b":")
    value = WSP.sub(b" ", UNFOLD.sub(b"", value)).strip(b" ")
    return name.strip().lower() + b":" + value + b"\r\n"


def _relaxed_body(body: bytes) -> bytes:
    """Runs of spaces and tabs as one space, none at a line's end, no empty lines at the end."""
    body = WSP.sub(b" ", body).replace(b" \r\n", b"\r\n").rstrip(b"\r\n ")
    return body + b"\r\n" if body else b""
