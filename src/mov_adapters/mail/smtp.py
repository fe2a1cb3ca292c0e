"""SMTP mailer: the standard library's `smtplib`, run in a worker thread with a socket timeout.

Configured by a URL (`MOV_SMTP_URL`):

- `smtp://host:25`: no authentication, no TLS (a relay on the local network);
- `smtp://user:pass@host:587?starttls=true`: STARTTLS, then AUTH (PLAIN or LOGIN);
- `smtps://user:pass@host:465`: TLS from the first byte (implicit TLS).

Options in the query: `starttls=true|false` (smtp only, default false), `timeout=10` (seconds,
per network operation). A user name or password with `@`, `:` or `/` is percent-encoded.
Every failure becomes `Unavailable` with a short reason that never contains the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import math
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from typing import Final
from urllib.parse import parse_qsl, unquote, urlsplit

from attrs import field, frozen

from mov_adapters.clock import SystemClock
from mov_adapters.mail.message import check_from_address, to_email
from mov_core.ports.clock import Clock
from mov_core.ports.errors import Unavailable
from mov_core.ports.infra import MailMessage

DEFAULT_PORTS: Final = {"smtp": 25, "smtps": 465}
DEFAULT_TIMEOUT: Final = 10.0
MAX_TIMEOUT: Final = 300.0
_OPTIONS: Final = ("starttls", "timeout")
_BOOLEANS: Final = {"true": True, "false": False}
_MAX_REASON: Final = 300


class Tls(enum.Enum):
    NONE = "none"
    STARTTLS = "starttls"
    IMPLICIT = "implicit"


@frozen
class SmtpServer:
    """Where and how to connect; built from a URL by `parse`."""

    host: str
    port: int
    tls: Tls = Tls.NONE
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT

    @property
    def where(self) -> str:
        return f"SMTP {self.host}:{self.port}"

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        """Raises `ValueError` (never showing the password) for an unknown scheme, a missing
        host, a bad port, or an unknown, repeated or ill-valued option."""
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise ValueError(f"SMTP URL must start with smtp:// or smtps://, not {scheme!r}")
        if not parts.hostname:
            raise ValueError("SMTP URL has no host (expected smtp://[user:pass@]host[:port])")
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0:
            raise ValueError("SMTP URL port must be a number from 1 to 65535")
        starttls, timeout = _options(parts.query)
        if starttls and scheme == "smtps":
            raise ValueError("starttls applies to smtp:// only; smtps:// is TLS from the start")
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if password is not None and username is None:
            raise ValueError("SMTP URL has a password but no user name")
        tls = Tls.IMPLICIT if scheme == "smtps" else Tls.STARTTLS if starttls else Tls.NONE
        return cls(parts.hostname, port or DEFAULT_PORTS[scheme], tls, username, password, timeout)


def _options(query: str) -> tuple[bool, float]:
    options: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in _OPTIONS:
            raise ValueError(f"unknown SMTP URL option {key!r} (known: {', '.join(_OPTIONS)})")
        if key in options:
            raise ValueError(f"SMTP URL option {key!r} is given twice")
        options[key] = value
    starttls = _BOOLEANS.get(options.get("starttls", "false").lower())
    if starttls is None:
        raise ValueError(f"starttls must be true or false, not {options['starttls']!r}")
    try:
        timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
    except ValueError:
        timeout = math.nan
    if not 0 < timeout <= MAX_TIMEOUT:  # also refuses nan
        raise ValueError(f"timeout must be a number of seconds in (0, {MAX_TIMEOUT:g}]")
    return starttls, timeout


class SmtpMailer:
    """`Mailer` port over SMTP: one connection per message (notifications are few and spread
    out, and a pooled connection would only go stale between them)."""

    def __init__(
        self,
        server: SmtpServer | str,
        *,
        from_address: str,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock | None = None,
    ) -> None:
        """`server` may be its URL. `ssl_context` defaults to the system's trusted certificates
        with host name checks. Raises `ValueError` for a URL `SmtpServer.parse` refuses or a
        bad sender."""
        self.server = SmtpServer.parse(server) if isinstance(server, str) else server
        self.from_address = check_from_address(from_address)
        self._ssl = ssl_context if ssl_context is not None else ssl.create_default_context()
        self._clock = clock if clock is not None else SystemClock()

    def __repr__(self) -> str:
        return f"SmtpMailer({self.server!r}, from_address={self.from_address!r})"

    async def send(self, message: MailMessage) -> None:
        """Hand the message to the server. Raises `Unavailable` on any failure."""
        email = to_email(message, self.from_address, date=self._clock.now())
        await self._in_thread(self._deliver, email)

    async def ping(self) -> None:
        """Connect (with TLS when configured), EHLO and NOOP; raises `Unavailable` if any fails."""
        await self._in_thread(self._noop)

    async def _in_thread(self, work: Callable[..., None], *args: object) -> None:
        try:
            await asyncio.to_thread(work, *args)
        except OSError as exc:  # smtplib's and ssl's errors are OSErrors too
            reason = Unavailable(self._explain(exc))
            # An authentication reply could quote what was sent: keep it out of tracebacks.
            secret = isinstance(exc, smtplib.SMTPAuthenticationError)
            raise reason from (None if secret else exc)

    def _deliver(self, email: EmailMessage) -> None:
        smtp = self._open(login=True)
        try:
            smtp.send_message(email)  # one recipient: refused means SMTPRecipientsRefused
        finally:
            _quit(smtp)  # the message is accepted: a failing goodbye must not make us resend

    def _noop(self) -> None:
        smtp = self._open(login=False)
        try:
            code, reply = smtp.noop()
            if code != 250:
                raise smtplib.SMTPResponseException(code, reply)
        finally:
            _quit(smtp)

    def _open(self, *, login: bool) -> smtplib.SMTP:
        server = self.server
        if server.tls is Tls.IMPLICIT:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                server.host, server.port, timeout=server.timeout, context=self._ssl
            )
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
        try:
            smtp.ehlo()
            if server.tls is Tls.STARTTLS:
                smtp.starttls(context=self._ssl)
                smtp.ehlo()
            if login and server.username is not None:
                smtp.login(server.username, server.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _explain(self, exc: OSError) -> str:
        reason = f"{self.server.where}: {_reason(exc, self.server.timeout)}"
        if self.server.password:
            reason = reason.replace(self.server.password, "***")
        return reason[:_MAX_REASON]


def _reason(exc: OSError, timeout: float) -> str:
    match exc:
        case smtplib.SMTPException():
            return _smtp_reason(exc, timeout)
        case TimeoutError():
            return f"no answer within {timeout:g}s"
        case ssl.SSLError():
            return f"TLS failed: {exc.reason or exc}"
        case ConnectionRefusedError():
            return "connection refused"
    return exc.strerror or str(exc) or type(exc).__name__


def _smtp_reason(exc: smtplib.SMTPException, timeout: float) -> str:  # noqa: PLR0911 - one answer per failure
    match exc:
        case smtplib.SMTPAuthenticationError():
            return f"authentication refused ({exc.smtp_code})"
        case smtplib.SMTPRecipientsRefused():
            refused = ", ".join(
                f"{rcpt} ({code} {_text(reply)})" for rcpt, (code, reply) in exc.recipients.items()
            )
            return f"recipient refused: {refused}"
        case smtplib.SMTPSenderRefused():
            return f"sender {exc.sender} refused ({exc.smtp_code} {_text(exc.smtp_error)})"
        case smtplib.SMTPResponseException():
            return f"server answered {exc.smtp_code} {_text(exc.smtp_error)}"
        case smtplib.SMTPServerDisconnected() if isinstance(exc.__context__, TimeoutError):
            return f"no answer within {timeout:g}s"  # smtplib turns a read timeout into this
        case smtplib.SMTPServerDisconnected():
            return "the server closed the connection"
    return str(exc) or type(exc).__name__


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())


def _quit(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        smtp.quit()
    smtp.close()
