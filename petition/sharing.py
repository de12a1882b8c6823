"""Share links for each channel, tagged so the campaign can see which ones bring signers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlencode, urlsplit, urlunsplit


@dataclass(frozen=True)
class ShareLink:
    channel: str
    label: str
    href: str


def tagged(url: str, source: str, medium: str, campaign: str = "refugees-welcome") -> str:
    """`url` with utm parameters for one channel."""
    parts = urlsplit(url)
    query = urlencode({"utm_source": source, "utm_medium": medium, "utm_campaign": campaign})
    return urlunsplit(parts._replace(query=f"{parts.query}&{query}" if parts.query else query))


@lru_cache(maxsize=512)
def share_links(url: str, text: str) -> tuple[ShareLink, ...]:
    """The share buttons for a page: built once per page and remembered."""

    def q(**params: str) -> str:
        return urlencode(params)

    return (
        ShareLink(
            "whatsapp",
            "WhatsApp",
            "https://wa.me/?" + q(text=f"{text} {tagged(url, 'whatsapp', 'social')}"),
        ),
        ShareLink(
            "facebook",
            "Facebook",
            "https://www.facebook.com/sharer/sharer.php?" + q(u=tagged(url, "facebook", "social")),
        ),
        ShareLink(
            "x",
            "X (Twitter)",
            "https://twitter.com/intent/tweet?" + q(text=text, url=tagged(url, "x", "social")),
        ),
        ShareLink(
            "bluesky",
            "Bluesky",
            "https://bsky.app/intent/compose?"
            + q(text=f"{text} {tagged(url, 'bluesky', 'social')}"),
        ),
        ShareLink(
            "email",
            "Email",
            "mailto:?"
            + q(subject=text, body=f"{text}\n\n{tagged(url, 'email', 'email')}").replace(
                "+", "%20"
            ),
        ),
    )
