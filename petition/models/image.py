"""Pictures staff upload (a petition's hero image): kept in the database, served by us.

An upload is never served as sent: it is decoded, turned upright, cropped and re-encoded at a
few widths (renditions), which drops whatever the file carried besides the picture (camera
details, a phone's location). Each rendition is addressed by the hash of its bytes, so its
address never changes meaning and browsers may keep it for a year.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petition.models.base import Base, UTCDateTime, utcnow


class Image(Base):
    __tablename__ = "images"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The SHA-256 of the file as uploaded: the same file uploaded twice is stored once.
    upload_digest: Mapped[str] = mapped_column(String(64), unique=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    renditions: Mapped[list[ImageRendition]] = relationship(
        back_populates="image", order_by="ImageRendition.width", cascade="all, delete-orphan"
    )


class ImageRendition(Base):
    __tablename__ = "image_renditions"

    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(32))
    # The SHA-256 of `data`: the rendition's address (/media/<digest>.jpg).
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    image: Mapped[Image] = relationship(back_populates="renditions")
