"""Admin forms (Flask-WTF: CSRF-protected through the admin session)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from petition import i18n
from petition.models import INVALIDATION_CATEGORIES, SignatureState
from petition.services import thresholds as threshold_lines
from petition.services.articles import ArticleDraft
from petition.services.campaigns import PICTURE_ALT
from petition.services.errors import InvalidInput
from petition.services.exports import ExportFilter
from petition.services.moderation import SignatureFilter
from petition.services.petitions import CampaignCopy, NewsDraft, PetitionDraft

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def start_of(day: Any) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def end_of(day: Any) -> datetime | None:
    """The moment after a day ends, so `until` includes the whole day."""
    from datetime import timedelta

    return datetime.combine(day, time.min, tzinfo=UTC) + timedelta(days=1) if day else None


def attach_errors(form: FlaskForm, exc: InvalidInput) -> None:
    """Show a service's refusal next to the field it is about."""
    for field, message in exc.errors.items():
        target = getattr(form, field)
        target.errors = [*target.errors, message]


class SlugField(StringField):
    """A web address made of lower-case words and hyphens, fixed once the thing exists."""

    def __init__(self, example: str, max_length: int, **kwargs: Any) -> None:
        super().__init__(
            "Web address",
            description=(
                f"Lower-case words joined by hyphens, as in {example}. It cannot change later."
            ),
            validators=[
                DataRequired("Enter the web address"),
                Length(max=max_length),
                _slug_shape,
            ],
            filters=[_strip],
            **kwargs,
        )
        self.max_length = max_length


def _slug_shape(form: FlaskForm, field: StringField) -> None:
    if not SLUG.match(field.data or ""):
        raise ValidationError("Use lower-case letters, numbers and single hyphens only")


class StaffForm(FlaskForm):
    """Every admin form. A page holding several forms holds several CSRF fields: they carry no
    id, which would be the same ("csrf_token") on each and so not an id at all."""

    class Meta:
        def render_field(self, field: Any, render_kw: dict[str, Any]) -> Any:
            if field.type == "CSRFTokenField":
                render_kw = {"id": False, **render_kw}
            return super().render_field(field, render_kw)  # type: ignore[misc]


class LoginForm(StaffForm):
    email = EmailField(
        "Email address",
        validators=[DataRequired("Enter your email address"), Length(max=254)],
        filters=[_strip],
    )
    password = PasswordField(
        "Password", validators=[InputRequired("Enter your password"), Length(max=1024)]
    )


class CodeForm(StaffForm):
    code = StringField(
        "Code from your authenticator app",
        validators=[DataRequired("Enter the 6-digit code from your app"), Length(max=20)],
        filters=[_strip],
    )


class TwoFactorSetupForm(StaffForm):
    """Turning two-step verification on: the password again, and a code from the new app."""

    password = PasswordField(
        "Your password", validators=[InputRequired("Enter your password"), Length(max=1024)]
    )
    code = StringField(
        "Code from your authenticator app",
        validators=[DataRequired("Enter the 6-digit code from your app"), Length(max=20)],
        filters=[_strip],
    )


class PasswordChangeForm(StaffForm):
    current_password = PasswordField(
        "Current password",
        validators=[InputRequired("Enter your current password"), Length(max=1024)],
    )
    new_password = PasswordField(
        "New password", validators=[InputRequired("Enter a new password"), Length(max=1024)]
    )
    repeat_password = PasswordField(
        "New password again",
        validators=[InputRequired("Enter the new password again"), Length(max=1024)],
    )

    def validate_repeat_password(self, field: PasswordField) -> None:
        if field.data != self.new_password.data:
            raise ValidationError("The two new passwords are not the same")


class PasswordCheckForm(StaffForm):
    """An action that asks for the password again (turning two-step verification off)."""

    password = PasswordField(
        "Your password", validators=[InputRequired("Enter your password"), Length(max=1024)]
    )


class Translatable:
    """A form whose English text fields have a version in each other language, edited side by
    side: "<code>_<field>" (uk_title), added by `with_translations`."""

    TRANSLATED: tuple[tuple[str, type, int], ...] = ()

    def show_translations(self, translations: dict[str, dict[str, str]] | None) -> None:
        for code, written in (translations or {}).items():
            for name, _, _ in self.TRANSLATED:
                field = getattr(self, f"{code}_{name}", None)
                if field is not None:
                    field.data = written.get(name, "")

    def translation_fields(self, code: str) -> list[tuple[Any, Any]]:
        """(English field, the same in `code`) pairs, for the side-by-side editor."""
        return [(getattr(self, n), getattr(self, f"{code}_{n}")) for n, _, _ in self.TRANSLATED]

    def in_other_languages(self, name: str) -> dict[str, str]:
        """One field in each other language, as typed ("" where there is none)."""
        return {
            code: getattr(self, f"{code}_{name}").data or ""
            for code in i18n.LANGUAGES
            if code != i18n.DEFAULT
        }

    def translations(self) -> dict[str, dict[str, str]]:
        found = {}
        for code in i18n.LANGUAGES:
            if code == i18n.DEFAULT:
                continue
            fields = [
                (name, getattr(self, f"{code}_{name}").data) for name, _, _ in self.TRANSLATED
            ]
            if written := {name: text for name, text in fields if text}:
                found[code] = written
        return found


