"""The petition page as staff set it up: whom it asks, who started it, what happens at which
count, a hero picture stored and served by us, and recent signers who asked to be shown."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from PIL import Image as Pillow
from sqlalchemy import func, select

from petition.extensions import db
from petition.models import AuditLog, Image, ImageRendition, Petition
from petition.services.signatures import Details, confirm
from tests.factories import (
    SLUG,
    admin_csrf,
    confirmed_signatures,
    forget_cached,
    sign,
    signature_for,
)

EDIT = f"/admin/petitions/{SLUG}"
SAME_SITE = {"Origin": "http://petition.test", "Sec-Fetch-Site": "same-origin"}


def edit_fields(admin: Any, **changes: Any) -> dict[str, Any]:
    """The petition form as it stands, with some fields changed."""
    fields = {
        "csrf_token": admin_csrf(admin, EDIT),
        "slug": SLUG,
        "title": "Go further and faster to help people fleeing the war in Ukraine",
        "ask": "Move faster.",
        "background": "",
        "goal": "10000",
        "closes_on": "",
        "addressee": "",
        "starter": "",
        "thresholds": "",
    }
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def page(client: Any) -> str:
    forget_cached()
    return client.get(f"/petitions/{SLUG}").get_data(as_text=True)


def photo(width: int = 1200, height: int = 900, fmt: str = "JPEG", **save: Any) -> bytes:
    picture = Pillow.new("RGB", (width, height), (200, 60, 40))
    out = io.BytesIO()
    picture.save(out, fmt, **save)
    return out.getvalue()


def with_location() -> bytes:
    """A phone's photo: EXIF with a GPS position (where the photographer stood)."""
    exif = Pillow.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}  # GPSInfo
    return photo(exif=exif.tobytes())


def upload(admin: Any, data: bytes | None, alt: str, name: str = "photo.jpg", **other: str) -> Any:
    fields: dict[str, Any] = {"csrf_token": admin_csrf(admin, EDIT), "alt": alt, **other}
    if data is not None:
        fields["picture"] = (io.BytesIO(data), name)
    return admin.post(f"{EDIT}/picture", data=fields, content_type="multipart/form-data")


# Addressee, starter, thresholds


def test_staff_set_whom_it_asks_who_started_it_and_what_happens_at_thresholds(app, admin):
    saved = admin.post(
        EDIT,
        data=edit_fields(
            admin,
            addressee="The Home Secretary",
            starter="Our newsroom",
            thresholds="100,000: MPs consider it for debate\n"
            "10 000 – We hand it in at Downing Street",
        ),
    )
    assert saved.status_code == 303
    html = page(admin)
    assert re.search(r"<dt>To</dt><dd>The Home Secretary</dd>", html)
    assert re.search(r"<dt>Started by</dt><dd>Our newsroom</dd>", html)
    # Stored and shown in ascending order, whatever order staff typed them in.
    first = html.index("We hand it in at Downing Street")
    assert first < html.index("MPs consider it for debate")
    assert "10,000 to go" in html and "100,000 to go" in html
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == SLUG))
        assert petition.thresholds == [
            {"count": 10_000, "text": "We hand it in at Downing Street"},
            {"count": 100_000, "text": "MPs consider it for debate"},
        ]
        logged = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "petition_updated")
        ).all()[-1]
        assert set(logged.details["changed"]) >= {"addressee", "starter", "thresholds"}
    # The edit form shows the thresholds as the lines staff typed them.
    form = admin.get(EDIT).get_data(as_text=True)
    assert "10,000: We hand it in at Downing Street\n100,000: MPs consider it for debate" in form


def test_a_reached_threshold_says_so(app, admin, client):
    admin.post(EDIT, data=edit_fields(admin, thresholds="1: We say thank you\n5: We celebrate"))
    confirmed_signatures(app, client, [{"email": "one@example.org"}])
    html = page(client)
    assert re.search(r"We say thank you</span>\s*<span class=\"thresholds__state\">Reached", html)
    assert "4 to go" in html


def test_a_threshold_line_that_is_not_one_is_refused_and_nothing_is_saved(app, admin):
    refused = admin.post(
        EDIT,
        data=edit_fields(admin, addressee="Changed", thresholds="10,000: Fine\nten thousand"),
    )
    assert refused.status_code == 422
    assert "Line 2 should be a number, a colon and what happens" in refused.get_data(as_text=True)
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == SLUG))
        assert petition.addressee == "The UK government"  # the seed's, unchanged
    # Positive control: the same field with a clean line is saved.
    assert admin.post(EDIT, data=edit_fields(admin, thresholds="10,000: Fine")).status_code == 303


