"""Email addresses: validating what readers type and finding the mailbox behind it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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


# Where most readers' mail lives: a domain one or two keystrokes from one of these, that is not
# one of them, is probably a slip of the finger (gmial.com, hotmial.co.uk, yaho.com, outlok.com).
COMMON_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "outlook.com",
        "live.com",
        "live.co.uk",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "icloud.com",
        "me.com",
        "aol.com",
        "btinternet.com",
        "sky.com",
        "virginmedia.com",
        "talktalk.net",
        "protonmail.com",
        "proton.me",
        "ukr.net",
        "gmx.com",
        "mail.com",
        "ymail.com",
    }
)
# Endings typed for .com and .co.uk.
ENDING_SLIPS = {
    "con": "com",
    "cmo": "com",
    "ocm": "com",
    "comm": "com",
    "vom": "com",
    "xom": "com",
    "co.uj": "co.uk",
    "co.ul": "co.uk",
    "couk": "co.uk",
    "co.k": "co.uk",
    "uk.co": "co.uk",
}


def suggested_address(address: str) -> str | None:
    """What the reader probably meant, when the domain looks like a slip: `someone@gmial.com`
    → `someone@gmail.com`. None when it looks right (or like nothing we know)."""
    local, _, domain = address.rpartition("@")
    meant = _meant_domain(domain.lower()) if local else None
    return f"{local}@{meant}" if meant else None


@lru_cache(maxsize=10_000)
def _meant_domain(domain: str) -> str | None:
    """The common domain a typed one is a slip for, if any (remembered: domains repeat)."""
    if domain in COMMON_DOMAINS:
        return None
    name, _, ending = domain.partition(".")
    fixed = f"{name}.{ENDING_SLIPS.get(ending, ending)}"
    if fixed in COMMON_DOMAINS:
        return fixed
    # Only domains of about the same length can be a slip or two away.
    near = [known for known in COMMON_DOMAINS if abs(len(known) - len(fixed)) <= 2]
    if not near:
        return None
    best = min(near, key=lambda known: (_distance(fixed, known), known))
    distance = _distance(fixed, best)
    same_provider = best.partition(".")[0] == name
    # One slip in a short domain, two in a longer one; never a different country's domain
    # of the same provider (yahoo.fr is real), which differs in its ending alone.
    if not same_provider and distance <= (1 if len(best) < 9 else 2):
        return best
    # The right provider with a mangled ending (gmail.co, hotmail.co.k).
    if same_provider and distance <= 1:
        return best
    return None


def _distance(a: str, b: str) -> int:
    """Edits between two strings, a swap of neighbours counting as one (optimal string
    alignment distance)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, y in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def masked_email(address: str) -> str:
    """An address as logs and staff lists keep it: enough to recognise, not enough to reuse."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"
