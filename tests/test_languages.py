"""The campaign in Ukrainian as well as English: the language in the address (never a cookie),
gettext catalogues that are complete, and plural forms and numbers as Ukrainian writes them.

So far the petition page, its sign form and the site's frame are translated; the rest of the
site follows (issue 22)."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from petition import i18n
from tests.factories import ORIGIN, SLUG, forget_cached, form_token, signer

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "petition" / "translations"
PAGE = f"/petitions/{SLUG}"


def test_the_ukrainian_petition_page_is_in_ukrainian_with_a_way_back(client):
    response = client.get(f"/uk{PAGE}")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    html = response.get_data(as_text=True)
    assert '<html lang="uk">' in html
    for words in ("Підпишіть цю петицію", "Ім'я та прізвище", "Підписати петицію", "Кампанія"):
        assert words in html, words
    for english in ("Sign this petition", "Full name", "Skip to main content"):
        assert english not in html, english
    # The switch goes to the same page in English; hreflang both ways; Open Graph knows.
    assert re.search(
        rf'<a href="http://petition.test{PAGE}" hreflang="en-GB" lang="en-GB"[^>]*>English</a>',
        html,
    )
    assert f'hreflang="en-GB" href="http://petition.test{PAGE}"' in html
    assert f'hreflang="uk" href="http://petition.test/uk{PAGE}"' in html
    assert f'<link rel="canonical" href="http://petition.test/uk{PAGE}">' in html
    assert '<meta property="og:locale" content="uk_UA">' in html
    assert '<meta property="og:locale:alternate" content="en_GB">' in html
    # Links stay in Ukrainian; files keep one address whatever the language.
    assert f'action="/uk{PAGE}/sign"' in html
    assert re.search(r'<link rel="stylesheet" href="/static/site\.css\?v=', html)
    assert f'data-live-count="/api/v1/petitions/{SLUG}"' in html  # the same count as English
    widget = client.get(f"/uk/embed/petitions/{SLUG}").get_data(as_text=True)
    assert f'data-count-url="/api/v1/petitions/{SLUG}"' in widget
    # What staff wrote in Ukrainian (the seed's), with no "English" marking.
    assert "<h1>Більше й швидше допомагати людям" in html
    assert "not been translated" not in html


def test_the_english_page_offers_ukrainian(client):
    html = client.get(PAGE).get_data(as_text=True)
    assert '<html lang="en-GB">' in html and "Sign this petition" in html
    assert re.search(
        rf'<a href="http://petition.test/uk{PAGE}" hreflang="uk" lang="uk"[^>]*>Українська</a>',
        html,
    )
    assert f'hreflang="uk" href="http://petition.test/uk{PAGE}"' in html
    assert "<h1>" in html  # English content needs no marking on the English page


def test_what_has_one_address_sends_a_language_prefix_there(app, client):
    """Under /uk/ the staff side's cookie (Path=/admin) never came back, so its forms said
    "expired"; files and the API were cached twice. Now they send the reader to their one
    address, a post staying a post."""
    from tests.factories import ADMIN_PASSWORD, make_admin

    for asked, address in (
        ("/uk/admin/login?next=/admin/audit", "/admin/login?next=/admin/audit"),
        ("/uk/static/site.css?v=1", "/static/site.css?v=1"),
        (f"/uk/api/v1/petitions/{SLUG}", f"/api/v1/petitions/{SLUG}"),
        ("/uk/healthz", "/healthz"),
    ):
        moved = client.get(asked)
        assert (moved.status_code, moved.headers["Location"]) == (308, address), asked
    posted = client.post(f"/uk/api/v1/petitions/{SLUG}/signatures", json={})
    assert posted.status_code == 308
    assert posted.headers["Location"] == f"/api/v1/petitions/{SLUG}/signatures"
    assert client.get(f"/uk{PAGE}").status_code == 200  # pages themselves are in Ukrainian
    # Staff who typed /uk/admin/ sign in: the form is where its cookie is, and posts there
    # (it names no action: a browser posts it to the page's own address).
    with app.app_context():
        make_admin()
    staff = app.test_client()
    form = staff.get("/uk/admin/login", follow_redirects=True)
    assert form.request.path == "/admin/login"
    page = form.get_data(as_text=True)
    assert '<form method="post" novalidate>' in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    fields = {"csrf_token": token, "email": "admin@example.org", "password": ADMIN_PASSWORD}
    signed_in = staff.post(form.request.path, data=fields, follow_redirects=True)
    assert signed_in.request.path == "/admin/"


def test_a_readers_copy_of_their_data_says_which_language_they_agreed_in(app, client):
    """The words a reader agreed to are shown as they read them: English words on the
    Ukrainian copy are marked English, and the copy says which language they were in."""
    from petition.services import privacy
    from tests.factories import confirmed_signatures

    confirmed_signatures(app, client, [signer(email="ada@example.org", consent_updates="y")])
    with app.test_request_context():
        token = privacy.link_token(privacy.Person.by_address("ada@example.org"))
    copy = client.post(f"/uk/privacy/me/{token}/copy", data={"format": "html"})
    page = html.unescape(copy.get_data(as_text=True))
    english = '<span lang="en-GB">Email me occasional updates about the Refugees Welcome campaign.'
    assert page.count(english) == 2  # the signature's words, and the answer's in the history
    assert "<dt>Мова цих слів</dt><dd>English</dd>" in page
    report = json.loads(client.post(f"/privacy/me/{token}/copy", data={"format": "json"}).data)
    assert report["signatures"][0]["consent_wording_language"] == "en"
    assert report["campaign_updates"]["history"][0]["wording_language"] == "en"
    # On the English copy, English words need no marking.
    english_page = client.post(f"/privacy/me/{token}/copy", data={"format": "html"})
    assert "<dt>The language of those words</dt><dd>English</dd>" in html.unescape(
        english_page.get_data(as_text=True)
    )
    assert 'lang="en-GB">Email me' not in english_page.get_data(as_text=True)
    # Nor Ukrainian words on the Ukrainian copy of someone who signed and confirmed in
    # Ukrainian (the confirm page asks again, in its language).
    from petition.extensions import db
    from petition.services.signatures import Details, confirm
    from tests.factories import sign, signature_for

    assert (
        sign(client, email="olena@example.org", consent_updates="y", language="uk").status_code
        == 303
    )
    with app.app_context(), i18n.speaking("uk"):
        olena = signature_for("olena@example.org")
        confirm(olena, Details.of(olena))
        db.session.commit()
    with app.test_request_context():
        token = privacy.link_token(privacy.Person.by_address("olena@example.org"))
    page = html.unescape(
        client.post(f"/uk/privacy/me/{token}/copy", data={"format": "html"}).get_data(as_text=True)
    )
    assert "<dd>Надсилайте мені час від часу новини" in page
    assert "<dt>Мова цих слів</dt><dd>Українська</dd>" in page


def test_each_language_is_cached_under_its_own_address(client):
    forget_cached()
    english = client.get(PAGE)
    ukrainian = client.get(f"/uk{PAGE}")
    again = client.get(PAGE)  # from the micro-cache now
    assert "Sign this petition" in again.get_data(as_text=True)
    assert "Підпишіть цю петицію" in ukrainian.get_data(as_text=True)
    assert english.headers["ETag"] != ukrainian.headers["ETag"]


def test_mistakes_are_explained_in_the_readers_language(client):
    def send(prefix: str) -> str:
        fields = {**signer(name="", email="not-an-address"), "form_token": form_token(client)}
        response = client.post(f"{prefix}{PAGE}/sign", data=fields, headers={"Origin": ORIGIN})
        assert response.status_code == 422
        return response.get_data(as_text=True)

    ukrainian = html.unescape(send("/uk"))
    assert "Щось не так" in ukrainian
    assert "Введіть ім'я та прізвище" in ukrainian
    assert "Введіть адресу електронної пошти в правильному форматі" in ukrainian
    english = send("")  # the control: the same mistakes, in English
    assert "Enter your full name" in english and "Введіть" not in english
    # A correct form from the Ukrainian page signs, and the reader stays in Ukrainian.
    fields = {**signer(email="olena@example.org"), "form_token": form_token(client)}
    done = client.post(f"/uk{PAGE}/sign", data=fields, headers={"Origin": ORIGIN})
    assert done.status_code == 303
    assert done.headers["Location"].startswith(f"/uk{PAGE}/thanks")


def test_the_switch_on_a_page_answering_a_post_leads_to_a_page(client):
    """A sign form with a mistake comes back from an address that only takes posts: its
    language switch and alternates lead to the petition's page (a link to the address itself
    would answer 405). Pages that can be read where they were posted keep their address."""
    fields = {**signer(name=""), "form_token": form_token(client)}
    mistaken = client.post(f"{PAGE}/sign", data=fields, headers={"Origin": ORIGIN})
    assert mistaken.status_code == 422
    switch = re.search(r'<a href="http://petition.test([^"]+)" hreflang="uk"', mistaken.text)
    assert switch is not None and switch[1] == f"/uk{PAGE}"
    assert f'hreflang="x-default" href="http://petition.test{PAGE}"' in mistaken.text
    assert client.get(switch[1]).status_code == 200
    assert client.get(f"/uk{PAGE}/sign").status_code == 405  # where it pointed before
    back = client.post(f"/uk{PAGE}/sign", data=fields, headers={"Origin": ORIGIN})
    assert f'<a href="http://petition.test{PAGE}" hreflang="en-GB"' in back.text
    # Read where it was posted: the address stays (the receipt check answers both ways).
    checked = client.post("/verify", data={"code": "nope"}, headers={"Origin": ORIGIN})
    assert 'href="http://petition.test/uk/verify" hreflang="uk"' in checked.text


def test_a_language_spoken_for_a_while_gives_way_to_the_pages_again(app):
    """An email rendered in its signer's language inside a Ukrainian request: the language is
    remembered per context for speed, and `speaking` changes and restores it, for our lookups
    and Flask-Babel's alike."""
    import flask_babel

    sign = "Sign the petition"
    with app.test_request_context("/", environ_base={i18n.ENVIRON_KEY: "uk"}):
        assert i18n.gettext(sign) == "Підписати петицію"  # remembered from here on
        with i18n.speaking("en"):
            assert (i18n.current().code, i18n.gettext(sign)) == ("en", sign)
            assert flask_babel.gettext(sign) == sign
            with i18n.speaking("uk"):
                assert i18n.gettext(sign) == "Підписати петицію"
            assert i18n.gettext(sign) == sign
        assert (i18n.current().code, i18n.gettext(sign)) == ("uk", "Підписати петицію")
        assert flask_babel.get_locale().language == "uk"
    with app.test_request_context("/"):  # the control: a request of its own speaks its own
        assert i18n.gettext(sign) == sign


