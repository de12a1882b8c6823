"""Jinja filters and globals shared by every template."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, get_group_symbol
from flask import Flask, current_app
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from petition import i18n
from petition.forms import country_choices
from petition.i18n import gettext, ngettext
from petition.models import display_goal
from petition.security import form_tokens
from petition.services import articles, donations, fundraiser, images, names, stripe_gateway
from petition.sharing import share_links, tagged
from petition.urls import external_url, site_path


def pounds_exact(minor: int | None) -> str:
    """Pence as pounds and pence: 1000 → £10.00."""
    return f"£{(minor or 0) / 100:,.2f}"


def donate_token() -> str:
    return form_tokens.issue("donate", "donate")


def long_date(value: str | date | None) -> str:
    """2022-03-24 → 24 March 2022."""
    if not value:
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    language = i18n.current()
    if language.code == i18n.DEFAULT:
        return f"{day.day} {day:%B %Y}"
    return format_date(day, "d MMMM y", locale=language.og_locale)


def last_day(closes_at: str) -> str:
    """A closing moment (the instant after its last day, as the admin form sets it) → that day."""
    moment = datetime.fromisoformat(closes_at) - timedelta(microseconds=1)
    return long_date(moment.date())


def paragraphs(text: str) -> list[str]:
    """Plain text typed by staff, as paragraphs: blank lines separate them."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def thousands(value: int | None) -> str:
    """12345 → "12,345" in English, "12 345" in Ukrainian (Babel's CLDR data)."""
    locale = i18n.current().og_locale
    separator = _group_separator(locale)
    if separator is None:
        return format_decimal(value or 0, locale=locale)
    return f"{value or 0:,}".replace(",", separator)


@cache
def _group_separator(locale: str) -> str | None:
    """The language's thousands separator, if it groups whole numbers in threes as Python's
    `,` format does (checked against Babel once); None where only Babel says it rightly.
    Babel's format_decimal costs a page with a few counts a millisecond or more."""
    separator = get_group_symbol(locale)
    samples = (0, 7, 999, 1000, 1234, 12345, 123456, 1234567, 98765432)
    if all(f"{n:,}".replace(",", separator) == format_decimal(n, locale=locale) for n in samples):
        return separator
    return None


def pounds(minor: int | None) -> str:
    """Pence as pounds: 1000 → £10, 1250 → £12.50."""
    minor = minor or 0
    return f"£{minor // 100:,}" if minor % 100 == 0 else f"£{minor / 100:,.2f}"