def with_translations(form: type) -> type:
    """Add each other language's version of the form's TRANSLATED fields (the English
    field's limit, no requirement: a missing one shows the English, marked so)."""
    for code, language in i18n.LANGUAGES.items():
        if code == i18n.DEFAULT:
            continue
        for name, kind, limit in form.TRANSLATED:
            field = kind(
                language.name,
                validators=[Length(max=limit, message=f"Keep it to {limit:,} characters or fewer")],
                filters=[_strip],
                default="",
            )
            setattr(form, f"{code}_{name}", field)
    return form


@with_translations
class NewsForm(Translatable, StaffForm):
    TRANSLATED = (("title", StringField, 120), ("body", TextAreaField, 5000))

    title = StringField(
        "Headline",
        validators=[DataRequired("Enter a headline"), Length(max=120)],
        filters=[_strip],
    )
    body = TextAreaField(
        "What happened",
        validators=[DataRequired("Say what happened"), Length(max=5000)],
        filters=[_strip],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Beside the petition's own form on its page: its fields need names of their own.
        super().__init__(*args, prefix="news", **kwargs)

    def draft(self) -> NewsDraft:
        return NewsDraft(
            title=self.title.data, body=self.body.data, translations=self.translations()
        )


class ActionForm(StaffForm):
    """A button that changes something: carries nothing but its CSRF token."""


class PartnerForm(StaffForm):
    slug = StringField("Short name, for addresses", validators=[InputRequired(), Length(max=60)])
    name = StringField("Name", validators=[InputRequired(), Length(max=120)])
    website = StringField("Website", validators=[Optional(), Length(max=300)])
    question = TextAreaField(
        "Their own question to signers", validators=[Optional(), Length(max=500)]
    )


@with_translations
class QuestionForm(Translatable, StaffForm):
    TRANSLATED = (("question", TextAreaField, 500),)

    question = TextAreaField("Their own question", validators=[Optional(), Length(max=500)])


class KeyForm(StaffForm):
    write = BooleanField("May record signatures")
    trusted = BooleanField("Trusted: its signatures count at once, without our email")


class WebhookForm(StaffForm):
    url = StringField("Address (https://…)", validators=[InputRequired(), Length(max=500)])


@with_translations
class PetitionForm(Translatable, StaffForm):
    TRANSLATED = (
        ("title", StringField, 200),
        ("ask", TextAreaField, 2000),
        ("background", TextAreaField, 5000),
        ("addressee", StringField, 200),
        ("starter", StringField, 200),
        ("thresholds", TextAreaField, 2000),
    )

    slug = SlugField("/petitions/help-ukraine-refugees", 80)
    title = StringField(
        "Title", validators=[DataRequired("Enter a title"), Length(max=200)], filters=[_strip]
    )
    ask = TextAreaField(
        "What we ask the government",
        validators=[DataRequired("Enter the ask"), Length(max=2000)],
        filters=[_strip],
    )
    background = TextAreaField(
        "Why it matters (campaign copy)", validators=[Length(max=5000)], filters=[_strip]
    )
    goal = IntegerField(
        "Goal (signatures)",
        description="Once passed, readers see the next milestone as the goal.",
        validators=[InputRequired("Enter a goal"), NumberRange(min=1, max=100_000_000)],
        default=10_000,
    )
    closes_on = DateField("Closes on (optional)", validators=[Optional()])
    addressee = StringField(
        "Addressed to", validators=[Length(max=200)], filters=[_strip], default=""
    )
    starter = StringField("Started by", validators=[Length(max=200)], filters=[_strip], default="")
    thresholds = TextAreaField("What happens at thresholds", validators=[Length(max=2000)])
    show_recent_signers = BooleanField("Show recent signers on the petition page")

    def show(self, petition: Any) -> None:
        """Fill the form from a petition (the thresholds as the lines staff edit, and what
        was written in each other language)."""
        self.process(obj=petition)
        self.thresholds.data = threshold_lines.as_text(petition.thresholds or [])
        if petition.closes_at:
            self.closes_on.data = petition.closes_at.date()
        self.show_translations(petition.translations)

    def draft(self) -> PetitionDraft:
        return PetitionDraft(
            slug=self.slug.data,
            title=self.title.data,
            ask=self.ask.data,
            background=self.background.data or "",
            goal=self.goal.data,
            closes_at=end_of(self.closes_on.data),
            addressee=self.addressee.data or "",
            starter=self.starter.data or "",
            thresholds=threshold_lines.from_text(self.thresholds.data or ""),
            show_recent_signers=bool(self.show_recent_signers.data),
            translations=self.translations(),
        )


@with_translations
class PictureForm(Translatable, StaffForm):
    """The petition's hero picture: a file (optional once there is one) and its description,
    in English and in each other language."""

    TRANSLATED = (("alt", StringField, 300),)

    picture = FileField("Picture")
    alt = StringField("Describe the picture", filters=[_strip])

    def show(self, petition: Any) -> None:
        """Fill the descriptions from the petition (other languages keep theirs among the
        petition's translations)."""
        self.alt.data = petition.image_alt
        self.show_translations(
            {
                code: {"alt": written.get(PICTURE_ALT, "")}
                for code, written in (petition.translations or {}).items()
            }
        )

    def upload(self) -> bytes | None:
        stored = self.picture.data
        return stored.read() if stored else None


@with_translations
class ArticleForm(Translatable, StaffForm):
    TRANSLATED = (
        ("headline", StringField, 200),
        ("standfirst", TextAreaField, 400),
        ("key_points", TextAreaField, 3000),
        ("share_description", TextAreaField, 200),
        ("image_alt", StringField, 300),
    )

    slug = SlugField("/articles/riot-police-sue", 100)
    headline = StringField(
        "Headline",
        validators=[DataRequired("Enter a headline"), Length(max=200)],
        filters=[_strip],
    )
    standfirst = TextAreaField(
        "Standfirst",
        description="One or two sentences under the headline; 300 characters at most.",
        validators=[
            DataRequired("Enter a standfirst"),
            Length(max=300, message="Keep the standfirst to 300 characters"),
        ],
        filters=[_strip],
    )
    key_points = TextAreaField(
        "Key points",
        description="Between 3 and 6, one per line, in our own words.",
        validators=[DataRequired("Enter the key points")],
    )
    share_description = TextAreaField(
        "Description for share previews (og:description)",
        description=(
            "What Facebook, WhatsApp and others show under the headline; 200 characters at most. "
            "Empty: the standfirst."
        ),
        validators=[Optional(), Length(max=200, message="Keep it to 200 characters")],
        filters=[_strip],
    )
    source_url = StringField(
        "Full story address",
        validators=[
            DataRequired("Enter the address of the full story"),
            URL(message="Enter a full web address"),
            Length(max=500),
        ],
        filters=[_strip],
    )
    publisher = StringField(
        "Publisher",
        validators=[DataRequired("Enter the publisher"), Length(max=120)],
        filters=[_strip],
    )
    published_on = DateField(
        "Published on", validators=[InputRequired("Enter the date it was published")]
    )
    image_url = StringField(
        "Image address (optional)",
        validators=[Optional(), URL(), Length(max=500)],
        filters=[_strip],
    )
    image_alt = StringField(
        "Image description (alt text)", validators=[Optional(), Length(max=300)], filters=[_strip]
    )
    petition = SelectField("Petition it supports", choices=[], validate_choice=False)

    def points(self, field: Any = None) -> list[str]:
        text = (field or self.key_points).data or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def show_translations(self, translations: dict[str, dict[str, Any]] | None) -> None:
        """As Translatable, with the key points as the lines staff edit."""
        as_lines = {
            code: {**written, "key_points": "\n".join(written.get("key_points", []))}
            for code, written in (translations or {}).items()
        }
        super().show_translations(as_lines)

    def translations(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = super().translations()
        for code, written in found.items():
            if "key_points" in written:
                written["key_points"] = self.points(getattr(self, f"{code}_key_points"))
        return found

    def draft(self) -> ArticleDraft:
        return ArticleDraft(
            slug=self.slug.data,
            headline=self.headline.data,
            standfirst=" ".join((self.standfirst.data or "").split()),
            key_points=self.points(),
            share_description=self.share_description.data or None,
            source_url=self.source_url.data,
            publisher=self.publisher.data,
            published_on=self.published_on.data,
            image_url=self.image_url.data or None,
            image_alt=self.image_alt.data or None,
            petition_slug=self.petition.data or None,
            translations=self.translations(),
        )


@with_translations
class CampaignForm(Translatable, StaffForm):
    TRANSLATED = (
        ("tagline", StringField, 200),
        ("intro", TextAreaField, 5000),
        ("history", TextAreaField, 5000),
    )

    name = StringField(
        "Campaign name", validators=[DataRequired(), Length(max=120)], filters=[_strip]
    )
    tagline = StringField("Tagline", validators=[Length(max=200)], filters=[_strip])
    intro = TextAreaField("Introduction", validators=[Length(max=5000)], filters=[_strip])
    history = TextAreaField("About the campaign", validators=[Length(max=5000)], filters=[_strip])

    def copy(self) -> CampaignCopy:
        return CampaignCopy(
            name=self.name.data,
            tagline=self.tagline.data or "",
            intro=self.intro.data or "",
            history=self.history.data or "",
            translations=self.translations(),
        )


class FundraiserForm(StaffForm):
    """Where every donate link leads: admins only (the rules live in services/fundraiser.py)."""

    gofundme_url = StringField(
        "GoFundMe fundraiser address", validators=[Length(max=500)], filters=[_strip]
    )


STATE_CHOICES = [SelectChoice("", "Any state")] + [
    SelectChoice(s.value, s.value.capitalize()) for s in SignatureState
]


class SearchForm(StaffForm):
    """The signature search: read-only, sent by GET, so no CSRF token."""

    class Meta:
        csrf = False

    petition = SelectField("Petition", choices=[], validate_choice=False)
    email = StringField(
        "Email (any spelling)", validators=[Optional(), Length(max=254)], filters=[_strip]
    )
    domain = StringField("Email domain", validators=[Optional(), Length(max=253)], filters=[_strip])
    ip = StringField(
        "IP address or range", validators=[Optional(), Length(max=50)], filters=[_strip]
    )
    postcode = StringField(
        "Postcode starts with", validators=[Optional(), Length(max=16)], filters=[_strip]
    )
    name = StringField("Name contains", validators=[Optional(), Length(max=100)], filters=[_strip])
    since = DateField("Signed from", validators=[Optional()])
    until = DateField("Signed until", validators=[Optional()])
    state = SelectField("State", choices=STATE_CHOICES, default="")

    def filter(self) -> SignatureFilter:
        return SignatureFilter(
            petition=self.petition.data or None,
            email=self.email.data or None,
            domain=self.domain.data or None,
            ip=self.ip.data or None,
            postcode=self.postcode.data or None,
            name=self.name.data or None,
            since=start_of(self.since.data),
            until=end_of(self.until.data),
            state=SignatureState(self.state.data) if self.state.data else None,
        )


class BulkForm(StaffForm):
    reason = StringField(
        "Reason (kept in the audit log)", validators=[Optional(), Length(max=200)], filters=[_strip]
    )
    category = SelectField(
        "Kind of problem (published in the integrity report)",
        choices=[SelectChoice(value, label) for value, label in INVALIDATION_CATEGORIES.items()],
        default="other",
    )
    expected = IntegerField(validators=[InputRequired()])


class PrivacyForm(StaffForm):
    class Meta:
        csrf = False

    email = EmailField(
        "Reader's email address",
        validators=[DataRequired("Enter an email address"), Length(max=254)],
        filters=[_strip],
    )


class SuppressionForm(StaffForm):
    email = EmailField(
        "Email address",
        validators=[DataRequired("Enter an email address"), Length(max=254)],
        filters=[_strip],
    )


class PrivacyActionForm(StaffForm):
    email = HiddenField(validators=[InputRequired(), Length(max=254)])
    confirm = BooleanField("I have checked this is the reader's own request")


class ExportForm(StaffForm):
    class Meta:
        csrf = False

    state = SelectField(
        "Signatures",
        choices=[
            SelectChoice("confirmed", "Confirmed"),
            SelectChoice("pending", "Pending"),
            SelectChoice("withdrawn", "Withdrawn"),
            SelectChoice("invalidated", "Invalidated"),
            SelectChoice("all", "All"),
        ],
        default="confirmed",
    )
    consent = SelectField(
        "Consent to updates",
        choices=[
            SelectChoice("any", "Any"),
            SelectChoice("yes", "Only those who agreed"),
            SelectChoice("no", "Only those who did not"),
        ],
        default="any",
    )
    since = DateField("Signed from", validators=[Optional()])
    until = DateField("Signed until", validators=[Optional()])
    layout = SelectField(
        "Columns",
        choices=[
            SelectChoice("ours", "Ours"),
            SelectChoice("action_network", "Action Network (only those who agreed to updates)"),
        ],
        default="ours",
    )

    def export_filter(self) -> ExportFilter:
        return ExportFilter(
            state=None
            if self.state.data == "all"
            else SignatureState(self.state.data or "confirmed"),
            consent={"yes": True, "no": False}.get(self.consent.data or "any"),
            since=start_of(self.since.data),
            until=end_of(self.until.data),
            layout=self.layout.data or "ours",
        )