@pytest.mark.parametrize(
    ("count", "words"),
    [
        (1, "1 підпис"),
        (2, "2 підписи"),
        (5, "5 підписів"),
        (11, "11 підписів"),
        (21, "21 підпис"),
        (22, "22 підписи"),
        (25, "25 підписів"),
        (12345, "12\u00a0345 підписів"),
    ],
)
def test_counts_take_ukrainian_plural_forms_and_number_grouping(app, count, words):
    from flask import render_template_string

    template = '{{ count | thousands }} {{ ngettext("signature", "signatures", count) }}'
    with app.test_request_context(f"/uk{PAGE}", environ_base={i18n.ENVIRON_KEY: "uk"}):
        assert render_template_string(template, count=count) == words
    with app.test_request_context(PAGE):
        english = render_template_string(template, count=count)
    assert english == f"{count:,} {'signature' if count == 1 else 'signatures'}"


def test_the_live_count_script_gets_the_words_for_each_plural_category(client):
    page = client.get(f"/uk{PAGE}").get_data(as_text=True)
    words = json.loads(html.unescape(re.search(r"data-words='([^']+)'", page).group(1)))
    assert (words["one"], words["few"], words["many"]) == ("підпис", "підписи", "підписів")
    assert words["awaiting"]["one"] == "{n} чекає на підтвердження"
    assert words["awaiting"]["few"] == words["awaiting"]["many"] == "{n} чекають на підтвердження"
    assert words["bar"]["one"].endswith("ще {pending} чекає на підтвердження")
    assert words["bar"]["many"].endswith("ще {pending} чекають на підтвердження")


