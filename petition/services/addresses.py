"""Email addresses: validating what readers type and finding the mailbox behind it."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

# Providers that deliver `first.last@` and `firstlast@` to the same mailbox.
DOT_BLIND_DOMAINS = frozenset({"gmail.com"})
DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}


@dataclass(frozen=True)
class EmailAddress:
    address: str  # as typed, tidied: the domain in lower case and ASCII
    canonical: str  # one spelling per mailbox: the key for "one signature per person"


def parse_email(raw: str, internal: bool = False) -> EmailAddress:
    """Validate an address without network look-ups; raise ValueError with a reader's message.

    `internal` also accepts domains that only exist inside an organisation (staff accounts).
    """
    try:
        checked = validate_email(
            raw.strip(),
            check_deliverability=False,
            allow_smtputf8=False,
            allow_display_name=False,
            globally_deliverable=not internal,
        )
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    address = checked.ascii_email or checked.normalized
    return EmailAddress(address=address, canonical=canonical_email(address))


def canonical_email(address: str) -> str:
    """Lower-case, drop any `+tag`, and apply the provider's alias and dot rules."""
    local, _, domain = address.strip().rpartition("@")
    domain = DOMAIN_ALIASES.get(domain.lower(), domain.lower())
    local = local.lower().split("+", 1)[0]
    if domain in DOT_BLIND_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def masked_email(address: str) -> str:
    """An address as logs and staff lists keep it: enough to recognise, not enough to reuse."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"
