"""Notifications by e-mail end to end, through a real SMTP server (aiosmtpd on 127.0.0.1):
enroll → the worker sends the confirmation with its calendar file; the mail server down →
retried, FAILED, and sent exactly once when it is back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import icalendar
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from tests.backends import SECRET, Backend, factory_for
from tests.contract.use_cases.support import published_event, register
from tests.servers import HOST, free_port

from mov_adapters.mail.ics import IcsCalendar
from mov_adapters.mail.smtp import SmtpMailer
from mov_adapters.mail.templates import MailTemplates
from mov_adapters.security.unsubscribe import SignedUnsubscribeLinks
from mov_core.domain.notifications import Channel, DeliveryStatus, RetryPolicy
from mov_core.domain.users import Role
from mov_core.services.notify import retry_failed
from mov_core.services.worker import Worker, WorkerSettings

pytestmark = pytest.mark.integration

DOMAIN = "mov.example.org"
FROM = f"MOV <no-reply@{DOMAIN}>"


class Inbox:
    def __init__(self) -> None:
        self.received: list[Envelope] = []

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.received.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        parsed = [message_from_bytes(e.content, policy=policy.default) for e in self.received]
        return [m for m in parsed if isinstance(m, EmailMessage)]


class MailServer:
    """An SMTP server on a fixed port that can be stopped and started again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname=HOST, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer(free_port())
    yield server
    server.stop()


@pytest.fixture
async def backend(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Backend]:
    made = factory_for("sqlite", request, tmp_path)()
    yield made
    await made.close()


def make_worker(backend: Backend, port: int, *, attempts: int = 3) -> Worker:
    links = SignedUnsubscribeLinks(SECRET, "https://mov.example.org")
    composer = MailTemplates(IcsCalendar(DOMAIN), links, DOMAIN, app_url="https://mov.example.org")
    mailer = SmtpMailer(f"smtp://{HOST}:{port}?timeout=5", from_address=FROM)
    settings = WorkerSettings(
        tick_interval=0, retry=RetryPolicy(max_attempts=attempts, base=timedelta(seconds=30))
    )
    return Worker(
        uow=backend.uow,
        store=backend.services.notification_store,
        clock=backend.clock,
        mailer=mailer,
        composer=composer,
        settings=settings,
    )


async def enrolled(backend: Backend) -> tuple[int, Any]:
    services = backend.services
    organizer = await register(services, "olga@example.com", Role.ORGANIZER)
    await services.update_profile(organizer, first_name="Olga")
    participant = await register(services, "pia@example.com")
    await services.update_profile(participant, first_name="Pia")
    event_id = await published_event(services, organizer, title="Rust Meetup", location="Hall A")
    await services.enroll(participant, event_id)
    return event_id, participant


async def test_an_enrollment_arrives_by_mail_with_subject_body_and_calendar_file(
    backend: Backend, mail_server: MailServer
) -> None:
    mail_server.start()
    worker = make_worker(backend, mail_server.port)
    event_id, participant = await enrolled(backend)
    await worker.drain_once()
    assert (await worker.deliver_once()).sent == 1

    (message,) = mail_server.inbox.messages()
    assert message["To"] == "pia@example.com"
    assert message["From"] == FROM
    assert "Rust Meetup" in message["Subject"]
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    for body in (text.get_content(), html.get_content()):
        assert "Pia" in body
        assert "Hall A" in body
        assert "/api/v1/notifications/unsubscribe?token=" in body
    (calendar_part,) = [
        p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"
    ]
    calendar = icalendar.Calendar.from_ical(calendar_part.get_payload(decode=True))
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Rust Meetup"
    assert str(vevent["LOCATION"]) == "Hall A"
    assert str(vevent["UID"]) == f"event-{event_id}@{DOMAIN}"
    page = await backend.services.notifications(participant)
    (note,) = page.notifications
    assert message["Message-ID"] == f"<notification.{note.id}@{DOMAIN}>"


async def test_while_the_mail_server_is_down_the_mail_waits_and_is_sent_once_it_is_back(
    backend: Backend, mail_server: MailServer
) -> None:
    worker = make_worker(backend, mail_server.port)
    _, participant = await enrolled(backend)
    await worker.drain_once()
    assert (await worker.deliver_once()).retrying == 1  # nobody listens on the port yet

    mail_server.start()
    assert (await worker.deliver_once()).total == 0  # not before its backoff
    backend.clock.advance(timedelta(seconds=30))
    assert (await worker.deliver_once()).sent == 1
    backend.clock.advance(timedelta(hours=2))
    assert (await worker.deliver_once()).total == 0
    assert len(mail_server.inbox.messages()) == 1
    page = await backend.services.notifications(participant)
    deliveries = await backend.services.notification_store.deliveries(page.notifications[0].id)
    email = next(d for d in deliveries if d.channel is Channel.EMAIL)
    assert (email.status, email.attempts, email.last_error) == (DeliveryStatus.SENT, 2, None)


async def test_a_delivery_that_gave_up_is_failed_then_sent_once_when_retried(
    backend: Backend, mail_server: MailServer
) -> None:
    worker = make_worker(backend, mail_server.port, attempts=2)
    await enrolled(backend)
    await worker.drain_once()
    assert (await worker.deliver_once()).retrying == 1
    backend.clock.advance(timedelta(seconds=30))
    assert (await worker.deliver_once()).failed == 1
    store = backend.services.notification_store
    (failed,) = await store.failed_deliveries()
    assert failed.status is DeliveryStatus.FAILED
    assert failed.last_error  # says why, for `mov notifications failed`

    mail_server.start()
    assert await retry_failed(store, clock=backend.clock) == 1
    assert (await worker.deliver_once()).sent == 1
    assert (await worker.deliver_once()).total == 0
    assert len(mail_server.inbox.messages()) == 1
    assert await store.failed_deliveries() == []
