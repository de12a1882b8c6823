"""Absolute links for emails and share buttons, built from PUBLIC_URL and never from `Host`."""

from __future__ import annotations

from typing import Any

from flask import current_app


def external_url(endpoint: str, **values: Any) -> str:
    """The public address of an endpoint; works in requests, the CLI and the worker alike."""
    adapter = current_app.extensions.get("public_url_adapter")
    if adapter is None:
        adapter = current_app.extensions["public_url_adapter"] = current_app.url_map.bind(
            "localhost"
        )
    return current_app.config["PUBLIC_URL"] + adapter.build(endpoint, values)