@pytest.mark.parametrize(
    "pending, words",
    [(1, "1 чекає"), (2, "2 чекають"), (5, "5 чекають"), (21, "21 чекає"), (22, "22 чекають")],
)
def test_those_awaiting_confirmation_are_counted_in_ukrainian_plural_forms(app, pending, words):
    from flask import render_template_string

    template = (
        '{% from "_macros/tally.html" import awaiting, count_bar %}'
        '{{ awaiting(pending, "x") }}{{ count_bar(3, pending, 100, "y") }}'
    )
    with app.test_request_context(f"/uk{PAGE}", environ_base={i18n.ENVIRON_KEY: "uk"}):
        page = render_template_string(template, pending=pending)
    assert f">{words} на підтвердження</span>" in page
    assert f"ще {words} на підтвердження" in page  # the bar's label says it too
    with app.test_request_context(PAGE):
        english = render_template_string(template, pending=pending)
    assert f">{pending} awaiting confirmation</span>" in english


@pytest.mark.parametrize(
    "number, countries, digests",
    [
        (1, "із 1 країни", "з 1 дайджесту"),
        (6, "із 6 країн", "з 6 дайджестів"),
        (21, "із 21 країни", "з 21 дайджесту"),
        (22, "із 22 країн", "з 22 дайджестів"),
    ],
)
def test_sentences_about_a_number_of_things_take_its_form_in_ukrainian(
    app, number, countries, digests
):
    with app.test_request_context(f"/uk{PAGE}", environ_base={i18n.ENVIRON_KEY: "uk"}):
        where = i18n.ngettext(
            "Confirmed signatures, the top 5 of %(num)s country",
            "Confirmed signatures, the top 5 of %(num)s countries",
            number,
        )
        latest = i18n.ngettext(
            "The latest %(shown)s of %(total)s digest",
            "The latest %(shown)s of %(total)s digests",
            number,
            shown=1,
            total=number,
        )
    assert where == f"Підтверджені підписи: перші 5 {countries}"
    assert latest == f"Останні 1 {digests}"