# The hero picture


def test_an_uploaded_picture_is_resized_stripped_of_location_and_served_by_us(app, admin):
    done = upload(admin, with_location(), "Volunteers unloading a van of donated blankets")
    assert done.status_code == 303, done.get_data(as_text=True)
    html = page(admin)
    found = re.search(r'<img class="picture" src="(/media/[0-9a-f]{64}\.jpg)"[^>]*>', html)
    assert found, "no picture on the petition page"
    tag = found.group(0)
    assert 'alt="Volunteers unloading a van of donated blankets"' in tag
    assert 'width="1200" height="900"' in tag  # 4:3 is kept as it is
    widths = re.findall(r"/media/[0-9a-f]{64}\.jpg (\d+)w", tag)
    assert widths == ["480", "960", "1200"]
    # Link previews get the picture too, at its absolute address.
    assert re.search(
        r'<meta property="og:image" content="http://[^"]+/media/[0-9a-f]{64}\.jpg"', html
    )

    served = admin.get(found.group(1))
    assert served.status_code == 200
    assert served.mimetype == "image/jpeg"
    assert "immutable" in served.headers["Cache-Control"]
    assert "max-age=31536000" in served.headers["Cache-Control"]
    assert "Set-Cookie" not in served.headers
    picture = Pillow.open(io.BytesIO(served.data))
    assert picture.size == (1200, 900)
    assert not picture.getexif(), "the camera's details (and location) went out with the picture"
    again = admin.get(found.group(1), headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    assert admin.get("/media/" + "0" * 64 + ".jpg").status_code == 404


def test_a_tall_picture_is_cropped_to_a_landscape_shape(app, admin):
    assert upload(admin, photo(800, 1600), "A tall picture").status_code == 303
    with app.app_context():
        image = db.session.scalar(select(Image))
        assert (image.width, image.height) == (800, 600)
        assert [r.width for r in image.renditions] == [480, 800]


def test_what_is_not_a_usable_picture_is_refused_with_a_reason(app, admin):
    cases = [
        (b"GIF89a not really", "This file is not a picture we can read"),
        (photo(fmt="GIF"), "Upload a JPEG, PNG or WebP picture"),
        (photo(400, 300), "The picture must be at least 600 pixels wide"),
        (photo()[:600], "This picture is damaged or incomplete"),
    ]
    for data, message in cases:
        refused = upload(admin, data, "Some words")
        assert refused.status_code == 422, message
        assert message in refused.get_data(as_text=True)
    missing_alt = upload(admin, photo(), "  ")
    assert missing_alt.status_code == 422
    assert "Describe the picture for readers who cannot see it" in missing_alt.get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImageRendition)) == 0
    # Positive control: a PNG with transparency, well described, is taken.
    png = Pillow.new("RGBA", (900, 600), (0, 0, 0, 0))
    out = io.BytesIO()
    png.save(out, "PNG")
    assert upload(admin, out.getvalue(), "A clear sky", "sky.png").status_code == 303
    with app.app_context():
        rendition = db.session.scalar(select(ImageRendition).order_by(ImageRendition.width))
        corner = Pillow.open(io.BytesIO(rendition.data)).getpixel((0, 0))
        assert min(corner) > 240, "transparency turned black instead of white"


def test_a_picture_larger_than_other_forms_allow_is_accepted_here_only(app, admin):
    big = photo(3000, 2000, quality=100)
    assert len(big) > app.config["MAX_CONTENT_LENGTH"]
    assert upload(admin, big, "A large photograph").status_code == 303
    # Everywhere else the usual limit holds.
    too_big = admin.post(EDIT, data={"csrf_token": "x", "ask": "x" * (len(big))})
    assert too_big.status_code == 413


def test_the_description_can_change_and_the_picture_can_go(app, admin):
    upload(admin, photo(), "First words")
    assert upload(admin, None, "Better words").status_code == 303
    assert 'alt="Better words"' in page(admin)
    token = admin_csrf(admin, EDIT)
    assert admin.post(f"{EDIT}/picture/remove", data={"csrf_token": token}).status_code == 303
    assert '<img class="picture"' not in page(admin)
    with app.app_context():
        actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
        assert actions[-3:] == [
            "petition_picture_set",
            "petition_picture_set",
            "petition_picture_removed",
        ]


