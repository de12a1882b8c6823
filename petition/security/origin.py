"""Where a POST came from, judged by `Origin` and `Sec-Fetch-Site` (browsers set both)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from flask import current_app, request


@lru_cache(maxsize=256)
def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def own_origins() -> set[str]:
    return {origin_of(current_app.config["PUBLIC_URL"]), origin_of(request.host_url)}


def embed_origins() -> list[str]:
    """Origins allowed to frame the widget (EMBED_ALLOWED_ORIGINS, space or comma separated)."""
    raw = current_app.config["EMBED_ALLOWED_ORIGINS"].replace(",", " ")
    return [o.rstrip("/") for o in raw.split() if o]


def origin_allowed(extra: Iterable[str] = (), allow_null: bool = False) -> bool:
    """False for a browser request sent from a page that is not ours (or one we allow).

    Requests with neither header come from non-browser clients (curl, servers); they still
    need a valid form token.
    """
    origin = request.headers.get("Origin")
    if origin is not None:
        if origin == "null":
            return allow_null
        allowed = own_origins() | {o.lower() for o in extra}
        return "*" in allowed or origin.lower() in allowed
    return request.headers.get("Sec-Fetch-Site", "same-origin") in {"same-origin", "none"}
