"""The real parts tests talk to: an SMTP server on loopback, PostgreSQL databases, a live server.

A part that is missing skips its tests with the reason on a laptop; with REQUIRE_ALL_PARTS=1
(as `.ci/run` sets) it fails them instead.
"""

from __future__ import annotations

import asyncio
import email
import fcntl
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from werkzeug.serving import make_server
from werkzeug.wsgi import ClosingIterator


def require_part(name: str, detail: str, reason: str = "") -> None:
    """Check that a part answers; skip (laptop) or fail (CI) when it does not."""
    problem = reason or _probe(detail)
    if problem is None:
        return
    message = f"{name} is not available ({detail}): {problem}"
    if os.environ.get("REQUIRE_ALL_PARTS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _probe(url: str) -> str | None:
    if url.startswith("postgres"):
        try:
            psycopg.connect(libpq_url(url), connect_timeout=3).close()
        except psycopg.Error as exc:
            return str(exc).strip()
    return None


def libpq_url(url: str) -> str:
    """A libpq URL from a SQLAlchemy one."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def postgres_database(server_url: str, name: str) -> Iterator[str]:
    """Create an empty database `name` next to the one in `server_url`, and drop it after."""
    admin = libpq_url(server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message it receives.

    `refuse` maps a recipient address to the reply it gets instead of being accepted (e.g.
    "550 5.1.1 No such user"), `refuse_data` to the reply its message gets once sent (e.g.
    "554 5.7.1 Sender not verified"), `delay` slows the answer to every message's data down,
    like a busy relay, and `rcpt_delay` the answer to every recipient.
    """

    def __init__(self, port: int | None = None, delay: float = 0.0) -> None:
        self.port = port or free_port()
        self.delay = delay
        self.rcpt_delay = 0.0
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []  # each message's bytes exactly as they arrived
        self.senders: list[str] = []  # each message's envelope sender (MAIL FROM)
        self.refuse: dict[str, str] = {}
        self.refuse_data: dict[str, str] = {}
        # Set when a message's data has arrived, before the answer (and its delay).
        self.receiving = threading.Event()
        self._arrived = threading.Condition()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        refusal = self.refuse.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.receiving.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        for address in envelope.rcpt_tos:
            if address.lower() in self.refuse_data:
                return self.refuse_data[address.lower()]
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self.raw.append(envelope.original_content or envelope.content)
            self.senders.append(envelope.mail_from)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def start(self) -> Mailbox:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        with self._arrived:
            self.messages.clear()
            self.raw.clear()
            self.senders.clear()
            self.receiving.clear()
            self.refuse.clear()
            self.refuse_data.clear()
            self.rcpt_delay = 0.0

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Block until at least `count` messages have arrived; fail after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} message(s), got {len(self.messages)} after {timeout}s"
                    )
                self._arrived.wait(left)
            return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] and address.lower() in str(m["To"]).lower()]


def start_mailbox(port: int | None = None, delay: float = 0.0) -> Mailbox:
    return Mailbox(port, delay).start()


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return body.get_content()


class LiveServer:
    """The app served over real HTTP on loopback, in a thread of the test process. Leaving it
    waits for the requests in flight to finish (up to `drain` seconds), so that none is still
    using the app's database while the test's fixtures take it down."""

    def __init__(self, app: Flask, port: int | None = None, drain: float = 10.0) -> None:
        self.port = port or free_port()
        self.drain = drain
        self.in_flight = 0
        self._idle = threading.Condition()
        self.server = make_server("127.0.0.1", self.port, self._counted(app), threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _counted(self, app: Flask) -> Callable[..., Any]:
        def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            with self._idle:
                self.in_flight += 1
            try:
                # A response is in flight until the server closes it (a stream, sent to the end).
                return ClosingIterator(app(environ, start_response), self._finished)
            except BaseException:
                self._finished()
                raise

        return serve

    def _finished(self) -> None:
        with self._idle:
            self.in_flight -= 1
            self._idle.notify_all()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()  # takes no new connections
        with self._idle:
            self._idle.wait_for(lambda: self.in_flight == 0, timeout=self.drain)
        self.server.server_close()
        self.thread.join(5)


def eventually(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        time.sleep(interval)


class StaticSite:
    """Another website (another origin) serving pages we write, e.g. a news article."""

    def __init__(self, host: str = "localhost") -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.pages: dict[str, str] = {}
        # Other files by path: (content type, bytes), e.g. a news site's pictures.
        self.files: dict[str, tuple[str, bytes]] = {}
        self.port = free_port()
        self.host = host
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                body = site.pages.get(path)
                kind, data = (
                    ("text/html; charset=utf-8", body.encode())
                    if body is not None
                    else site.files.get(path, ("", b""))
                )
                if not kind:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> StaticSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


CHROMIUM = "/usr/bin/chromium"
# Debian's Chromium, headless, with nothing reaching beyond loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"


def from_npm(name: str, file: Path) -> Path:
    """A file of a package from the npm registry (package.json); installed on first use where
    npm exists."""
    if not file.exists() and shutil.which("npm"):
        # One installer at a time: the suite's processes may all want it at once, and two
        # `npm ci` in one folder remove each other's files.
        with open(NODE_MODULES.parent / "package.json") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not file.exists():
                subprocess.run(
                    ["npm", "ci", "--no-audit", "--no-fund"],
                    cwd=NODE_MODULES.parent,
                    check=False,
                    capture_output=True,
                )
    if not file.exists():
        require_part(name, str(file), "not installed (npm ci)")
    return file


def axe_source() -> str:
    return from_npm("axe-core", AXE).read_text()
