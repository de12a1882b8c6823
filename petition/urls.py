"""Absolute links for emails and share buttons, built from PUBLIC_URL and never from `Host`."""

from __future__ import annotations

from typing import Any

from flask import current_app


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
