"""Getting a message to a mail server (or to the log), as MAIL_URL says."""

from __future__ import annotations

import email
import logging
import re
import smtplib
import ssl
import sys
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
    """The server refused this message for good because of its address (no such mailbox, a
    domain that takes no mail): retrying will not help, and the address should rest."""


# Enhanced status codes (RFC 3463) that blame the address: 5.1.x a mailbox or domain that does
# not exist, 5.2.1 a mailbox turned off, 5.4.4 a domain no mail can be routed to. Any other
# 5xx is about us or this message (5.7.x: relaying denied, a sender not verified, a policy;
# 5.3.x, 5.6.x, …): it is retried with backoff until MAIL_GIVE_UP_HOURS, so that an operator
# who mends the relay loses no confirmation, and no reader is suppressed for our mistake.
ADDRESS_CODES = re.compile(r"5\.(1\.\d{1,3}|2\.1|4\.4)")
ENHANCED_CODE = re.compile(rb"\s*([245]\.\d{1,3}\.\d{1,3})\b")


def blames_the_address(code: int, answer: bytes, at_recipient: bool) -> bool:
    """Whether a 5xx answer refuses the recipient's address, not us or this message."""
    if code < 500:
        return False
    enhanced = ENHANCED_CODE.match(answer)
    if enhanced:
        return ADDRESS_CODES.fullmatch(enhanced.group(1).decode()) is not None
    # A server too old for enhanced codes: refusing a recipient (550 no such user, 551, 553)
    # is about its address; refusing after the data is about the message.
    return at_recipient and code in (550, 551, 553)


def _readable(data: bytes) -> str:
    """A message as a developer wants to read it in the log: headers, then the text part."""
    message = email.message_from_bytes(data, policy=policy.default)
    body = message.get_body(("plain",))  # type: ignore[attr-defined]
    text = body.get_content() if body is not None else ""
    headers = "\n".join(f"{k}: {message[k]}" for k in ("From", "To", "Subject"))
    return f"----- mail (MAIL_URL=console) -----\n{headers}\n\n{text}\n----- end of mail -----"


class MailConnection:
    """One connection used for a batch of messages; raise OSError/SMTPException when down."""

    def __init__(self, mail_url: str, timeout: float = 10.0, data_timeout: float = 600.0) -> None:
        self.settings = parse_mail_url(mail_url)
        self.timeout = timeout
        self.data_timeout = data_timeout
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> MailConnection:
        s = self.settings
        if s is None:
            return self
        if s.implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host, s.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        try:
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.username:
                smtp.login(s.username, s.password or "")
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return self

    def send(self, message: Email) -> None:
        if self._smtp is None:
            print(_readable(message.data), file=sys.stderr, flush=True)
            return
        try:
            self._transaction(self._smtp, message)
        except smtplib.SMTPRecipientsRefused as exc:
            [(code, answer)] = exc.recipients.values()
            if blames_the_address(code, answer, at_recipient=True):
                raise PermanentFailure(f"{code} {answer.decode(errors='replace')}") from exc
            # Refused for now (greylisting, a relay's policy): this message only, which waits
            # for a retry; smtplib has reset the session, so the rest of the batch goes on.
            raise smtplib.SMTPResponseException(code, answer) from exc
        except smtplib.SMTPResponseException as exc:
            if isinstance(exc, smtplib.SMTPSenderRefused):
                raise
            if blames_the_address(exc.smtp_code, exc.smtp_error, at_recipient=False):
                raise PermanentFailure(str(exc)) from exc
            raise

    def _transaction(self, smtp: smtplib.SMTP, message: Email) -> None:
        """MAIL, RCPT and DATA, as smtplib's sendmail does them, but patient with the answer to
        the message itself. Once the final dot is sent the relay may have taken the message:
        giving up on its answer and trying again later would send it twice. So the data and
        its answer get RFC 5321's ten minutes (Postfix waits as long), while every command
        before it, where trying again is harmless, keeps the short timeout."""
        smtp.ehlo_or_helo_if_needed()
        code, answer = smtp.mail(message.sender)
        if code != 250:
            _end_transaction(smtp, code)
            raise smtplib.SMTPSenderRefused(code, answer, message.sender)
        code, answer = smtp.rcpt(message.recipient)
        if code not in (250, 251):
            _end_transaction(smtp, code)
            raise smtplib.SMTPRecipientsRefused({message.recipient: (code, answer)})
        if smtp.sock is None:
            raise smtplib.SMTPServerDisconnected("the relay hung up before the data")
        smtp.sock.settimeout(self.data_timeout)
        try:
            code, answer = smtp.data(message.data)
        except smtplib.SMTPDataError as exc:  # DATA itself refused
            code, answer = exc.smtp_code, exc.smtp_error
        finally:
            if smtp.sock is not None:
                smtp.sock.settimeout(self.timeout)
        if code != 250:
            _end_transaction(smtp, code)
            raise smtplib.SMTPDataError(code, answer)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None


def _end_transaction(smtp: smtplib.SMTP, code: int) -> None:
    """After a refusal: reset the session for the next message, or hang up on a server that is
    closing (421), as smtplib's sendmail does."""
    if code == 421:
        smtp.close()
        return
    try:
        smtp.rset()
    except smtplib.SMTPServerDisconnected:
        pass