def test_the_picture_is_described_in_ukrainian_where_staff_describe_it(app, admin, client):
    def picture_tag(path: str) -> str:
        forget_cached()
        found = re.search(r'<img class="picture"[^>]*>', client.get(path).get_data(as_text=True))
        assert found, f"no picture on {path}"
        return found.group(0)

    english, ukrainian = "Volunteers sorting donated coats", "Волонтери сортують подаровані пальта"
    assert upload(admin, photo(), english, uk_alt=f"  {ukrainian} ").status_code == 303
    uk_tag, en_tag = picture_tag(f"/uk/petitions/{SLUG}"), picture_tag(f"/petitions/{SLUG}")
    assert f'alt="{ukrainian}" fetchpriority' in uk_tag
    assert f'alt="{english}" fetchpriority' in en_tag
    # One address for the picture in both languages: switching language fetches it no more.
    assert re.search(r'src="/media/[0-9a-f]{64}\.jpg"', uk_tag)
    assert re.findall(r"/media/\S+", uk_tag) == re.findall(r"/media/\S+", en_tag)
    uk_page = client.get(f"/uk/petitions/{SLUG}").get_data(as_text=True)
    assert f'<meta property="og:image:alt" content="{ukrainian}">' in uk_page
    assert f'value="{ukrainian}"' in admin.get(EDIT).get_data(as_text=True)  # staff see it
    # Saving the petition's own text keeps the picture's description in Ukrainian.
    saved = admin.post(EDIT, data=edit_fields(admin, ask="Move faster.", uk_title="Нова назва"))
    assert saved.status_code == 303
    assert f'alt="{ukrainian}"' in picture_tag(f"/uk/petitions/{SLUG}")

    # Too long is refused beside the Ukrainian field, and nothing changes.
    refused = upload(admin, None, english, uk_alt="д" * 301)
    assert refused.status_code == 422
    assert re.search(
        r'id="uk_alt-error"[^>]*>Keep it to 300 characters or fewer',
        refused.get_data(as_text=True),
    )
    assert f'alt="{ukrainian}"' in picture_tag(f"/uk/petitions/{SLUG}")

    # Without a Ukrainian description, Ukrainian readers get the English, marked as English.
    assert upload(admin, None, english, uk_alt="").status_code == 303
    assert f'alt="{english}" lang="en-GB"' in picture_tag(f"/uk/petitions/{SLUG}")
    assert upload(admin, None, english, uk_alt=ukrainian).status_code == 303
    token = admin_csrf(admin, EDIT)
    assert admin.post(f"{EDIT}/picture/remove", data={"csrf_token": token}).status_code == 303
    with app.app_context():
        stored = db.session.scalar(select(Petition).where(Petition.slug == SLUG))
        # No picture, no description; what else was written in Ukrainian stays.
        assert stored.translations == {"uk": {"title": "Нова назва"}}
        logged = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "petition_picture_set")
        ).all()
        assert logged[-1].details["changed"] == {"uk_alt": {"from": "", "to": ukrainian}}


def test_readers_cannot_upload_pictures(app, client):
    refused = client.post(
        f"{EDIT}/picture",
        data={"alt": "x", "picture": (io.BytesIO(photo()), "p.jpg")},
        content_type="multipart/form-data",
    )
    assert refused.status_code in (302, 303)
    assert "/admin/login" in refused.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Image)) == 0


# Recent signers


def show_signers(admin: Any) -> None:
    assert admin.post(EDIT, data=edit_fields(admin, show_recent_signers="y")).status_code == 303


def test_recent_signers_are_off_until_staff_turn_them_on(app, admin, client):
    assert 'name="show_publicly"' not in page(client)
    # Even a signer who sends the box (as an API client could) is not shown while it is off.
    confirmed_signatures(
        app,
        client,
        [{"email": "olena@example.org", "name": "Olena Shevchenko", "show_publicly": "y"}],
    )
    assert "Recent signers" not in page(client)
    show_signers(admin)
    html = page(client)
    assert 'name="show_publicly"' in html
    assert "Show my first name and country on this page as a recent signer." in html


