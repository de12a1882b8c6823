"""Absolute links for emails and share buttons, built from PUBLIC_URL and never from `Host`."""

from __future__ import annotations

from typing import Any

from flask import current_app
from werkzeug.routing import IntegerConverter, Map


def external_url(endpoint: str, **values: Any) -> str:
    """The public address of an endpoint; works in requests, the CLI and the worker alike.
    `_language` (a code other than English) puts the page in that language."""
    language = values.pop("_language", None)
    prefix = f"/{language}" if language and language != "en" else ""
    return current_app.config["PUBLIC_URL"] + prefix + site_path(endpoint, **values)


def site_path(endpoint: str, **values: Any) -> str:
    """An endpoint's path from the site's root, the same in every language (static files)."""
    adapter = current_app.extensions.get("public_url_adapter")
    if adapter is None:
        adapter = current_app.extensions["public_url_adapter"] = current_app.url_map.bind(
            "localhost"
        )
    return adapter.build(endpoint, values)


class DatabaseInt(IntegerConverter):
    """`<int:…>` in every route: a whole number a database column can hold (a bigint). A
    larger one in an address is no page (404), rather than a fault in the database driver."""

    def __init__(self, url_map: Map, fixed_digits: int = 0, min: int | None = None) -> None:  # noqa: A002
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=2**63 - 1)
