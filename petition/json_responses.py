"""Public JSON (and CSV) answers anyone may read and any cache may keep: a strong ETag for cheap
revalidation, and a 304 when the reader already has it. Used by the API and the widget."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Response, request


def public_json(payload: Any, max_age: int = 5) -> Response:
    """A cacheable JSON response anyone may read, with a strong ETag for cheap revalidation."""
    return encoded_json(encode(payload), max_age)


def encode(payload: Any) -> dict[str, str]:
    return encode_text(json.dumps(payload, separators=(",", ":"), ensure_ascii=False))


def encoded_json(
    encoded: dict[str, str], max_age: int, mimetype: str = "application/json"
) -> Response:
    etag = encoded["etag"]
    headers = {
        "Cache-Control": f"public, max-age={max_age}, stale-while-revalidate=30",
        "ETag": f'"{etag}"',
    }
    if etag in request.if_none_match:
        return Response(status=304, headers=headers)
    return Response(encoded["body"], mimetype=mimetype, headers=headers)


def encode_text(body: str) -> dict[str, str]:
    return {"body": body, "etag": hashlib.sha256(body.encode()).hexdigest()[:32]}
