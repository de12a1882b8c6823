"""A pseudo-locale: every translated message turned into visibly different letters ("Sign" →
"Şīɠƞ"), served as the Ukrainian catalogue. Any plain English word left on a page in it was
never wrapped for translation. Every public page and state is rendered in it; English that is
meant to be there (what staff have not translated yet, a signer's own name, the switch to
English) must say so with lang="en-GB", or be a name listed here."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from petition.mail import deliver_due
from tests.factories import SLUG, TOKEN_FIELD, form_token, links_in, signature_for, signer

ROOT = Path(__file__).resolve().parent.parent
PLAIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
MARKED = "ȧƀƈḓḗƒɠħīĵķŀḿƞǿƥɋřşŧŭṽẇẋẏẑȦƁƇḒḖƑƓĦĪĴĶĿḾȠǾƤɊŘŞŦŬṼẆẊẎẐ"
PSEUDO = str.maketrans(PLAIN, MARKED)
# What a translation keeps as it is: placeholders, markup, character references.
KEPT = re.compile(r"(%\(\w+\)[sd]|%%|\{\w+\}|<[^>]+>|&#?\w+;)")

# Words that are the same in every language: names, and what readers type or copy.
NAMES = {
    "Refugees",  # the campaign's name, "Refugees Welcome", as staff write it
    "Welcome",
    "GoFundMe",
    "Stripe",
    "Mastodon",
    "Bluesky",
    "WhatsApp",
    "Facebook",
    "Threads",
    "LinkedIn",
    "Telegram",
    "Reddit",
    "Email",  # the share button's service name, as on the others
    "Twitter",  # "X (Twitter)"
    "UTC",
    "SHA",
    "CSV",
    "JSON",
    "HTML",
    "URL",
    "WCAG",
    "AA",
    "UK",
    "GB",
    "Ltd",  # the organisation's registered name, from configuration
}


def pseudo(message: str) -> str:
    return "".join(
        part if KEPT.fullmatch(part) else part.translate(PSEUDO) for part in KEPT.split(message)
    )


@pytest.fixture(scope="module")
def pseudo_catalogues(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Ukrainian catalogue's messages, every one of them pseudo-translated."""
    with (ROOT / "petition/translations/uk/LC_MESSAGES/messages.po").open("rb") as po:
        source = read_po(po)
    catalogue = Catalog(locale="uk")
    for message in source:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            forms = (message.id[0],) + (message.id[1],) * (catalogue.num_plurals - 1)
            catalogue.add(message.id, tuple(pseudo(form) for form in forms))
        else:
            catalogue.add(message.id, pseudo(message.id))
    folder = tmp_path_factory.mktemp("pseudo")
    (folder / "uk/LC_MESSAGES").mkdir(parents=True)
    with (folder / "uk/LC_MESSAGES/messages.mo").open("wb") as mo:
        write_mo(mo, catalogue)
    return folder