# The catalogues


def source_messages() -> set[str]:
    """Every message the templates and Python code ask to translate, as pybabel extracts."""
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {
        "_": None,
        "gettext": None,
        "ngettext": (1, 2),
        "_l": None,
        "lazy_gettext": None,
        "N_": None,
    }
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords, directory_filter=_walk
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _walk(path: str) -> bool:
    name = Path(path).name
    return not name.startswith(".") and name not in ("node_modules", "test-artifacts")


@pytest.mark.parametrize("code", [c for c in i18n.LANGUAGES if c != i18n.DEFAULT])
def test_every_message_is_translated_and_compiled(code):
    po_path = TRANSLATIONS / code / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as po:
        catalogue = read_po(po)
    translated = {}
    for message in catalogue:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert "fuzzy" not in message.flags, f"fuzzy in {code}: {key}"
        assert all(strings), f"untranslated in {code}: {key}"
        for string in strings:
            wanted = set(re.findall(r"%\((\w+)\)s", key))
            assert set(re.findall(r"%\((\w+)\)s", string)) == wanted, f"placeholders: {key}"
        translated[key] = strings
    missing = source_messages() - set(translated)
    assert not missing, f"not in the {code} catalogue (run pybabel update): {sorted(missing)}"
    # The compiled catalogue the app reads says what the .po says (pybabel compile was run).
    with po_path.with_suffix(".mo").open("rb") as mo:
        compiled = read_mo(mo)
    expected = io.BytesIO()
    write_mo(expected, catalogue)
    expected.seek(0)

    def pairs(catalogue: object) -> set[tuple[str, str]]:
        return {(repr(m.id), repr(m.string)) for m in catalogue if m.id}  # type: ignore[attr-defined]

    assert pairs(compiled) == pairs(read_mo(expected)), (
        "messages.mo is out of date: run pybabel compile -d petition/translations"
    )


