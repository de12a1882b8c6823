"""A micro-cache in front of the app, for pages and counts that are the same for every reader.

Views mark a response as shareable with `@public_cache(...)` (Cache-Control: public). For the
next COUNT_CACHE_SECONDS this process answers the same URL straight from memory, before Flask
runs at all: on the day a story breaks, thousands of readers a second get the petition page
and its count without a template render or a database query each. Nothing personal can be
cached: public responses carry no cookie (the micro-cache refuses any that does) and vary
only by URL.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from flask import Flask, make_response, request
from flask.wrappers import Response

from petition.ops.logs import request_id

MAX_ENTRIES = 2000
MAX_BODY = 512 * 1024
MAX_QUERY = 600


def public_cache(max_age: int, stale: int = 60) -> Callable[..., Any]:
    """Let browsers, CDNs and the micro-cache keep a successful response for a while."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Response:
            response = make_response(view(*args, **kwargs))
            if response.status_code == 200:
                response.headers["Cache-Control"] = (
                    f"public, max-age={max_age}, stale-while-revalidate={stale}"
                )
            return response

        return wrapped

    return decorate


class MicroCache:
    """WSGI middleware: serve fresh copies of public GET responses from memory."""

    def __init__(self, app: Any, seconds: float, trusted_proxy: bool = False) -> None:
        self.app = app
        self.seconds = seconds
        # Each answer has its own X-Request-ID (our proxy's, where it sends one), a copy too:
        # the filler's would point an operator at somebody else's request.
        self.trusted_proxy = trusted_proxy
        self.store: dict[str, tuple[float, str, list[tuple[str, str]], bytes, str]] = {}
        self.lock = threading.Lock()
        _instances.add(self)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET" or self.seconds <= 0:
            return self.app(environ, start_response)
        query = environ.get("QUERY_STRING", "")
        path = environ.get("PATH_INFO", "")
        if len(query) > MAX_QUERY or path.startswith(("/admin", "/static/", "/go/")):
            return self.app(environ, start_response)
        key = f"{environ.get('HTTP_HOST', '')}{path}?{query}"
        hit = self.store.get(key)
        if hit is not None and hit[0] > time.monotonic():
            _, status, headers, body, etag = hit
            given = {"X-Request-ID": environ.get("HTTP_X_REQUEST_ID", "")}
            headers = [*headers, ("X-Request-ID", request_id(given, self.trusted_proxy))]
            if etag and etag in environ.get("HTTP_IF_NONE_MATCH", ""):
                start_response(
                    "304 NOT MODIFIED", [h for h in headers if h[0].lower() != "content-length"]
                )
                return [b""]
            start_response(status, headers)
            return [body]
        return self._fill(key, environ, start_response)

    def _fill(
        self, key: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return (
                start_response(status, headers, exc_info)
                if exc_info
                else start_response(status, headers)
            )

        result = self.app(environ, capture)
        status = captured.get("status", "")
        headers = captured.get("headers", [])
        if not status.startswith("200") or not _shareable(headers):
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        if len(body) <= MAX_BODY:
            etag = next((v for k, v in headers if k.lower() == "etag"), "")
            with self.lock:
                if len(self.store) >= MAX_ENTRIES:
                    self.store.clear()
                kept = [h for h in headers if h[0].lower() != "x-request-id"]
                self.store[key] = (time.monotonic() + self.seconds, status, kept, body, etag)
        return [body]

    def clear(self) -> None:
        self.store.clear()


_instances: weakref.WeakSet[MicroCache] = weakref.WeakSet()


def clear_all() -> None:
    """Forget every stored response in this process (tests; admins' changes show within 1 s)."""
    for instance in list(_instances):
        instance.clear()


def _shareable(headers: list[tuple[str, str]]) -> bool:
    names = {k.lower(): v for k, v in headers}
    return (
        "set-cookie" not in names
        and "public" in names.get("cache-control", "")
        and "vary" not in names
    )


def add_etag(response: Response) -> Response:
    """A strong ETag on public pages, so browsers and CDNs can revalidate cheaply."""
    if (
        response.status_code == 200
        and not response.direct_passthrough
        and "ETag" not in response.headers
    ):
        if "public" in response.headers.get("Cache-Control", ""):
            response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
            response.make_conditional(request)
            # make_conditional stamps a Date; the server adds its own, and a copy kept by the
            # micro-cache would replay a stale one beside it.
            del response.headers["Date"]
    return response


def init_microcache(app: Flask) -> None:
    app.after_request(add_etag)
    cache = MicroCache(
        app.wsgi_app,
        app.config["COUNT_CACHE_SECONDS"],
        trusted_proxy=app.config["TRUSTED_PROXY_COUNT"] > 0,
    )
    app.extensions["microcache"] = cache
    app.wsgi_app = cache  # type: ignore[method-assign]
