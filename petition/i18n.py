"""The languages the campaign speaks, and how a request says which one it wants.

The language is in the address, never in a cookie: `/uk/petitions/…` is the Ukrainian page,
`/petitions/…` the English one. A small WSGI middleware takes the prefix off the path and puts
it in SCRIPT_NAME, so every link the page builds (url_for) stays in the reader's language, and
caches (the micro-cache, browsers, CDNs) keep each language's page under its own address. The
JSON API takes `?lang=` instead, and says which language it answered in.

Adding a language: add it to LANGUAGES, `pybabel init -i petition/translations/messages.pot
-d petition/translations -l xx`, translate the new .po and compile it (README: Languages).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from babel import support
from flask import (
    Flask,
    Response,
    current_app,
    g,
    has_app_context,
    has_request_context,
    redirect,
    request,
)
from flask_babel import Babel, force_locale, get_locale, get_translations
from werkzeug.exceptions import HTTPException

ENVIRON_KEY = "petition.language"
ELSEWHERE_KEY = "petition.one_address"  # set on `/uk/admin/…` and the like: see to_one_address


@dataclass(frozen=True)
class Language:
    code: str  # the address prefix and gettext catalogue: "uk"
    tag: str  # <html lang>, hreflang: "en-GB"
    name: str  # in its own words, for the language switch
    og_locale: str  # Open Graph's form: "en_GB"
    english: str  # its name in English, for staff: "Ukrainian"
    # Letters in dictionary order, where code-point order is not it (Ukrainian's є, і, ї, ґ).
    alphabet: str = ""

    def sort_key(self, text: str) -> tuple[int, ...]:
        """A key that sorts names as this language's dictionaries do."""
        folded = text.casefold()
        if not self.alphabet:
            return tuple(map(ord, folded))
        return tuple(
            self.alphabet.index(ch) if ch in self.alphabet else 100 + ord(ch) for ch in folded
        )


LANGUAGES = {
    "en": Language("en", "en-GB", "English", "en_GB", "English"),
    "uk": Language(
        "uk", "uk", "Українська", "uk_UA", "Ukrainian", "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя"
    ),
}
DEFAULT = "en"
# Paths that are never in another language: the staff side, files, machine-readable answers.
NOT_TRANSLATED = ("/admin", "/static/", "/api/", "/metrics", "/healthz", "/readyz", "/media/")


class LanguagePrefix:
    """WSGI middleware: `/uk/…` → the app sees `…`, with `/uk` as its script root."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.prefixes = {f"/{code}": code for code in LANGUAGES if code != DEFAULT}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        head, _, rest = path[1:].partition("/")
        code = self.prefixes.get(f"/{head}")
        if code is not None:
            rest = f"/{rest}"
            environ["PATH_INFO"] = rest
            # Files, the API and the staff side have one address whatever the language:
            # under a prefix they send the reader there (`to_one_address`).
            if rest.startswith(NOT_TRANSLATED):
                environ[ELSEWHERE_KEY] = True
            else:
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + f"/{head}"
                environ[ENVIRON_KEY] = code
        return self.app(environ, start_response)


def to_one_address() -> Response | None:
    """`/uk/admin/…`, `/uk/static/…`, `/uk/api/…`: a permanent redirect (308, so a post stays a
    post) to the one address, where the staff side's cookie, caches and the API live."""
    if not request.environ.get(ELSEWHERE_KEY):
        return None
    return redirect(request.script_root + request.full_path.removesuffix("?"), 308)


def language_code() -> str:
    """Flask-Babel's locale selector: the address's prefix; for the API and oEmbed, `?lang=`;
    English otherwise (and outside requests). Code asks `current()`, which also knows the
    language an email is being rendered in."""
    if not has_request_context():
        return DEFAULT
    code = request.environ.get(ENVIRON_KEY)
    if code:
        return code
    if request.blueprint == "api" or request.path == "/oembed":
        # `?lang=` only: an answer that varied by Accept-Language under one address could be
        # served from a cache to someone who asked for another language.
        asked = request.args.get("lang", "")
        return asked if asked in LANGUAGES else DEFAULT
    return DEFAULT


def N_(message: str) -> str:  # noqa: N802 (gettext's own name for it)
    """Mark a message for translation where it is defined (a constant); it is translated
    where it is shown, `{{ _(message) }}`. pybabel extracts it (`-k N_`)."""
    return message


def first_we_speak(tags: Iterable[Any]) -> str:
    """The first of someone's language tags that we have a catalogue for, by its primary
    subtag (RFC 5646: "uk", "uk-UA", "UK"; "uk_UA" as some systems write it), or English."""
    for tag in tags:
        if isinstance(tag, str):
            code = tag.strip().replace("_", "-").partition("-")[0].lower()
            if code in LANGUAGES:
                return code
    return DEFAULT


