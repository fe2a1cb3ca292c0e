"""The SMTP mailer against a real SMTP server (aiosmtpd on 127.0.0.1): what arrives, AUTH,
STARTTLS and implicit TLS with a certificate made here, and every failure as `Unavailable`
that never shows the password."""

from __future__ import annotations

import socket
import ssl
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.servers import HOST, free_port

from mov_adapters.clock import FrozenClock
from mov_adapters.mail.ics import IcsCalendar
from mov_adapters.mail.smtp import SmtpMailer
from mov_core.domain.events import Event, Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.ports.errors import Unavailable
from mov_core.ports.infra import Attachment, MailMessage

pytestmark = pytest.mark.integration

USER, PASSWORD = "mailer", "correct horse battery staple"
WRONG_PASSWORD = "hunter2-not-the-password"
FROM = "MOV <no-reply@mov.example.org>"
NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
START = datetime(2030, 3, 16, 9, 0, tzinfo=UTC)


class Sink:
    """An SMTP handler that keeps what it is given and refuses one address."""

    REFUSED = "nobody@example.com"

    def __init__(self) -> None:
        self.received: list[Envelope] = []
        self.mechanisms: list[str] = []

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self, _server: SMTP, _session: Session, envelope: Envelope, address: str, _options: Any
    ) -> str:
        if address == self.REFUSED:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.received.append(envelope)
        return "250 OK"

    def authenticate(
        self, _server: SMTP, _session: Session, _envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        self.mechanisms.append(mechanism)
        good = isinstance(data, LoginPassword) and data == (USER.encode(), PASSWORD.encode())
        return AuthResult(success=good, handled=False)

    def messages(self) -> list[EmailMessage]:
        parsed = [message_from_bytes(e.content, policy=policy.default) for e in self.received]
        return [m for m in parsed if isinstance(m, EmailMessage)]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate it signed for 127.0.0.1: (ca, cert, key) PEM files."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "MOV test CA")])
    ca = (
        _certificate(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    leaf = (
        _certificate(leaf_name, ca_name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(_ip(HOST)), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def _certificate(subject: x509.Name, issuer: x509.Name, public_key: Any) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC) - timedelta(days=1))
        .not_valid_after(datetime.now(UTC) + timedelta(days=1))
    )


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip


def _ip(text: str) -> Any:
    import ipaddress  # noqa: PLC0415 - only the certificate needs it

    return ipaddress.ip_address(text)


def server_context(certificates: tuple[Path, Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates[1], certificates[2])
    return context


def trusting(certificates: tuple[Path, Path, Path]) -> ssl.SSLContext:
    """What the mailer uses in tests: the system's defaults, trusting the test CA."""
    return ssl.create_default_context(cafile=str(certificates[0]))


def start(sink: Sink, **options: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(
        sink, hostname=HOST, port=port, server_hostname="smtp.test",
        authenticator=sink.authenticate, **options,
    )  # fmt: skip
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def plain_port(sink: Sink) -> Iterator[int]:
    """No TLS; AUTH allowed in clear text (tests only)."""
    yield from start(sink, auth_require_tls=False)


@pytest.fixture
def starttls_port(sink: Sink, certificates: tuple[Path, Path, Path]) -> Iterator[int]:
    yield from start(sink, tls_context=server_context(certificates), require_starttls=True)


@pytest.fixture
def smtps_port(sink: Sink, certificates: tuple[Path, Path, Path]) -> Iterator[int]:
    yield from start(sink, ssl_context=server_context(certificates))


def mailer(url: str, context: ssl.SSLContext | None = None) -> SmtpMailer:
    return SmtpMailer(url, from_address=FROM, ssl_context=context, clock=FrozenClock(NOW))


def invitation() -> bytes:
    event = Event(
        12, 3, "Spring Hackathon", None, START, None, "Main Hall", "tech", 50,
        Visibility.PUBLIC, True, EventStatus.PUBLISHED, NOW, NOW,  # noqa: FBT003
    )  # fmt: skip
    return IcsCalendar("mov.example.org").event_ics(event)


def message(to: str = "ada@example.com") -> MailMessage:
    return MailMessage(
        to=to,
        subject="You're enrolled: Spring Hackathon",
        text="Hello Ada,\nYour place is confirmed.\n",
        message_id="<notification.n1@mov.example.org>",
        html="<p>Hello Ada,</p><p>Your place is confirmed.</p>",
        attachments=(
            Attachment("event.ics", "text/calendar; method=PUBLISH; charset=utf-8", invitation()),
        ),
        headers={"List-Unsubscribe": "<https://mov.example.org/unsubscribe?token=abc>"},
    )


def assert_discreet(error: pytest.ExceptionInfo[Unavailable]) -> None:
    shown = "".join(traceback.format_exception(error.value)) + repr(error.value)
    for secret in (PASSWORD, WRONG_PASSWORD):
        assert secret not in shown


async def test_a_message_arrives_with_its_headers_bodies_and_invitation(
    sink: Sink, plain_port: int
):
    await mailer(f"smtp://{HOST}:{plain_port}").send(message())

    (envelope,) = sink.received
    assert envelope.mail_from == "no-reply@mov.example.org"
    assert envelope.rcpt_tos == ["ada@example.com"]
    (mail,) = sink.messages()
    assert mail["From"] == FROM
    assert mail["To"] == "ada@example.com"
    assert mail["Subject"] == "You're enrolled: Spring Hackathon"
    assert mail["Message-ID"] == "<notification.n1@mov.example.org>"
    assert mail["Date"].datetime == NOW
    assert mail["List-Unsubscribe"] == "<https://mov.example.org/unsubscribe?token=abc>"
    assert "Your place is confirmed." in mail.get_body(("plain",)).get_content()
    assert "<p>Your place is confirmed.</p>" in mail.get_body(("html",)).get_content()
    (ics,) = mail.iter_attachments()
    assert ics.get_content_type() == "text/calendar"
    assert ics.get_param("method") == "PUBLISH"
    assert ics.get_filename() == "event.ics"
    assert ics.get_payload(decode=True) == invitation()
    assert sink.mechanisms == []  # no user in the URL: no AUTH


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_the_mailer_logs_in_with_plain_or_login(sink: Sink, mechanism: str):
    others = ["PLAIN", "LOGIN"]
    others.remove(mechanism)
    for port in start(sink, auth_require_tls=False, auth_exclude_mechanism=others):
        url = f"smtp://{USER}:{PASSWORD.replace(' ', '%20')}@{HOST}:{port}"
        await mailer(url).send(message())

    assert sink.mechanisms == [mechanism]
    assert len(sink.received) == 1


async def test_a_wrong_password_is_unavailable_without_showing_it(sink: Sink, plain_port: int):
    url = f"smtp://{USER}:{WRONG_PASSWORD}@{HOST}:{plain_port}"

    with pytest.raises(Unavailable, match="authentication refused") as error:
        await mailer(url).send(message())

    assert_discreet(error)
    assert sink.received == []


async def test_a_refused_recipient_is_unavailable(sink: Sink, plain_port: int):
    with pytest.raises(Unavailable, match=r"recipient refused: nobody@example.com \(550"):
        await mailer(f"smtp://{HOST}:{plain_port}").send(message(Sink.REFUSED))


async def test_starttls_then_auth_delivers(
    sink: Sink, starttls_port: int, certificates: tuple[Path, Path, Path]
):
    url = f"smtp://{USER}:{PASSWORD.replace(' ', '%20')}@{HOST}:{starttls_port}?starttls=true"

    await mailer(url, trusting(certificates)).send(message())

    assert len(sink.received) == 1
    assert sink.mechanisms == ["PLAIN"]


async def test_implicit_tls_delivers(
    sink: Sink, smtps_port: int, certificates: tuple[Path, Path, Path]
):
    await mailer(f"smtps://{HOST}:{smtps_port}", trusting(certificates)).send(message())

    assert len(sink.received) == 1


async def test_an_untrusted_certificate_is_unavailable_and_nothing_is_sent(
    sink: Sink, starttls_port: int
):
    url = f"smtp://{USER}:{WRONG_PASSWORD}@{HOST}:{starttls_port}?starttls=true"

    with pytest.raises(Unavailable, match="TLS failed") as error:
        await mailer(url).send(message())  # the system's CAs do not know the test CA

    assert_discreet(error)
    assert sink.received == []


async def test_a_server_that_requires_starttls_refuses_a_mailer_without_it(starttls_port: int):
    with pytest.raises(Unavailable, match="530"):
        await mailer(f"smtp://{HOST}:{starttls_port}").send(message())


async def test_no_server_listening_is_unavailable():
    url = f"smtp://{USER}:{WRONG_PASSWORD}@{HOST}:{free_port()}"

    with pytest.raises(Unavailable, match="connection refused") as error:
        await mailer(url).send(message())

    assert_discreet(error)


async def test_a_server_that_never_greets_is_unavailable_after_the_timeout():
    with socket.socket() as silent:
        silent.bind((HOST, 0))
        silent.listen()  # connections complete in the backlog, but nobody ever answers
        port = silent.getsockname()[1]

        with pytest.raises(Unavailable, match=r"no answer within 0.3s"):
            await mailer(f"smtp://{HOST}:{port}?timeout=0.3").send(message())


async def test_ping_passes_when_the_server_is_up(plain_port: int, starttls_port: int, certificates):
    await mailer(f"smtp://{HOST}:{plain_port}").ping()
    await mailer(f"smtp://{HOST}:{starttls_port}?starttls=true", trusting(certificates)).ping()


async def test_ping_is_unavailable_when_the_server_is_down():
    with pytest.raises(Unavailable, match="connection refused"):
        await mailer(f"smtp://{HOST}:{free_port()}").ping()
