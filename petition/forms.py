"""Public forms (no session, no cookie), shared by the page, widget and API; what they are made
of is in petition.public_forms."""

from __future__ import annotations

import gettext
import ipaddress
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import pycountry
from flask_babel import lazy_gettext as _l

from petition import i18n
from petition.i18n import gettext as _
from petition.public_forms import Field, Input, PublicForm, ValidationError, checkbox, hidden
from petition.services import names
from petition.services.addresses import parse_email, suggested_address
from petition.services.donations import parse_amount
from petition.services.errors import InvalidInput
from petition.services.signatures import Details
from petition.services.signing import Attribution, SignatureEntry

UK_POSTCODE = re.compile(r"^(GIR ?0AA|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})$")
SOURCE = re.compile(r"^[a-z0-9][a-z0-9:._/-]{0,119}$")
HOST = re.compile(r"^[a-z0-9.-]{1,253}(:[0-9]{1,5})?$")
UTM = re.compile(r"^[\w .:/-]{1,100}$")
PARTNER = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")


def country_choices() -> tuple[tuple[str, str], ...]:
    """ISO 3166 countries by name in the reader's language, the United Kingdom first (most
    signers live there)."""
    return _countries_in(i18n.current().code)


@cache
def _countries_in(language: str) -> tuple[tuple[str, str], ...]:
    # pycountry carries the ISO names' translations (Debian's iso-codes) as gettext catalogues.
    names = {c.alpha_2: getattr(c, "common_name", c.name) for c in pycountry.countries}
    if language != i18n.DEFAULT:
        words = gettext.translation(
            "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
        )
        names = {code: words.gettext(name) for code, name in names.items()}
    order = i18n.LANGUAGES[language].sort_key
    rest = sorted((code for code in names if code != "GB"), key=lambda code: order(names[code]))
    return (("GB", names["GB"]), *((code, names[code]) for code in rest))


@cache
def country_codes() -> frozenset[str]:
    return frozenset(code for code, _ in _countries_in(i18n.DEFAULT))


# The signer's fields, made once in reading order: the sign and confirm forms share them (and
# their rules, below), and errors are listed in the order the fields appear on the page.
NAME = Input(
    required=_l("Enter your full name"),
    max_length=100,
    too_long=_l("Your name must be 100 characters or fewer"),
)
EMAIL = Input(
    required=_l("Enter your email address"),
    max_length=254,
    too_long=_l("Your email address must be 254 characters or fewer"),
)
# Checked against the set of codes (a list of 249 choices walked per request would cost more).
COUNTRY = Input(default="GB")
POSTCODE = Input(max_length=16, too_long=_l("Your postcode must be 16 characters or fewer"))
CONSENT = checkbox()
SHOW_PUBLICLY = checkbox()


class SignerRules:
    """Who a signer is, checked the same way when they sign and when they confirm."""

    name: Field
    country: Field
    postcode: Field
    consent_updates: Field
    show_publicly: Field

    def validate_name(self, field: Field) -> None:
        message = names.problem(field.data or "")
        if message:
            raise ValidationError(message)

    def validate_country(self, field: Field) -> None:
        # ISO codes are capitals, but a partner's system may send "gb": it means the same.
        code = field.data.upper() if isinstance(field.data, str) else field.data
        if code not in country_codes():
            raise ValidationError(_("Choose the country where you live from the list"))
        field.data = code  # before the postcode's rule (the next field) asks whether it is GB

    def validate_postcode(self, field: Field) -> None:
        value = " ".join((field.data or "").upper().split())
        if self.country.data == "GB":
            if not value:
                raise ValidationError(_("Enter your postcode (we only check you live in the UK)"))
            if not UK_POSTCODE.match(value):
                raise ValidationError(_("Enter a real UK postcode, like SW1A 1AA"))
            value = value.replace(" ", "")
            value = f"{value[:-3]} {value[-3:]}"
        elif value and not re.fullmatch(r"[A-Z0-9][A-Z0-9 -]*", value):
            raise ValidationError(_("Your postcode can only contain letters, numbers and spaces"))
        field.data = value or None

    def details(self) -> Details:
        return Details(
            name=self.name.data,
            country=self.country.data,
            postcode=self.postcode.data,
            consent_updates=bool(self.consent_updates.data),
            show_publicly=bool(self.show_publicly.data),
        )


