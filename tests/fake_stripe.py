"""A small HTTP server that speaks the parts of Stripe's API we call, for the real client.

Only the edge of the world is faked: the `stripe` library, its HTTP client, retries and
idempotency keys all run for real against it (STRIPE_API_BASE points the client here).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import stripe

from tests.parts import free_port

SECRET_KEY = "sk_test_fake"
WEBHOOK_SECRET = "whsec_test_secret"


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, str]


@dataclass
class FakeStripe:
    port: int = field(default_factory=free_port)
    calls: list[Call] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[int] = field(default_factory=list)  # status codes to answer next, in order
    # Run while a request is being answered: what the caller is doing as Stripe thinks.
    while_answering: Callable[[], None] | None = None
    _by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                params = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                fake.handle(self, "POST", params)

            def do_GET(self) -> None:  # noqa: N802
                fake.handle(self, "GET", {})

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, handler: BaseHTTPRequestHandler, method: str, params: dict[str, str]) -> None:
        call = Call(method, handler.path, dict(handler.headers.items()), params)
        if self.while_answering is not None:
            self.while_answering()
        with self._lock:
            self.calls.append(call)
            failure = self.failures.pop(0) if self.failures else None
        if failure:
            return self._reply(
                handler, failure, {"error": {"type": "api_error", "message": "Stripe is down"}}
            )
        if call.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
            return self._reply(
                handler,
                401,
                {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}},
            )
        if method == "POST" and handler.path == "/v1/checkout/sessions":
            return self._reply(handler, 200, self._create_session(call))
        if method == "GET" and handler.path.startswith("/pay/"):
            body = b"<!doctype html><title>Stripe Checkout (test)</title><h1>Pay</h1>"
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return None
        return self._reply(
            handler, 404, {"error": {"type": "invalid_request_error", "message": "Unknown"}}
        )

    def _create_session(self, call: Call) -> dict[str, Any]:
        key = call.headers.get("Idempotency-Key", "")
        with self._lock:
            if key and key in self._by_key:
                return self._by_key[key]
            session_id = f"cs_test_{next(self._ids):06d}"
            p = call.params
            session = {
                "id": session_id,
                "object": "checkout.session",
                "url": f"{self.url}/pay/{session_id}",
                "mode": p.get("mode"),
                "status": "open",
                "payment_status": "unpaid",
                "amount_total": int(p.get("line_items[0][price_data][unit_amount]", 0)),
                "currency": p.get("line_items[0][price_data][currency]"),
                "client_reference_id": p.get("client_reference_id"),
                "metadata": {k[9:-1]: v for k, v in p.items() if k.startswith("metadata[")},
                "payment_intent": f"pi_test_{session_id[8:]}",
                "success_url": p.get("success_url"),
                "cancel_url": p.get("cancel_url"),
            }
            self.sessions[session_id] = session
            if key:
                self._by_key[key] = session
            return session

    def _reply(self, handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Request-Id", "req_test")
        handler.end_headers()
        handler.wfile.write(body)

    def checkout_calls(self) -> list[Call]:
        return [c for c in self.calls if c.path == "/v1/checkout/sessions"]


def event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{event_type.replace('.', '_')}_{obj.get('id', 'x')}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": obj},
    }


def signed(
    payload: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None
) -> tuple[bytes, str]:
    """A webhook body and the Stripe-Signature header Stripe would send with it."""
    body = json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=at)
    return body.encode(), header