def language_in(url: str) -> str:
    """The language of one of our addresses, by its prefix (`…/uk/petitions/…` → "uk")."""
    path = urlsplit(url.strip()[:2000]).path
    root = urlsplit(current_app.config["PUBLIC_URL"]).path.rstrip("/")
    head = path[len(root) :].lstrip("/").partition("/")[0] if path.startswith(root) else ""
    return head if head in LANGUAGES and head != DEFAULT else DEFAULT


def localized(written: dict[str, Any], language: str, fields: tuple[str, ...]) -> dict[str, Any]:
    """What staff wrote (a petition, the campaign, a news item) in `language` where they
    wrote it; `text_language` says which language each field is in (English where there is
    no translation yet)."""
    if language == DEFAULT:
        return written
    versions = written["translations"].get(language, {})
    found = {field: versions[field] for field in fields if versions.get(field)}
    if not found:
        return written
    languages = {**written["text_language"], **dict.fromkeys(found, language)}
    return {**written, **found, "text_language": languages}


def written_in(
    text: str, translations: dict[str, dict[str, str]] | None, language: str, field: str
) -> str:
    """One field of what staff wrote, in `language` where they wrote it, else the English."""
    return ((translations or {}).get(language) or {}).get(field) or text


# Where a context keeps the language it speaks and that language's messages, once looked up.
SPEAKING = "petition_speaking"


def current() -> Language:
    """The language being spoken now: the request's, or the one an email is rendered in."""
    return _speaking()[0]


def catalogue() -> support.NullTranslations:
    """The messages of the language being spoken."""
    return _speaking()[1]


NO_CATALOGUE = support.NullTranslations()
NOT_SPEAKING = (LANGUAGES[DEFAULT], NO_CATALOGUE)


def _speaking() -> tuple[Language, support.NullTranslations]:
    """The language being spoken and its messages, remembered for the context (a request, a
    worker's job) until `speaking` changes it: Flask-Babel's own lookup, made for every
    message, cost about 5 µs, and a page says a hundred messages, an email thirty. Catalogues
    are remembered per app and language, as Flask-Babel loaded them."""
    if not has_app_context():
        return NOT_SPEAKING
    found = getattr(g, SPEAKING, None)
    if found is None:
        locale = get_locale()
        language = LANGUAGES.get(locale.language if locale else DEFAULT, LANGUAGES[DEFAULT])
        known = current_app.extensions["petition_catalogues"]
        messages = known.get(language.code)
        if messages is None:
            messages = known[language.code] = get_translations()
        found = (language, messages)
        setattr(g, SPEAKING, found)
    return found


@contextmanager
def speaking(code: str) -> Iterator[None]:
    """Speak another language for a while (an email in its signer's language): Flask-Babel's
    force_locale, for its own lookups, and ours. Code changes language only through here."""
    if not has_app_context():
        yield
        return
    saved = g.pop(SPEAKING, None)
    try:
        with force_locale(code):
            yield
    finally:
        g.pop(SPEAKING, None)
        if saved is not None:
            setattr(g, SPEAKING, saved)


def gettext(string: str, **variables: Any) -> str:
    """A message in the language being spoken, with `variables` put in (as Flask-Babel's)."""
    text = catalogue().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, /, **variables: Any) -> str:
    """The form of a message for `num` in the language being spoken (as Flask-Babel's); a
    `num` among the variables (the number as shown, "12 345") takes its place in the text."""
    variables.setdefault("num", num)
    return catalogue().ungettext(singular, plural, num) % variables


def address_in(code: str) -> str:
    """This page's address in another language (the switch and hreflang links): its path
    only, since a query may carry something personal (a signer's own thanks link)."""
    prefix = "" if code == DEFAULT else f"/{code}"
    return current_app.config["PUBLIC_URL"] + prefix + _readable_path()


def _readable_path() -> str:
    """This page's path, or, for a page answering a form posted to an address that takes only
    posts (a sign form with a mistake in it), the nearest address above it that can be read:
    the petition's page, not a link to "method not allowed"."""
    path = request.path
    if request.method in ("GET", "HEAD"):
        return path
    adapter = current_app.url_map.bind("localhost")
    while path not in ("", "/"):
        try:
            adapter.match(path, method="GET")
            return path
        except HTTPException:  # only posted to, or no page at all: look above it
            path = path.rsplit("/", 1)[0]
    return "/"


def init_i18n(app: Flask) -> None:
    Babel(
        app,
        locale_selector=language_code,
        default_translation_directories="translations",
        default_domain="messages",
    )
    app.extensions["petition_catalogues"] = {}
    # Templates' messages through the same remembered catalogues (Jinja's public way to say
    # which functions `_` and `ngettext` call; Flask-Babel put its own there a line ago).
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: catalogue().ugettext(s),
        ngettext=lambda s, p, n: catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalogue().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.wsgi_app = LanguagePrefix(app.wsgi_app)  # type: ignore[method-assign]
    app.before_request(to_one_address)

    @app.context_processor
    def languages() -> dict[str, Any]:
        return {"languages": LANGUAGES, "language": current(), "address_in": address_in}