@cache
def _asset_version(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def asset_url(filename: str) -> str:
    """A static file's address with a content hash, so it can be cached for a year."""
    version = _asset_version(str(Path(current_app.static_folder or "") / filename))
    # One address in every language, so switching languages fetches nothing again.
    return site_path("static", filename=filename, v=version)


@cache
def _country_names(language: str) -> dict[str, str]:
    return dict(country_choices())


def country_name(code: str) -> str:
    """A country's name in the language being spoken."""
    return _country_names(i18n.current().code).get(code, code)


def count_words() -> dict[str, Any]:
    """What site.js needs to say a count in the page's language: the word for each plural
    category (by a number that falls in it), and the sentences it fills in, those about the
    signatures awaiting confirmation in each category too ("1 чекає", "2 чекають")."""
    samples = {"one": 1, "few": 2, "many": 5, "other": 5}

    def each(singular: str, plural: str, **values: str) -> dict[str, str]:
        return {c: ngettext(singular, plural, n, **values) for c, n in samples.items()}

    return {
        **each("signature", "signatures"),
        "awaiting": each(
            "%(num)s awaiting confirmation", "%(num)s awaiting confirmation", num="{n}"
        ),
        "under": gettext("Under 1%"),
        "bar": each(
            "%(done)s of the way to the goal of %(goal)s signatures; "
            "%(pending)s more awaiting confirmation",
            "%(done)s of the way to the goal of %(goal)s signatures; "
            "%(pending)s more awaiting confirmation",
            done="{done}",
            goal="{goal}",
            pending="{pending}",
        ),
    }


def text_lang(snapshot: dict[str, Any], field: str) -> Markup:
    """` lang="en-GB"` where what staff wrote is shown in another language than the page's
    (no translation yet), so screen readers pronounce it rightly; nothing otherwise."""
    written = snapshot.get("text_language", {}).get(field, i18n.DEFAULT)
    if written == i18n.current().code:
        return Markup("")
    return Markup(' lang="%s"') % i18n.LANGUAGES[written].tag


def english(text: str) -> Markup:
    """What the operator wrote in English (our organisation's name, a publisher's), marked as
    English on a page in another language, so screen readers say it rightly."""
    if i18n.current().code == i18n.DEFAULT:
        return Markup("%s") % text
    return Markup('<span lang="en-GB">%s</span>') % text


def strong(text: str) -> Markup:
    """Words in bold inside a translated sentence (the sentence keeps its own word order)."""
    return Markup("<strong>%s</strong>") % text


def widget_words() -> dict[str, str]:
    """What widget.js says, in the widget page's language (the words for a count too)."""
    return {
        **{key: value for key, value in count_words().items() if key not in ("bar", "under")},
        "copyIntro": gettext("If these links do not open here, copy an address:"),
        "copyLabel": gettext("address to copy"),
        "counted": gettext("Thank you: your signature is counted"),
        "useSuggested": gettext("Yes, use %(address)s", address="{address}"),
        "keepTyped": gettext("No, %(address)s is right", address="{address}"),
        "sending": gettext("Sending…"),
        "sentTo": gettext(" to %(address)s", address="{address}"),
        "tooMany": gettext(
            "That has been sent many times in a short while. Please wait a minute and try again."
        ),
        "expired": gettext("This form has expired. Please reload the page and try again."),
        "failed": gettext("Something went wrong. Please try again in a moment."),
        "offline": gettext("We could not reach the petition. Check your connection and try again."),
        "sign": gettext("Sign the petition"),
    }


def words_json(kind: str) -> Markup:
    """The words a page's script needs ("count" for site.js, "widget" for widget.js), as a
    data attribute's JSON: the same on every page in a language, so worked out once per
    language in each process (per app: tests run apps with other catalogues side by side)."""
    made = current_app.extensions.setdefault("words_json", {})
    key = (kind, i18n.current().code)
    found = made.get(key)
    if found is None:
        found = made[key] = json_attribute({"count": count_words, "widget": widget_words}[kind]())
    return found


def json_attribute(value: Any) -> Markup:
    """JSON for a single-quoted HTML attribute, as compact as it can be: text as it is (not
    backslash-u escapes), with only the characters HTML cares about escaped (as Flask's tojson,
    which would escape every Cyrillic letter into six bytes)."""
    return htmlsafe_json_dumps(value, dumps=json.dumps, ensure_ascii=False, separators=(",", ":"))


def percent(count: int, goal: int) -> str:
    """How far along the goal is, as a reader would say it.

    Rounded down, so the goal is never "100%" before it is reached, and never "0%" once
    somebody has signed. site.js says the same when it refreshes a count.
    """
    if count <= 0 or goal <= 0:
        return "0%"
    if count * 100 < goal:
        return gettext("Under 1%")
    return f"{min(100, count * 100 // goal)}%"


def init_templating(app: Flask) -> None:
    env = app.jinja_env
    env.trim_blocks = True
    env.lstrip_blocks = True
    env.filters.update(
        thousands=thousands,
        pounds=pounds,
        pounds_exact=pounds_exact,
        long_date=long_date,
        last_day=last_day,
        paragraphs=paragraphs,
        json_attribute=json_attribute,
        greeting=names.greeting,
        english=english,
    )
    env.globals.update(
        asset_url=asset_url,
        accepting_donations=donations.accepting_donations,
        card_payments_enabled=stripe_gateway.card_payments_enabled,
        donate_token=donate_token,
        donation_presets=donations.PRESET_POUNDS,
        donation_summary=donations.summary,
        latest_articles=articles.published,
        fundraiser_url=fundraiser.fundraiser_url,
        country_choices=country_choices,
        country_name=country_name,
        display_goal=display_goal,
        external_url=external_url,
        largest_picture_url=images.largest_url,
        site_path=site_path,
        percent=percent,
        words_json=words_json,
        strong=strong,
        text_lang=text_lang,
        language_tag=lambda: i18n.current().tag,
        share_links=share_links,
        tagged=tagged,
    )


def compile_templates(app: Flask) -> int:
    """Compile every template now, so a new web process's first readers do not wait for it
    (a process compiling a page under load held its first requests up by tens of ms, and
    gunicorn starts new ones every `max_requests`). How many were compiled."""
    env = app.jinja_env
    names = env.list_templates(extensions=("html", "txt", "xml"))
    for name in names:
        env.get_template(name)
    return len(names)