def test_signing_in_ukrainian_gets_a_ukrainian_email_and_confirms_in_ukrainian(
    app, client, mailbox
):
    from petition.extensions import db
    from tests.factories import send_all_mail, signature_for

    fields = {
        **signer(email="olena@example.org", name="Олена Коваль"),
        "consent_updates": "y",
        "form_token": form_token(client),
    }
    done = client.post(f"/uk{PAGE}/sign", data=fields, headers={"Origin": ORIGIN})
    assert done.status_code == 303
    thanks = html.unescape(client.get(done.headers["Location"]).get_data(as_text=True))
    assert "Тепер перевірте пошту" in thanks and '<html lang="uk">' in thanks
    send_all_mail(app)
    [message] = mailbox.to("olena@example.org")
    # As the mail server received it: the subject (RFC 2047-decoded) and both parts.
    assert message["Subject"].startswith("Підтвердьте, будь ласка, свій підпис: ")
    text = message.get_body(("plain",)).get_content()
    assert text.startswith("Вітаємо, Олена Коваль!")
    assert "Підпис зараховується лише після підтвердження" in text
    page = message.get_body(("html",)).get_content()
    assert '<html lang="uk">' in page and "Підтвердити підпис" in page
    links = re.findall(r"http://petition\.test(/uk/signatures/(?:confirm|withdraw)/\S+)", text)
    assert len(links) == 2, text  # the pages the email links to speak Ukrainian too
    confirm_link = links[0]
    with app.app_context():
        signature = signature_for("olena@example.org")
        assert signature.language == "uk"
        # The consent recorded is the Ukrainian wording the signer read.
        assert signature.consent_wording.text.startswith("Надсилайте мені")
        assert signature.consent_wording.version.endswith("/uk")
        db.session.rollback()

    confirm_page = html.unescape(client.get(confirm_link).get_data(as_text=True))
    assert "Підтвердьте свій підпис" in confirm_page and "Надсилайте мені" in confirm_page
    confirmed = client.post(
        confirm_link, headers={"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"}
    )
    assert confirmed.status_code == 200
    page = html.unescape(confirmed.get_data(as_text=True))
    assert "Дякуємо: ваш підпис зараховано" in page and "Ваша квитанція" in page
    # Where to check the receipt: the Ukrainian page, as linked and as written out to copy.
    assert '<a href="/uk/verify">http://petition.test/uk/verify</a>' in page
    [code] = re.findall(r"[A-Z0-9]{4}(?:-[A-Z0-9]{4}){4}", page)
    checked = client.post("/uk/verify", data={"code": code}, headers={"Origin": ORIGIN})
    verdict = html.unescape(checked.get_data(as_text=True))
    # Ukrainian quotes around the title, as everywhere else in Ukrainian.
    assert "Цей підпис зараховано" in verdict and "Під петицією «<a href=" in verdict
    # The English thank-you page, cached a moment ago for the same count, is not served here.
    assert "Thank you: your signature is counted" not in page


def test_an_english_signer_still_gets_english_mail(app, client, mailbox):
    from tests.factories import send_all_mail, sign

    assert sign(client, email="ada@example.org").status_code == 303
    send_all_mail(app)
    [message] = mailbox.to("ada@example.org")
    assert message["Subject"].startswith("Please confirm your signature: ")
    text = message.get_body(("plain",)).get_content()
    assert text.startswith("Hello Ada Lovelace,") and "/uk/" not in text


def test_what_staff_have_not_translated_shows_in_english_and_says_so(app, client):
    from tests.factories import make_petition

    with app.app_context():
        make_petition("english-only", title="Only in English", ask="An ask in English.")
    html = html_of(client.get("/uk/petitions/english-only"))
    assert '<h1 lang="en-GB">Only in English</h1>' in html
    assert '<p lang="en-GB">An ask in English.</p>' in html
    assert "Цю петицію ще не перекладено" in html
    # The API says which language it gave.
    data = client.get("/api/v1/petitions/english-only?lang=uk").get_json()
    assert data["title"] == "Only in English" and data["language"] == "en"
    seeded = client.get(f"/api/v1/petitions/{SLUG}?lang=uk").get_json()
    assert seeded["language"] == "uk" and seeded["title"].startswith("Більше й швидше")
    assert client.get(f"/api/v1/petitions/{SLUG}").get_json()["language"] == "en"


def test_staff_write_the_ukrainian_beside_the_english(app, admin, client):
    from tests.test_petition_page import EDIT, edit_fields

    form = html_of(admin.get(EDIT))
    assert "In Ukrainian" in form and "complete" in form
    saved = admin.post(
        EDIT,
        data=edit_fields(
            admin, uk_title="Нова назва", uk_addressee="Уряд", uk_starter="Команда", uk_ask=""
        ),
    )
    assert saved.status_code == 303
    form = html_of(admin.get(EDIT))
    # Only what has English words needs Ukrainian: the title has it, the ask is missing; the
    # addressee, starter, background and thresholds are empty in English now.
    assert "1 of 2 missing" in form
    forget_cached()
    page = html_of(client.get(f"/uk{PAGE}"))
    assert "<h1>Нова назва</h1>" in page
    assert '<p lang="en-GB">Move faster.</p>' in page  # the ask, not translated now
    assert "<h1>Go further" in html_of(client.get(PAGE))  # English readers unaffected


