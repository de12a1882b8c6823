"""Pictures staff upload: checked, turned upright, cropped to a landscape shape and re-encoded
at a few widths, so what readers download is small and carries nothing but the picture.

Anything Pillow cannot decode, anything that is not a photograph format, a picture too small
to look sharp or big enough to be a decompression bomb, is refused with a message saying so.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image as Pillow
from PIL import ImageOps, UnidentifiedImageError
from sqlalchemy import select

from petition.extensions import db
from petition.models import Image, ImageRendition
from petition.services.errors import InvalidInput, NotFound
from petition.urls import external_url

FIELD = "picture"
MAX_UPLOAD_BYTES = 12 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 50-megapixel photograph; more is a camera nobody needs here
MIN_WIDTH = 600
FORMATS = {"JPEG", "PNG", "WEBP"}
# Between 4:3 and 2:1; anything taller or wider is cropped from the centre to fit.
NARROWEST, WIDEST = 4 / 3, 2.0
WIDTHS = (480, 960, 1600)
QUALITY = 80


@dataclass(frozen=True)
class Rendition:
    digest: str
    width: int
    height: int


def store_upload(data: bytes, uploaded_by: str) -> Image:
    """The stored image for an uploaded file (the same file twice is stored once); raises
    InvalidInput when it is not a picture we can use. Adds to the session, not committed."""
    if not data:
        raise InvalidInput({FIELD: "Choose a picture to upload"})
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput({FIELD: "The picture must be smaller than 12 MB"})
    upload_digest = hashlib.sha256(data).hexdigest()
    existing = db.session.scalar(select(Image).where(Image.upload_digest == upload_digest))
    if existing is not None:
        return existing
    picture = _decode(data)
    picture = _landscape(picture)
    image = Image(
        upload_digest=upload_digest,
        width=picture.width,
        height=picture.height,
        uploaded_by=uploaded_by,
    )
    for width in sorted({min(w, picture.width) for w in WIDTHS}):
        height = round(picture.height * width / picture.width)
        encoded = _jpeg(picture.resize((width, height), Pillow.Resampling.LANCZOS))
        image.renditions.append(
            ImageRendition(
                width=width,
                height=height,
                media_type="image/jpeg",
                digest=hashlib.sha256(encoded).hexdigest(),
                data=encoded,
            )
        )
    db.session.add(image)
    return image


def _decode(data: bytes) -> Pillow.Image:
    try:
        # Only the header is read here: the pixels are decoded after the size is checked.
        picture = Pillow.open(io.BytesIO(data))
        if picture.format not in FORMATS:
            raise InvalidInput({FIELD: "Upload a JPEG, PNG or WebP picture"})
        if picture.width * picture.height > MAX_PIXELS:
            raise InvalidInput({FIELD: "The picture has too many pixels (50 million at most)"})
        picture.load()
    except (UnidentifiedImageError, Pillow.DecompressionBombError):
        raise InvalidInput({FIELD: "This file is not a picture we can read"}) from None
    except (OSError, SyntaxError, ValueError):
        raise InvalidInput({FIELD: "This picture is damaged or incomplete"}) from None
    picture = ImageOps.exif_transpose(picture)
    if picture.width < MIN_WIDTH:
        raise InvalidInput({FIELD: f"The picture must be at least {MIN_WIDTH} pixels wide"})
    return _flattened(picture)


def _flattened(picture: Pillow.Image) -> Pillow.Image:
    """RGB on white: JPEG has no transparency, and a transparent PNG must not turn black."""
    if picture.mode in ("RGBA", "LA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        background = Pillow.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return picture.convert("RGB")


def _landscape(picture: Pillow.Image) -> Pillow.Image:
    ratio = picture.width / picture.height
    if ratio < NARROWEST:
        height = round(picture.width / NARROWEST)
        top = (picture.height - height) // 2
        return picture.crop((0, top, picture.width, top + height))
    if ratio > WIDEST:
        width = round(picture.height * WIDEST)
        left = (picture.width - width) // 2
        return picture.crop((left, 0, left + width, picture.height))
    return picture


def _jpeg(picture: Pillow.Image) -> bytes:
    out = io.BytesIO()
    # No exif= and no icc_profile=: nothing from the original file is carried over.
    picture.save(out, "JPEG", quality=QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def largest_url(image: Mapping[str, Any] | None) -> str | None:
    """The absolute address of a snapshot's picture at its largest (link previews, OSDI's
    featured_image_url), or None without one."""
    if not image:
        return None
    return external_url("public.media", digest=image["renditions"][-1]["digest"])


def renditions(image_id: int | None) -> list[Rendition]:
    """An image's renditions, narrowest first (for srcset), or none."""
    if image_id is None:
        return []
    rows = db.session.execute(
        select(ImageRendition.digest, ImageRendition.width, ImageRendition.height)
        .where(ImageRendition.image_id == image_id)
        .order_by(ImageRendition.width)
    )
    return [Rendition(*row) for row in rows]


def rendition_bytes(digest: str) -> tuple[bytes, str]:
    """A rendition's bytes and media type, by its address."""
    found = db.session.execute(
        select(ImageRendition.data, ImageRendition.media_type).where(
            ImageRendition.digest == digest
        )
    ).first()
    if found is None:
        raise NotFound(f"no image {digest!r}")
    return found[0], found[1]