class English(HTMLParser):
    """Collects words of plain English letters a reader would see or hear, outside anything
    marked lang="en…" or translate="no" and outside scripts; in data attributes' JSON too."""

    ATTRIBUTES = ("alt", "title", "aria-label", "placeholder")
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []  # (tag, English inside)
        self.found: list[str] = []

    @property
    def english(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        lang = attributes.get("lang")
        english = lang.startswith("en") if lang is not None else self.english
        # Code and names marked translate="no" are the same in every language.
        english = english or attributes.get("translate") == "no"
        hidden = tag in ("script", "style", "template") or english
        if not hidden:
            for name in self.ATTRIBUTES:
                self.look(attributes.get(name) or "", f"<{tag} {name}>")
            if tag == "input" and attributes.get("type") in ("submit", "button"):
                self.look(attributes.get("value") or "", "<input value>")
            if tag == "meta" and attributes.get("name", "").startswith("description"):
                self.look(attributes.get("content") or "", "<meta description>")
            for name, value in attrs:
                if name.startswith("data-") and value and value[:1] in "{[":
                    self.look_json(json.loads(value), f"<{tag} {name}>")
        if tag not in self.VOID:
            self.stack.append((tag, hidden))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        if not self.english:
            self.look(data, "text")

    def look_json(self, value: Any, where: str) -> None:
        if isinstance(value, str):
            self.look(value, where)
        elif isinstance(value, dict):
            for item in value.values():
                self.look_json(item, where)
        elif isinstance(value, list):
            for item in value:
                self.look_json(item, where)

    def look(self, text: str, where: str) -> None:
        # Addresses and codes are what they are: links, emails, domains, receipt codes.
        text = re.sub(
            r"\b[A-Z0-9]{4}(?:-[A-Z0-9]{4}){4}\b|\{\w+\}|\S+@\S+|https?://\S+|\b(?:[\w-]+\.)+(?:org|com|test|uk|jpg)\b(?:/\S*)?",
            " ",
            text,
        )
        for word in re.findall(r"(?<![\w'])[A-Za-z][A-Za-z']+(?![\w'])", text):
            if word not in NAMES:
                self.found.append(f"{where}: {word!r} in {text.strip()[:80]!r}")


def english_on(page: str) -> list[str]:
    parser = English()
    parser.feed(page)
    return parser.found


def test_the_checker_finds_english_that_was_never_wrapped():
    """The harness: plain English is caught in text, attributes and data; English marked as
    such, names, addresses and pseudo-translated words are not."""
    caught = english_on(
        f'<p>{pseudo("Sign the petition")} Sign now</p><img alt="A photo">'
        "<button aria-label='Close'>×</button><div data-words='{\"one\": \"signature\"}'></div>"
        '<p lang="en-GB">The story in <b>English</b></p><p>Refugees Welcome, ada@example.org, '
        "http://petition.test/uk/privacy</p><script>var english = 'yes';</script>"
    )
    assert [found.split(":")[0] for found in caught] == [
        "text",
        "text",
        "<img alt>",
        "<button aria-label>",
        "<div data-words>",
    ]
    assert "'Sign'" in caught[0] and "'now'" in caught[1]


@pytest.fixture
def pseudo_app(make_app, pseudo_catalogues, fake_stripe, mailbox):
    from tests.fake_stripe import SECRET_KEY, WEBHOOK_SECRET

    return make_app(
        BABEL_TRANSLATION_DIRECTORIES=str(pseudo_catalogues),
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=fake_stripe.url,
    )


def pages(app: Any, mailbox: Any) -> dict[str, Any]:
    """Every public page and state, as a name and the response reaching it in the pseudo-locale
    (the state changing ones posted as a browser on our page would)."""
    client = app.test_client()
    ours = {"Origin": app.config["PUBLIC_URL"], "Sec-Fetch-Site": "same-origin"}
    u = "/uk"
    emails = iter(f"reader{n}@example.org" for n in range(100))

    def sign(**fields: str) -> dict[str, str]:
        """Sign in the pseudo-locale; the links from the email (which is in it too)."""
        data = {**signer(email=next(emails), **fields), "form_token": form_token(client)}
        response = client.post(f"{u}/petitions/{SLUG}/sign", data=data, headers=ours)
        assert response.status_code == 303, response.status_code
        with app.app_context():
            deliver_due()
        message = mailbox.to(data["email"])[-1]
        return {kind: path for kind, path in links_in(message).items()} | {"email": data["email"]}

    def confirmed(**fields: str) -> dict[str, str]:
        links = sign(**fields)
        assert client.post(links["confirm"], headers=ours).status_code in (200, 303)
        return links

    def stop_link() -> str:
        from petition.security.stop_links import stop_token

        links = confirmed(consent_updates="y")
        with app.app_context():
            return f"{u}/signatures/stop-updates/{stop_token(signature_for(links['email']).id)}"

    def own_data() -> tuple[str, int]:
        """A signer's own data page, and their signature's id."""
        from petition.services import privacy

        links = confirmed(consent_updates="y")
        with app.test_request_context():
            token = privacy.link_token(privacy.Person.by_address(links["email"]))
            signature_id = signature_for(links["email"]).id
        return f"{u}/privacy/me/{token}", signature_id

    def token_on(path: str) -> str:
        return TOKEN_FIELD.search(client.get(path).get_data(as_text=True)).group(1)

    def post(path: str, **data: str) -> Any:
        return client.post(path, data=data, headers=ours, follow_redirects=True)

    article = "/articles/krasnodar-riot-police-sue-over-dismissal"
    reached = {
        "home": client.get(f"{u}/"),
        "petition": client.get(f"{u}/petitions/{SLUG}"),
        "thanks": client.get(f"{u}/petitions/{SLUG}/thanks"),
        "integrity report": client.get(f"{u}/petitions/{SLUG}/integrity"),
        "embed code": client.get(f"{u}/petitions/{SLUG}/embed"),
        "widget": client.get(f"{u}/embed/petitions/{SLUG}"),
        "stories": client.get(f"{u}/articles"),
        "story": client.get(f"{u}{article}"),
        "donate": client.get(f"{u}/donate"),
        "donate thanks": client.get(f"{u}/donate/thanks"),
        "privacy notice": client.get(f"{u}/privacy"),
        "your data: ask": client.get(f"{u}/privacy/me"),
        "your data: sent": client.get(f"{u}/privacy/me/sent"),
        "accessibility": client.get(f"{u}/accessibility"),
        "receipt check": client.get(f"{u}/verify"),
        "receipt not found": client.get(f"{u}/verify?code=not-a-receipt"),
        "link not valid": client.get(f"{u}/signatures/confirm/not-a-token"),
        "withdraw link not valid": client.get(f"{u}/signatures/withdraw/not-a-token"),
        "stop link not valid": client.get(f"{u}/signatures/stop-updates/not-a-token"),
        "data link not valid": client.get(f"{u}/privacy/me/not-a-token"),
        "not found": client.get(f"{u}/no-such-page"),
    }
    reached["form with errors"] = post(
        f"{u}/petitions/{SLUG}/sign", **signer(name="=1", email="x"), form_token=form_token(client)
    )
    links = sign()
    reached["confirm"] = client.get(links["confirm"])
    reached["confirm with errors"] = post(links["confirm"], name="")
    reached["confirmed"] = post(links["confirm"])
    receipt = re.search(
        r'class="receipt"[^>]*>([^<]+)<', reached["confirmed"].get_data(as_text=True)
    )
    reached["receipt counted"] = post(f"{u}/verify", code=receipt.group(1))
    reached["receipt unknown"] = post(f"{u}/verify", code="ABCD-EFGH-JKLM-NPQR-STUV")
    widget = f"{u}/embed/petitions/{SLUG}"
    reached["widget with errors"] = post(
        f"{widget}/sign", **signer(email="x"), form_token=token_on(widget)
    )
    reached["widget thanks"] = post(
        f"{widget}/sign", **signer(email=next(emails)), form_token=token_on(widget)
    )
    reached["withdraw"] = client.get(confirmed(consent_updates="y")["withdraw"])
    reached["withdrawn"] = post(sign()["withdraw"])
    reached["stop link"] = client.get(stop_link())
    reached["updates stopped"] = post(stop_link())
    reached["updates stopped from the withdraw page"] = post(
        confirmed(consent_updates="y")["withdraw"] + "/updates"
    )
    reached["your data: errors"] = post(
        f"{u}/privacy/me", email="not an address", form_token=token_on(f"{u}/privacy/me")
    )
    reached["your data: link sent"] = post(
        f"{u}/privacy/me", email=links["email"], form_token=token_on(f"{u}/privacy/me")
    )
    again = {**signer(email=links["email"]), "form_token": form_token(client)}
    reached["signed again"] = post(f"{u}/petitions/{SLUG}/sign", **again)
    data_page, signature_id = own_data()
    reached["your data: own page"] = client.get(data_page)
    reached["your data: updates stopped"] = post(f"{data_page}/stop-updates")
    reached["your data: signature withdrawn"] = post(f"{data_page}/withdraw/{signature_id}")
    reached["your data: a copy"] = post(f"{data_page}/copy", format="html")
    reached["your data: erase unticked"] = post(f"{data_page}/erase")
    reached["your data: erased"] = post(f"{data_page}/erase", confirm="yes")
    reached["donate with errors"] = post(
        f"{u}/donate", amount="abc", form_token=token_on(f"{u}/donate")
    )
    reached["not allowed"] = client.get(f"{u}/petitions/{SLUG}/sign")
    reached.update(errors(app))
    return reached


def errors(app: Any) -> dict[str, Any]:
    """The error pages no request here can easily cause: rendered by the app's own handlers."""
    from sqlalchemy.exc import OperationalError
    from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests

    from petition.i18n import ENVIRON_KEY

    faults = {
        "too large": RequestEntityTooLarge(),
        "too many": TooManyRequests(),
        "busy": OperationalError("SELECT 1", {}, Exception("connection refused")),
        "broken": RuntimeError("a bug"),
    }
    pages = {}
    for name, fault in faults.items():
        with app.test_request_context("/", environ_base={ENVIRON_KEY: "uk"}):
            pages[name] = app.make_response(app.handle_user_exception(fault))
    return pages


# What is not a page for readers, so has no words to translate; or is checked on its own below.
NOT_PAGES = {
    "public.favicon",
    "public.media",
    "public.robots",
    "public.security_txt",
    "public.sitemap",
    "donations.gofundme",  # a redirect
    "donations.stripe_webhook",
    "ops.healthz",
    "ops.readyz",
    "ops.readyz_worker",
    "ops.prometheus_metrics",
    "widget.loader",  # below
    "widget.oembed",  # below
    "public.petition_sign",  # what it answers is reached as "form with errors" and by sign()
}


def test_every_public_page_is_translated(pseudo_app, mailbox):
    from flask import request, request_started

    served = set()

    def note(sender: Any, **extra: Any) -> None:
        served.add(request.endpoint)

    request_started.connect(note, pseudo_app)
    reached = pages(pseudo_app, mailbox)
    request_started.disconnect(note, pseudo_app)
    public = {
        rule.endpoint
        for rule in pseudo_app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in ("public", "donations", "widget")
    }
    unvisited = public - served - NOT_PAGES
    assert not unvisited, f"pages the pseudo-locale test does not visit: {sorted(unvisited)}"
    untranslated = {}
    for name, response in reached.items():
        assert response.status_code in (200, 404, 405, 410, 413, 422, 429, 500, 503), (
            name,
            response.status_code,
        )
        page = response.get_data(as_text=True)
        assert '<html lang="uk">' in page, name
        assert re.search(f"[{MARKED}]{{4}}", page), f"{name}: not in the pseudo-locale"
        found = english_on(page)
        if found:
            untranslated[name] = found
    assert not untranslated, json.dumps(untranslated, indent=1, ensure_ascii=False)


def test_the_widget_loader_and_oembed_speak_the_pseudo_locale(pseudo_app):
    client = pseudo_app.test_client()
    loader = client.get("/embed.js").get_data(as_text=True)
    titles = json.loads(re.search(r"var titles = (\{.*?\});", loader).group(1))
    assert titles == {"en": "Sign the petition", "uk": pseudo("Sign the petition")}
    answer = client.get(f"/oembed?url=http://petition.test/petitions/{SLUG}&lang=uk").get_json()
    assert english_on(answer["html"]) == []
    assert re.search(f"[{MARKED}]{{4}}", answer["html"])


def test_every_email_to_a_signer_is_translated(pseudo_app, mailbox):
    """The emails sent on the way through every page (confirmation, receipt, privacy link),
    subject, text and HTML, all in the pseudo-locale."""
    pages(pseudo_app, mailbox)
    with pseudo_app.app_context():
        from petition.mail import deliver_due

        deliver_due()
    kinds = set()
    untranslated = {}
    for message in mailbox.messages:
        subject = str(message["Subject"])
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        parser = English()
        parser.look(subject, "subject")
        # Greetings carry the signer's own name.
        parser.look(text.replace("Ada Lovelace", ""), "text")
        parser.feed(html.replace("Ada Lovelace", ""))
        if parser.found:
            untranslated[subject] = parser.found
        kinds.add(subject.split(":")[0])
    # Confirmation, receipt, already signed, and the data page's link at least.
    assert len(kinds) >= 4, kinds
    assert not untranslated, json.dumps(untranslated, indent=1, ensure_ascii=False)
