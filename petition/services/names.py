"""What a signer's name may be: a name, not a message.

A name is shown back in emails we send ("Hello …"), on exports handed to the government and,
one day, to other readers. A "name" carrying a link, an address or a sentence could make our
email say something we never said, so such names are refused at the door, and an email only
greets someone by a name that passes the same check.
"""

from __future__ import annotations

import re
import unicodedata

from petition.i18n import gettext as _

MAX_WORDS = 10
# A cell starting with one of these can run as a formula in a spreadsheet (OWASP CSV injection):
# no name may start with one, and exports defuse any other field that does.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Characters that reorder or hide text: bidi controls and invisible formatting. The joiners
# some scripts need inside names (ZWNJ, ZWJ) are allowed.
ALLOWED_FORMAT = frozenset({"\u200c", "\u200d"})
LINK = re.compile(r"(?i)(?:[a-z][a-z0-9+.-]*://|www\.|\bhttps?\b)")
# Something that reads as an internet address: a label, a dot, and a common or country top
# level domain, e.g. "evil.example", "bank-login.com", "x.co.uk".
DOMAIN = re.compile(
    r"(?i)\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|org|net|info|biz|io|co|app|dev|xyz|"
    r"top|site|online|club|link|click|live|shop|store|page|me|ly|gl|tk|ml|ga|cf|gq|ru|cn|"
    r"example|[a-z]{2})\b(?![\w'])"
)


def problem(name: str) -> str | None:
    """What is wrong with a name, as a message for the signer; None when it is fine."""
    if name.startswith(FORMULA_STARTS):
        return _("Your name cannot start with =, +, - or @")
    for ch in name:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs") or (category == "Cf" and ch not in ALLOWED_FORMAT):
            return _("Your name can only contain letters, spaces and punctuation")
    if not any(ch.isalpha() for ch in name):
        return _("Enter your full name, using letters")
    if "@" in name or LINK.search(name) or _looks_like_a_domain(name):
        return _("Enter just your name: no email or web addresses")
    if len(name.split()) > MAX_WORDS:
        return _("Enter just your name, in %(num)s words or fewer", num=MAX_WORDS)
    return None


def _looks_like_a_domain(name: str) -> bool:
    # Initials ("J.R.R. Tolkien") have one letter per part; a domain's labels are longer.
    return any(len(m.group(0).split(".")[-2]) > 1 for m in DOMAIN.finditer(name))


def greeting(name: str | None) -> str:
    """How an email greets someone: by name only if it is plainly a name."""
    if name and problem(name) is None:
        return _("Hello %(name)s,", name=name)
    return _("Hello,")


def first_name(name: str | None) -> str | None:
    """How a signer who asked to be shown appears to other readers: the first word of their
    name, and only if the name passes the same check (so the page never shows a message)."""
    if not name or problem(name) is not None:
        return None
    first = name.split()[0].strip(",.;")
    return first[:30] if any(ch.isalpha() for ch in first) else None


def given_and_family(name: str | None) -> tuple[str, str]:
    """A full name as CRMs want it: "Olena Kovalenko" → ("Olena", "Kovalenko"). The last word
    is the family name; one word is a given name alone."""
    given, _, family = (name or "").strip().rpartition(" ")
    return (given, family) if given else (family, "")
