"""The RFC 5322 form of a `MailMessage`, shared by the SMTP and file mailers."""

from __future__ import annotations

from datetime import UTC, datetime
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.policy import default as default_policy
from email.utils import format_datetime, parseaddr
from typing import Final

from mov_core.ports.infra import Attachment, MailMessage

# Set by `to_email` itself: a message's extra headers may not replace them.
_RESERVED: Final = frozenset(
    {"from", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version"}
)

_MAX_LINE: Final = 998  # RFC 5322 §2.1.1: the hard limit, including the field name


class _OneLineHeader(UnstructuredHeader, BaseHeader):
    """Written as given, on one line: folding a long URL without spaces would turn it into
    RFC 2047 encoded words, which no mail provider reads in `List-Unsubscribe`."""

    def fold(self, *, policy: Policy) -> str:
        line = f"{self.name}: {self}"
        if line.isascii() and len(line) <= _MAX_LINE:
            return line + policy.linesep
        return super().fold(policy=policy)


class _Registry(HeaderRegistry):
    """The standard library's registry makes a new header class at every lookup (about 11 µs,
    20 and more per message: half of building one). The class depends on the name alone, so
    each is made once."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def map_to_type(self, name: str, cls: type[BaseHeader]) -> None:
        super().map_to_type(name, cls)
        self._made.clear()

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


def _headers() -> HeaderRegistry:
    registry = _Registry()
    registry.map_to_type("list-unsubscribe", _OneLineHeader)
    registry.map_to_type("list-unsubscribe-post", _OneLineHeader)
    return registry


# 7bit: bodies are quoted-printable or base64 when needed, so no server needs 8BITMIME.
POLICY: Final = default_policy.clone(cte_type="7bit", header_factory=_headers())
WIRE_POLICY: Final = POLICY.clone(linesep="\r\n")
"""For bytes on the wire and in `.eml` files: CRLF line ends (RFC 5322)."""


def to_email(
    message: MailMessage, from_address: str, *, date: datetime | None = None
) -> EmailMessage:
    """The RFC 5322 message: plain text, an HTML alternative when there is one, then the
    attachments. `date` defaults to now; the Message-ID is the message's, verbatim.

    Raises:
        ValueError: for a header value with a line break, or an extra header that would
            replace one set here (From, To, Subject, Date, Message-ID, …).
    """
    email = EmailMessage(policy=POLICY)
    email["From"] = from_address
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime((date or datetime.now(UTC)).astimezone(UTC), usegmt=True)
    email["Message-ID"] = message.message_id
    for name, value in message.headers.items():
        if name.lower() in _RESERVED or name.lower().startswith("content-"):
            raise ValueError(f"header {name!r} is set by the mailer, not by the message")
        email[name] = value
    email.set_content(message.text)
    if message.html is not None:
        email.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        _attach(email, attachment)
    return email


def _attach(email: EmailMessage, attachment: Attachment) -> None:
    """`text/calendar; method=PUBLISH` becomes maintype, subtype and parameters."""
    kind, *parameters = attachment.content_type.split(";")
    maintype, _, subtype = kind.strip().lower().partition("/")
    if not maintype or not subtype:
        raise ValueError(f"not a content type: {attachment.content_type!r}")
    params = {}
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    email.add_attachment(
        attachment.content, maintype, subtype, filename=attachment.filename, params=params
    )


def check_from_address(from_address: str) -> str:
    """Raises `ValueError` unless it is an address, optionally with a name (`MOV <a@b>`)."""
    _, address = parseaddr(from_address)
    if "@" not in address or "\n" in from_address or "\r" in from_address:
        raise ValueError(f"not a sender address: {from_address!r} (e.g. MOV <no-reply@host>)")
    return from_address