def test_staff_write_what_happens_at_thresholds_in_ukrainian(app, admin, client):
    from petition.models import Petition
    from tests.test_petition_page import EDIT, edit_fields

    def thresholds_on(path: str) -> list[str]:
        forget_cached()
        page = html_of(client.get(path))
        return re.findall(
            r'<strong class="thresholds__count">[^<]*</strong>\s*(<span[^>]*>[^<]*)', page
        )

    # The seed's, in Ukrainian: no longer English words marked as English on a Ukrainian page.
    assert thresholds_on(f"/uk{PAGE}") == [
        "<span>Ми передамо петицію до Міністерства внутрішніх справ і попросимо відповіді",
        "<span>Ми попросимо депутатів обговорити її в парламенті",
    ]
    assert (
        thresholds_on(PAGE)[0]
        == "<span>We hand the petition to the Home Office and ask for a reply"
    )
    form = html_of(admin.get(EDIT))
    assert "What happens at thresholds (Ukrainian)" in form
    assert "10,000: Ми передамо петицію" in form  # as staff edit it, beside the English

    # Some of them, with the number written the Ukrainian way: the rest stay English, marked.
    english = "10,000: We hand it in\n100,000: We ask for a debate"
    saved = admin.post(
        EDIT, data=edit_fields(admin, thresholds=english, uk_thresholds="10 000 — Ми її передамо")
    )
    assert saved.status_code == 303
    assert thresholds_on(f"/uk{PAGE}") == [
        "<span>Ми її передамо",
        '<span lang="en-GB">We ask for a debate',
    ]
    assert thresholds_on(PAGE) == ["<span>We hand it in", "<span>We ask for a debate"]
    assert "10,000: Ми її передамо" in html_of(admin.get(EDIT))  # tidied as the English is

    # A number the English does not have, or a line that is not one, is refused beside the
    # Ukrainian field, and nothing changes.
    for written, says in (
        ("50,000: Щось нове", "50,000 is not one of the thresholds in English (10,000, 100,000)"),
        ("десять тисяч: Ми її передамо", "Line 1 should be a number, a colon and what happens"),
    ):
        refused = admin.post(
            EDIT, data=edit_fields(admin, thresholds=english, uk_thresholds=written)
        )
        assert refused.status_code == 422
        page = html.unescape(refused.get_data(as_text=True))
        assert re.search(r'id="uk_thresholds-error"[^>]*>[^<]*' + re.escape(says), page), says
        with app.app_context():
            from petition.extensions import db

            stored = db.session.query(Petition).filter_by(slug=SLUG).one().translations["uk"]
            assert stored["thresholds"] == "10,000: Ми її передамо"


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True))


def test_the_export_and_the_dashboard_know_each_signers_language(app, admin, client):
    import csv

    from petition.services import figures

    for prefix, email in (("/uk", "olena@example.org"), ("", "ada@example.org")):
        fields = {**signer(email=email), "form_token": form_token(client)}
        assert (
            client.post(f"{prefix}{PAGE}/sign", data=fields, headers={"Origin": ORIGIN}).status_code
            == 303
        )
    with app.app_context():
        from petition.extensions import db
        from petition.services.signatures import Details, confirm
        from tests.factories import signature_for

        for email in ("olena@example.org", "ada@example.org"):
            signature = signature_for(email)
            confirm(signature, Details.of(signature))
        db.session.commit()
        figures.refresh_due()
    rows = list(
        csv.DictReader(
            io.StringIO(
                admin.get(f"/admin/petitions/{SLUG}/signatures.csv").get_data().decode("utf-8-sig")
            )
        )
    )
    assert {r["email"]: r["language"] for r in rows} == {
        "olena@example.org": "uk",
        "ada@example.org": "en",
    }
    dashboard = html_of(admin.get("/admin/"))
    assert "Signed in (language)" in dashboard
    counts = re.findall(
        r'ranking__label">([^<]+)</span>.*?ranking__value">(\d+) '
        r'<span class="muted">\((\d+) confirmed',
        dashboard.split("Signed in (language)")[1].split("</figure>")[0],
        re.S,
    )
    assert sorted(counts) == [("English", "1", "1"), ("Ukrainian", "1", "1")]


