"""The campaign aggregate: a campaign, its petitions, the milestones they pass, their news."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petition import i18n
from petition.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from petition.models.image import Image
    from petition.models.outbox import Mailing

# The goal shown to readers raises itself to the next of these once it is passed.
MILESTONES = (
    100,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
)


def enum_column(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column: a VARCHAR with a named CHECK constraint of its values."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


class PetitionState(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    tagline: Mapped[str] = mapped_column(String(200), default="")
    intro: Mapped[str] = mapped_column(Text, default="")
    history: Mapped[str] = mapped_column(Text, default="")
    gofundme_url: Mapped[str | None] = mapped_column(String(500))
    # The campaign's copy in other languages: {"uk": {"tagline": …, "intro": …, "history": …}}.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    petitions: Mapped[list[Petition]] = relationship(back_populates="campaign")


class Petition(Base):
    __tablename__ = "petitions"
    __table_args__ = (
        CheckConstraint("goal > 0", name="goal_positive"),
        CheckConstraint(
            "confirmed_count >= 0 AND pending_count >= 0 "
            "AND withdrawn_count >= 0 AND invalidated_count >= 0",
            name="counts_not_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    ask: Mapped[str] = mapped_column(Text)
    background: Mapped[str] = mapped_column(Text, default="")
    goal: Mapped[int] = mapped_column(Integer, default=10_000)
    # Whom the petition asks ("To: the Home Secretary") and who started it, as readers see them.
    addressee: Mapped[str] = mapped_column(String(200), default="", server_default="")
    starter: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # What happens when the count passes a number: [{"count": 10000, "text": "…"}], ascending.
    thresholds: Mapped[list[dict[str, object]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    # The hero picture (stored and served by us) and the words that describe it.
    image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id"))
    image_alt: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # What staff wrote, in other languages: {"uk": {"title": …, "ask": …}}; a field with no
    # translation is shown in English, marked as English (i18n.localized).
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    # Whether the page lists the latest signers who asked to be shown (first name, country).
    show_recent_signers: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    state: Mapped[PetitionState] = mapped_column(
        enum_column(PetitionState, "state"), default=PetitionState.DRAFT, index=True
    )
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Stored counts, refreshed in batches from the count journal (never per signature).
    confirmed_count: Mapped[int] = mapped_column(Integer, default=0)
    pending_count: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn_count: Mapped[int] = mapped_column(Integer, default=0)
    invalidated_count: Mapped[int] = mapped_column(Integer, default=0)
    counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last reconciliation of the stored counts with the signatures (`flask recount`), and
    # whether the counts already matched.
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reconciled_matched: Mapped[bool | None] = mapped_column(Boolean)
    # When retention removed the personal data of every signature (CLOSED_RETENTION_DAYS after
    # it closed): later purges need not look at this petition's signatures again.
    personal_data_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="petitions")
    image: Mapped[Image | None] = relationship()
    milestones: Mapped[list[PetitionMilestone]] = relationship(
        back_populates="petition", order_by="PetitionMilestone.threshold"
    )
    news: Mapped[list[PetitionNews]] = relationship(
        back_populates="petition",
        order_by="(PetitionNews.published_at.desc(), PetitionNews.id.desc())",
    )

    def title_in(self, language: str) -> str:
        """The title as readers of `language` see it (English where staff wrote none)."""
        return i18n.written_in(self.title, self.translations, language, "title")

    def is_open(self, now: datetime | None = None) -> bool:
        """Whether signatures are being taken right now."""
        now = now or utcnow()
        if self.state != PetitionState.OPEN:
            return False
        if self.opens_at and now < self.opens_at:
            return False
        return not (self.closes_at and now >= self.closes_at)

    def public_state(self, now: datetime | None = None) -> str:
        """What readers and the API are told, by the same rule as signing: open, closed (by
        staff, or past its closing date) or scheduled (opening later)."""
        if self.is_open(now):
            return "open"
        if self.state == PetitionState.CLOSED or self.ended_at() is not None:
            return "closed"
        return "scheduled"

    def ended_at(self) -> datetime | None:
        """When signing stopped, if it has."""
        if self.state == PetitionState.CLOSED:
            return self.closed_at or self.closes_at or self.updated_at
        if self.closes_at and utcnow() >= self.closes_at:
            return self.closes_at
        return None

    def accepts_confirmations(self, grace: timedelta, now: datetime | None = None) -> bool:
        """Signatures made while open may still be confirmed for a grace period after closing."""
        now = now or utcnow()
        if self.is_open(now):
            return True
        ended = self.ended_at()
        return ended is not None and now < ended + grace


def display_goal(goal: int, count: int) -> int:
    """The goal readers see: the set goal until it is reached, then the next milestone."""
    if count < goal:
        return goal
    for milestone in MILESTONES:
        if milestone > count and milestone > goal:
            return milestone
    return (count // 1_000_000 + 1) * 1_000_000


class PetitionMilestone(Base):
    """A threshold a petition's confirmed count has passed, and when."""

    __tablename__ = "petition_milestones"

    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), primary_key=True)
    threshold: Mapped[int] = mapped_column(Integer, primary_key=True)
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    petition: Mapped[Petition] = relationship(back_populates="milestones")


class PetitionNews(Base):
    """What happened next, told to everyone who comes to the petition: handed in, answered…"""

    __tablename__ = "petition_news"

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    # The news in other languages: {"uk": {"title": …, "body": …}}.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Kept as text, as in the audit log, so the byline survives the account.
    author: Mapped[str] = mapped_column(String(254))

    petition: Mapped[Petition] = relationship(back_populates="news")
    # Emailed once, if staff choose, to the confirmed signers who asked for updates.
    mailing: Mapped[Mailing | None] = relationship(viewonly=True)
