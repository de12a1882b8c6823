"""Articles: the campaign's journalism, each a shareable summary that leads to the petition."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petition.models.base import Base, UTCDateTime, utcnow
from petition.models.campaign import Petition, enum_column


class ArticleState(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_state_published_on", "state", "published_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    headline: Mapped[str] = mapped_column(String(200))
    standfirst: Mapped[str] = mapped_column(String(300))
    key_points: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The summary in other languages: {"uk": {"headline": …, "key_points": […], …}}.
    translations: Mapped[dict[str, dict[str, Any]]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    # What share previews show; the standfirst when empty.
    share_description: Mapped[str | None] = mapped_column(String(200))
    source_url: Mapped[str] = mapped_column(String(500))
    publisher: Mapped[str] = mapped_column(String(120))
    published_on: Mapped[date] = mapped_column(Date)
    image_url: Mapped[str | None] = mapped_column(String(500))
    image_alt: Mapped[str | None] = mapped_column(String(300))
    petition_id: Mapped[int | None] = mapped_column(ForeignKey("petitions.id"), index=True)
    state: Mapped[ArticleState] = mapped_column(
        enum_column(ArticleState, "state"), default=ArticleState.DRAFT
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    petition: Mapped[Petition | None] = relationship()


class ArticleDailyViews(Base):
    """Page views of an article on one day (UTC), counted on our server: no cookie, no tracker."""

    __tablename__ = "article_daily_views"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    views: Mapped[int] = mapped_column(Integer, default=0)