def test_later_emails_speak_the_signers_language(app, admin, client, mailbox):
    """The receipt and the campaign's news go to each signer in the language they signed in."""
    from tests.factories import send_all_mail
    from tests.test_mailings import email_the_news, news_received, post_news

    for prefix, email in (("/uk", "olena@example.org"), ("", "ada@example.org")):
        fields = {**signer(email=email), "consent_updates": "y", "form_token": form_token(client)}
        done = client.post(f"{prefix}{PAGE}/sign", data=fields, headers={"Origin": ORIGIN})
        assert done.status_code == 303
    send_all_mail(app)
    for email in ("olena@example.org", "ada@example.org"):
        link = re.search(
            r"http://petition\.test(\S*/signatures/confirm/\S+)", _text(mailbox, email)
        )
        assert client.post(link.group(1), headers={"Origin": ORIGIN}).status_code == 200
    mailbox.clear()
    send_all_mail(app)  # the receipts
    [receipt] = mailbox.to("olena@example.org")
    assert receipt["Subject"].startswith("Ваша квитанція: ")
    assert "Код вашої квитанції:" in receipt.get_body(("plain",)).get_content()
    assert "http://petition.test/uk/verify" in receipt.get_body(("plain",)).get_content()
    [english_receipt] = mailbox.to("ada@example.org")
    assert english_receipt["Subject"].startswith("Your receipt: ")

    mailbox.clear()
    email_the_news(admin, post_news(admin))
    send_all_mail(app)
    news = {str(m["To"]): m for m in news_received(mailbox)}
    ukrainian = news["olena@example.org"]
    text = ukrainian.get_body(("plain",)).get_content()
    assert text.startswith("Вітаємо!") and "Новини про петицію" in text
    assert "http://petition.test/uk/petitions/" in text
    page = ukrainian.get_body(("html",)).get_content()
    # The news itself is as staff wrote it, in English, and marked so.
    assert '<h1 style="margin:0 0 16px;font-size:22px;line-height:1.3;" lang="en-GB">' in page
    assert "/uk/signatures/stop-updates/" in ukrainian["List-Unsubscribe"]
    english = news["ada@example.org"].get_body(("plain",)).get_content()
    assert english.startswith("Hello,") and "/uk/" not in english


def _text(mailbox, address: str) -> str:
    [message] = mailbox.to(address)
    return message.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/", ("Наша кампанія", "Підписати петицію")),
        ("/no-such-page", ("Сторінку не знайдено", "Ми не знайшли цієї сторінки")),
        ("/signatures/withdraw/not-a-real-token", ("Термін дії посилання минув",)),
    ],
)
def test_more_pages_in_ukrainian(client, path, words):
    response = client.get(f"/uk{path}")
    page = html.unescape(response.get_data(as_text=True))
    assert '<html lang="uk">' in page and "Set-Cookie" not in response.headers
    for expected in words:
        assert expected in page, expected
    assert f'hreflang="en-GB" href="http://petition.test{path}"' in page


def test_the_accessibility_statement_in_both_languages(client):
    english = html.unescape(client.get("/accessibility").get_data(as_text=True))
    assert "zoom to 400% or use a screen" in english
    ukrainian = html.unescape(client.get("/uk/accessibility").get_data(as_text=True))
    assert "збільшувати масштаб до 400% або" in ukrainian and '<html lang="uk">' in ukrainian


def test_the_privacy_notice_in_both_languages(client):
    english = html.unescape(client.get("/privacy").get_data(as_text=True))
    assert (
        "<strong>Your name, email address, country and postcode</strong>, when you sign" in english
    )
    assert "Signatures that are never confirmed: deleted after" in english
    ukrainian = html.unescape(client.get("/uk/privacy").get_data(as_text=True))
    assert (
        "<strong>Ваше ім'я, адресу пошти, країну й поштовий індекс</strong> — коли ви" in ukrainian
    )
    assert (
        "Непідтверджені підписи: видаляємо через" in ukrainian and '<html lang="uk">' in ukrainian
    )


