"""Getting a message to a mail server (or to the log), as MAIL_URL says."""

from __future__ import annotations

import email
import logging
import smtplib
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email import policy
from types import TracebackType
from urllib.parse import unquote, urlsplit

from petition.mail.message import Email

log = logging.getLogger("petition.mail")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: bool


def parse_mail_url(url: str) -> SmtpSettings | None:
    """`console` (None), or `smtp://`, `smtp+starttls://` or `smtps://` `user:pass@host:port`."""
    if url == "console":
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtp+starttls", "smtps"} or not parts.hostname:
        raise ValueError(f"MAIL_URL must be 'console' or smtp://user:pass@host:port, not {url!r}")
    implicit_tls = parts.scheme == "smtps"
    return SmtpSettings(
        host=parts.hostname,
        port=parts.port or (465 if implicit_tls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=implicit_tls,
        starttls=parts.scheme == "smtp+starttls",
    )


class PermanentFailure(Exception):
    """The server refused this message for good (a 5xx answer): retrying will not help."""


def _readable(data: bytes) -> str:
    """A message as a developer wants to read it in the log: headers, then the text part."""
    message = email.message_from_bytes(data, policy=policy.default)
    body = message.get_body(("plain",))  # type: ignore[attr-defined]
    text = body.get_content() if body is not None else ""
    headers = "\n".join(f"{k}: {message[k]}" for k in ("From", "To", "Subject"))
    return f"----- mail (MAIL_URL=console) -----\n{headers}\n\n{text}\n----- end of mail -----"


class Watchdog:
    """Hangs up a connection whose current exchange outlasts its time.

    A socket's timeout is for each read or write: a relay answering a byte at a time, each byte
    within it, could hold a message (and the worker's hold on its batch) for ever, until the
    lease ran out and another worker sent the same message. Here each exchange (logging in, one
    message, saying goodbye) has `limit` seconds in all; past that the socket is shut under
    whatever read or write waits on it, and the exchange fails as a dropped connection does.
    One watching thread per connection, not per message.
    """

    def __init__(self, limit: float, hang_up: Callable[[], None]) -> None:
        self.limit = limit
        self.fired = False
        self._hang_up = hang_up
        self._until: float | None = None
        self._closed = False
        self._changed = threading.Condition()
        threading.Thread(target=self._watch, name="petition-mail-watchdog", daemon=True).start()

    @contextmanager
    def exchange(self) -> Iterator[None]:
        """Time what happens inside; raise TimeoutError if it was cut off."""
        with self._changed:
            self._until = time.monotonic() + self.limit
            self._changed.notify()
        try:
            yield
        except (OSError, smtplib.SMTPException) as exc:
            if self.fired:
                raise TimeoutError(f"no answer within {self.limit:g} s") from exc
            raise
        finally:
            with self._changed:
                self._until = None

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()

    def _watch(self) -> None:
        with self._changed:
            while not self._closed:
                if self._until is None:
                    self._changed.wait()
                    continue
                left = self._until - time.monotonic()
                if left > 0:
                    self._changed.wait(left)
                    continue
                self._until = None
                self.fired = True
                self._hang_up()


class MailConnection:
    """One connection used for a batch of messages; raise OSError/SMTPException when down.

    After connecting, `timeout` bounds each exchange in all (each message, goodbye), not only
    each read, so sending one message can never outlast the worker's hold on it."""

    def __init__(self, mail_url: str, timeout: float = 10.0) -> None:
        self.settings = parse_mail_url(mail_url)
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None
        self._watchdog: Watchdog | None = None

    def __enter__(self) -> MailConnection:
        s = self.settings
        if s is None:
            return self
        # Connecting is bounded by the socket's timeout for each read: it comes before any
        # message, and the worker checks it still holds each message before sending it.
        if s.implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host, s.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        watchdog = Watchdog(self.timeout, lambda: _shut(smtp))
        try:
            with watchdog.exchange():
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    smtp.login(s.username, s.password or "")
        except BaseException:
            smtp.close()
            watchdog.close()
            raise
        self._smtp, self._watchdog = smtp, watchdog
        return self

    def send(self, message: Email) -> None:
        if self._smtp is None or self._watchdog is None:
            print(_readable(message.data), file=sys.stderr, flush=True)
            return
        try:
            with self._watchdog.exchange():
                self._smtp.sendmail(message.sender, [message.recipient], message.data)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(code >= 500 for code in codes):
                raise PermanentFailure(str(exc)) from exc
            raise
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500 and not isinstance(exc, smtplib.SMTPSenderRefused):
                raise PermanentFailure(str(exc)) from exc
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._smtp is not None and self._watchdog is not None:
            try:
                with self._watchdog.exchange():
                    self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            finally:
                self._watchdog.close()
            self._smtp = None


def _shut(smtp: smtplib.SMTP) -> None:
    """Shut a connection's socket under whatever read or write is waiting on it."""
    sock = getattr(smtp, "sock", None)
    if sock is not None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