def test_only_signers_who_asked_are_shown_by_first_name_and_country(app, admin, client):
    show_signers(admin)
    confirmed_signatures(
        app,
        client,
        [
            {
                "email": "olena@example.org",
                "name": "Olena Shevchenko",
                "country": "UA",
                "postcode": None,
                "show_publicly": "y",
            },
            {"email": "quiet@example.org", "name": "Quiet Person"},
            {"email": "sam@example.org", "name": "Sam Jones", "show_publicly": "y"},
        ],
    )
    # Signed but never confirmed: not shown either.
    sign(client, email="pending@example.org", name="Pending Person", show_publicly="y")
    html = page(client)
    section = html[
        html.index("Recent signers") : html.index("</section>", html.index("Recent signers"))
    ]
    assert "<strong>Sam</strong>, United Kingdom" in section
    assert "<strong>Olena</strong>, Ukraine" in section
    assert section.index("Sam") < section.index("Olena")  # newest first
    for hidden in ("Shevchenko", "Jones", "Quiet", "Pending", "@"):
        assert hidden not in section


def test_a_withdrawn_or_erased_signer_leaves_the_list(app, admin, client, mailbox):
    from petition.services.audit import Actor
    from petition.services.privacy import Person, erase
    from tests.factories import links_in, send_all_mail

    show_signers(admin)
    people = {"olena@example.org": "Olena Shevchenko", "sam@example.org": "Sam Jones"}
    for email, name in people.items():
        assert sign(client, email=email, name=name, show_publicly="y").status_code == 303
    send_all_mail(app)
    links = {email: links_in(mailbox.to(email)[0]) for email in people}
    for email in people:
        assert client.post(links[email]["confirm"], headers=SAME_SITE).status_code == 200
    html = page(client)
    assert "<strong>Olena</strong>" in html and "<strong>Sam</strong>" in html

    assert client.post(links["olena@example.org"]["withdraw"], headers=SAME_SITE).status_code == 200
    html = page(client)
    assert "<strong>Olena</strong>" not in html and "<strong>Sam</strong>" in html

    with app.app_context():
        erase(Person.by_address("sam@example.org"), Actor("admin@example.org"))
    assert "Recent signers" not in page(client)


def test_the_owner_decides_on_the_confirm_page(app, admin, client, mailbox):
    from tests.factories import links_in, send_all_mail

    show_signers(admin)
    assert (
        sign(
            client, email="olena@example.org", name="Olena Shevchenko", show_publicly="y"
        ).status_code
        == 303
    )
    send_all_mail(app)
    link = links_in(mailbox.to("olena@example.org")[0])["confirm"]
    confirm_page = client.get(link).get_data(as_text=True)
    # What the signer chose is shown ticked, and the owner may untick it.
    assert re.search(r'name="show_publicly" type="checkbox" value="y"\s*checked', confirm_page)
    fields = {
        "details_shown": "1",
        "name": "Olena Shevchenko",
        "country": "GB",
        "postcode": "SW1A 1AA",
    }
    assert client.post(link, data=fields, headers=SAME_SITE).status_code == 200
    with app.app_context():
        signature = signature_for("olena@example.org")
        assert signature.state.value == "confirmed"
        assert signature.show_publicly is False
    assert "<strong>Olena</strong>" not in page(client)


def test_the_api_takes_the_choice_too(app, admin, client):
    show_signers(admin)
    from tests.test_widget import api_sign, widget_token  # the widget's path

    def body(email: str, choice: Any) -> dict[str, Any]:
        fields = {"name": "Api Person", "email": email, "country": "FR", "show_publicly": choice}
        return {**fields, "form_token": widget_token(client)}

    done = api_sign(client, body("api@example.org", True))
    assert done.status_code == 202, done.get_json()
    wrong = api_sign(client, body("api2@example.org", "yes"))
    assert wrong.status_code == 422
    assert wrong.get_json()["errors"]["show_publicly"] == "Must be true or false"
    with app.app_context():
        signature = signature_for("api@example.org")
        confirm(signature, Details.of(signature))
        db.session.commit()
    assert "<strong>Api</strong>" in page(client)


@pytest.mark.postgres
def test_recent_signers_are_read_through_their_own_index(app):
    """At ten million signatures the list must not scan the table (EXPLAIN, seq scans priced
    out; the control is test_admin_at_scale's unindexed search)."""
    from petition.services.campaigns import recent_signers_query
    from tests.test_admin_at_scale import explain

    with app.app_context():
        plan = explain(recent_signers_query(1))
    assert "ix_signatures_shown_confirmed_at" in plan, plan
    assert "Seq Scan on signatures" not in plan