def test_the_campaign_copy_and_news_in_ukrainian_where_staff_wrote_it(app, admin, client, mailbox):
    from tests.factories import send_all_mail
    from tests.test_mailings import email_the_news, news_received

    token = admin_csrf_of(admin, "/admin/campaign")
    form = html_of(admin.get("/admin/campaign"))
    assert "In Ukrainian" in form and "complete" in form  # the seed has the Ukrainian
    saved = admin.post(
        "/admin/campaign",
        data={
            "csrf_token": token,
            "name": "Refugees Welcome",
            "tagline": "Help people fleeing the war.",
            "intro": "Intro in English.",
            "history": "History in English.",
            "uk_tagline": "Допоможіть людям, які рятуються від війни.",
        },
    )
    assert saved.status_code == 303
    forget_cached()
    home = html_of(client.get("/uk/"))
    assert '<p class="lede">Допоможіть людям, які рятуються від війни.</p>' in home
    assert '<p lang="en-GB">Intro in English.</p>' in home  # not translated: marked English

    # News posted with its Ukrainian version; a Ukrainian signer gets it in Ukrainian.
    fields = {
        **signer(email="olena@example.org"),
        "consent_updates": "y",
        "form_token": form_token(client),
    }
    assert (
        client.post(f"/uk{PAGE}/sign", data=fields, headers={"Origin": ORIGIN}).status_code == 303
    )
    send_all_mail(app)
    link = re.search(
        r"http://petition\.test(\S*/signatures/confirm/\S+)", _text(mailbox, "olena@example.org")
    )
    client.post(link.group(1), headers={"Origin": ORIGIN})
    token = admin_csrf_of(admin, f"/admin/petitions/{SLUG}")
    posted = admin.post(
        f"/admin/petitions/{SLUG}/news",
        data={
            "news-csrf_token": token,
            "news-title": "We handed it in",
            "news-body": "At Downing Street.",
            "news-uk_title": "Ми передали петицію",
            "news-uk_body": "На Даунінг-стріт.",
        },
    )
    assert posted.status_code == 303
    forget_cached()
    assert "<h3>Ми передали петицію</h3>" in html_of(client.get(f"/uk{PAGE}"))
    assert "<h3>We handed it in</h3>" in html_of(client.get(PAGE))
    from petition.extensions import db
    from petition.models import PetitionNews

    with app.app_context():
        news_id = db.session.query(PetitionNews.id).order_by(PetitionNews.id.desc()).first()[0]
    mailbox.clear()
    email_the_news(admin, news_id)
    send_all_mail(app)
    [message] = [m for m in mailbox.to("olena@example.org") if "Ми передали" in m["Subject"]]
    assert message["Subject"].startswith("Ми передали петицію – Більше й швидше")
    page = message.get_body(("html",)).get_content()
    assert ">Ми передали петицію</h1>" in page and 'lang="en-GB"' not in page
    assert news_received(mailbox, "Ми передали") == [message]


def admin_csrf_of(admin, path: str) -> str:
    from tests.factories import csrf_from

    return csrf_from(admin.get(path).get_data(as_text=True))


def test_a_story_in_ukrainian_where_staff_wrote_one(app, admin, client):
    story = "/articles/krasnodar-riot-police-sue-over-dismissal"
    page = html_of(client.get(f"/uk{story}"))
    assert '<h1 id="headline">Дванадцятеро російських омонівців' in page  # the seed's version
    assert "not been translated" not in page and "ще не перекладено" not in page
    listing = html_of(client.get("/uk/articles"))
    assert "Дванадцятеро російських омонівців" in listing
    assert "Twelve Russian riot police" in html_of(client.get(story))  # English readers
    # Staff can change the Ukrainian beside the English; key points are lines.
    form = html_of(admin.get(f"/admin{story}"))
    # No picture, so no alt text in English: nothing of it is missing in Ukrainian.
    assert "In Ukrainian" in form and 'tag--open">complete</span>' in form
    assert "Дванадцятеро бійців ОМОНу" in form


@pytest.mark.parametrize(
    "query",
    [
        {"url": f"http://petition.test/uk/petitions/{SLUG}"},
        {"url": f"http://petition.test/petitions/{SLUG}", "lang": "uk"},
    ],
)
def test_oembed_of_a_ukrainian_address_is_ukrainian_throughout(client, query):
    data = client.get("/oembed", query_string=query).get_json()
    assert data["title"].startswith("Більше й швидше допомагати людям")
    assert f'src="http://petition.test/uk/embed/petitions/{SLUG}"' in data["html"]
    assert 'title="Більше й швидше' in html.unescape(data["html"])
    english = client.get("/oembed", query_string={"url": f"http://petition.test{PAGE}"})
    assert english.get_json()["title"].startswith("Go further and faster")


def test_the_embed_page_in_ukrainian_offers_the_ukrainian_address(client):
    page = html.unescape(client.get(f"/uk{PAGE}/embed").get_data(as_text=True))
    assert '<html lang="uk">' in page and "Розмістіть петицію на своєму сайті" in page
    assert f'<code class="code" translate="no">http://petition.test/uk{PAGE}</code>' in page
    # Both snippets, each linking to the page in its own language.
    assert f'data-petition="{SLUG}"><a href="http://petition.test{PAGE}">Sign the petition' in page
    assert f'data-petition="{SLUG}" data-lang="uk"><a href="http://petition.test/uk{PAGE}">' in page
    # The preview speaks the page's language (embed.js reads <html lang>).
    assert (
        f'class="embed-preview" data-petition="{SLUG}"><a href="http://petition.test/uk{PAGE}"'
        in page
    )