class SignatureForm(SignerRules, PublicForm):
    name = NAME
    email = EMAIL
    country = COUNTRY
    postcode = POSTCODE
    consent_updates = CONSENT
    show_publicly = SHOW_PUBLICLY
    # The partner's own question, where the form came through a partner (`partner`).
    consent_partner = checkbox()
    # Hidden from people by the stylesheet; a bot that fills it in is politely ignored.
    website = Input(_l("Leave this field empty"), strip=False)
    form_token = hidden()
    # The reader's answer to "Did you mean …?": "suggested" takes the suggestion, "typed"
    # keeps the address as they typed it.
    email_choice = hidden()
    # What we think they meant, when the address looks like a slip (set by validation).
    email_suggestion: str | None = None

    def validate_email(self, field: Field) -> None:
        try:
            field.data = parse_email(field.data or "").address
        except ValueError:
            raise ValidationError(
                _("Enter an email address in the correct format, like name@example.com")
            ) from None
        suggestion = suggested_address(field.data)
        if suggestion is None or self.email_choice.data == "typed":
            return
        if self.email_choice.data == "suggested":
            field.data = parse_email(suggestion).address
            return
        self.email_suggestion = suggestion
        raise ValidationError(_("Did you mean %(address)s?", address=suggestion))

    def is_bot(self) -> bool:
        return bool(self.website.data)

    def entry(self) -> SignatureEntry:
        return SignatureEntry(
            name=self.name.data,
            email=self.email.data,
            postcode=self.postcode.data,
            country=self.country.data,
            consent_updates=bool(self.consent_updates.data),
            show_publicly=bool(self.show_publicly.data),
            language=i18n.current().code,
            consent_partner=bool(self.consent_partner.data),
        )


class ConfirmForm(SignerRules, PublicForm):
    """The confirm page: the owner of the address checks, and may correct, what is recorded.

    A POST without the page's fields (a bare POST of the link) confirms what is stored.
    """

    name = NAME
    country = COUNTRY
    postcode = POSTCODE
    consent_updates = CONSENT
    show_publicly = SHOW_PUBLICLY
    details_shown = hidden()

    def corrections(self) -> Details | None:
        return self.details() if self.details_shown.data else None


class PrivacyRequestForm(PublicForm):
    """A reader asking for a link to their own privacy page."""

    email = EMAIL
    website = Input(_l("Leave this field empty"), strip=False)
    form_token = hidden()

    def validate_email(self, field: Field) -> None:
        try:
            field.data = parse_email(field.data or "").address
        except ValueError:
            raise ValidationError(
                _("Enter an email address in the correct format, like name@example.com")
            ) from None


class DonationForm(PublicForm):
    """An amount in pounds; the rules for it live in the donations service."""

    amount = Input()
    source = hidden()
    form_token = hidden()

    def validate_amount(self, field: Field) -> None:
        try:
            self.amount_minor = parse_amount(field.data)
        except InvalidInput as exc:
            raise ValidationError(exc.errors["amount"]) from None

    def source_label(self, default: str) -> str:
        value = (self.source.data or "").strip().lower()
        return value if SOURCE.match(value) else default


def attribution(
    data: Mapping[str, Any], ip_address: str | None, default_source: str
) -> Attribution:
    """Where a signature came from: hidden form fields, tidied; anything odd is dropped."""

    def pick(name: str, pattern: re.Pattern[str], lower: bool = True) -> str | None:
        value = data.get(name)
        if not isinstance(value, str):
            return None
        value = value.strip().lower() if lower else value.strip()
        return value if pattern.match(value) else None

    return Attribution(
        source=pick("source", SOURCE) or default_source,
        referrer_host=pick("ref", HOST),
        utm_source=pick("utm_source", UTM, lower=False),
        utm_medium=pick("utm_medium", UTM, lower=False),
        utm_campaign=pick("utm_campaign", UTM, lower=False),
        ip_address=_valid_ip(ip_address),
        partner=pick("partner", PARTNER),
    )


def _valid_ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None
