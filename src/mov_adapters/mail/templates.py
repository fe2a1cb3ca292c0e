"""E-mail wording for every notification type: a subject, a plain-text body and an HTML body.

No template engine: one table of wording per type and two small render functions. Everything
a user wrote (names, event titles, locations, notification text) is HTML-escaped in the HTML
body; the plain-text body is shown as text by every client, so it is left as written.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final
from urllib.parse import urlsplit

from attrs import frozen

from mov_core.domain.events import Event
from mov_core.domain.notifications import Notification, NotificationType
from mov_core.domain.users import User
from mov_core.ports.infra import (
    Attachment,
    Calendar,
    MailMessage,
    UnsubscribeLinks,
    message_id_for,
)

ICS_CONTENT_TYPE: Final = "text/calendar; method=PUBLISH; charset=utf-8"
_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip


@frozen
class Wording:
    """`subject` has an `{event}` slot: the event's title, or the notification's title when
    there is no event. `kind` names the e-mails the unsubscribe link turns off."""

    subject: str
    closing: str
    kind: str
    invitation: bool = False
    """Attach the event as `event.ics`, so one click adds it to a calendar."""


T = NotificationType
WORDING: Final[Mapping[NotificationType, Wording]] = {
    T.ENROLLMENT_CONFIRMED: Wording(
        "You're enrolled: {event}",
        "Your place is confirmed. The attached invitation adds the event to your calendar.",
        "enrollment confirmations",
        invitation=True,
    ),
    T.WAITLISTED: Wording(
        "You're on the waitlist: {event}",
        "We will write to you as soon as a place opens up.",
        "waitlist notices",
    ),
    T.PROMOTED_FROM_WAITLIST: Wording(
        "A place opened up for you: {event}",
        "You moved up from the waitlist and your place is confirmed. "
        "The attached invitation adds the event to your calendar.",
        "waitlist promotions",
        invitation=True,
    ),
    T.ENROLLMENT_CANCELED: Wording(
        "Enrollment canceled: {event}",
        "Your place has been released.",
        "enrollment cancellations",
    ),
    T.EVENT_UPDATED: Wording(
        "Event updated: {event}",
        "Please check the details, they may have changed since you enrolled.",
        "event updates",
    ),
    T.EVENT_CANCELED: Wording(
        "Event canceled: {event}",
        "We are sorry: this event will not take place.",
        "event cancellations",
    ),
    T.EVENT_REMINDER: Wording("Reminder: {event}", "See you there!", "event reminders"),
    T.ANNOUNCEMENT: Wording(
        "Announcement: {event}", "This message is from the organizer.", "announcements"
    ),
    T.CHAT_MESSAGE: Wording(
        "New messages in {event}", "Open the event's chat to read and reply.", "chat messages"
    ),
}


@frozen
class _Mail:
    """What both bodies show, as plain (unescaped) text."""

    name: str
    title: str
    body: str
    closing: str
    kind: str
    unsubscribe: str
    link: str
    details: tuple[tuple[str, str], ...]


class MailTemplates:
    """`MailComposer` port: the e-mail for a notification, addressed to its recipient."""

    def __init__(
        self, calendar: Calendar, links: UnsubscribeLinks, domain: str, *, app_url: str
    ) -> None:
        """`domain` names the Message-IDs; `app_url` is where people open the app (links to
        events are `{app_url}/events/{id}`). Raises `ValueError` for a non-http(s) app URL."""
        parts = urlsplit(app_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError(f"app URL must be http(s)://host…, not {app_url!r}")
        self._calendar = calendar
        self._links = links
        self.domain = domain
        self.app_url = app_url.rstrip("/")

    def compose(
        self, notification: Notification, recipient: User, event: Event | None
    ) -> MailMessage:
        """Subject, text and HTML in the type's wording; `event.ics` attached to
        confirmations and promotions; `List-Unsubscribe` (one-click, RFC 8058) headers with
        the same link as the bodies' footer."""
        wording = WORDING[notification.type]
        unsubscribe = self._links.url(recipient.id, notification.type)
        mail = _Mail(
            name=recipient.first_name or recipient.email.split("@", 1)[0],
            title=notification.title,
            body=notification.body,
            closing=wording.closing,
            kind=wording.kind,
            unsubscribe=unsubscribe,
            link=f"{self.app_url}/events/{event.id}" if event is not None else self.app_url,
            details=_details(event) if event is not None else (),
        )
        attachments: tuple[Attachment, ...] = ()
        if wording.invitation and event is not None:
            ics = self._calendar.event_ics(event)
            attachments = (Attachment("event.ics", ICS_CONTENT_TYPE, ics),)
        subject = wording.subject.format(event=event.title if event else notification.title)
        return MailMessage(
            to=recipient.email,
            subject=" ".join(subject.split()),  # a header is one line
            text=_render_text(mail),
            message_id=message_id_for(notification.id, self.domain),
            html=_render_html(mail),
            attachments=attachments,
            headers={
                "List-Unsubscribe": f"<{unsubscribe}>",
                # RFC 8058: mail clients may POST to the link, without a page to click through
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )


def _details(event: Event) -> tuple[tuple[str, str], ...]:
    return (("Event", event.title), ("When", when(event)), ("Where", event.location))


def when(event: Event) -> str:
    """`Sat 15 Mar 2030, 09:00 UTC`, `… 09:00–11:00 UTC` (same day), or both dates."""
    start = event.starts_at.astimezone(UTC)
    if event.ends_at is None:
        return f"{_day(start)}, {start:%H:%M} UTC"
    end = event.ends_at.astimezone(UTC)
    if end.date() == start.date():
        return f"{_day(start)}, {start:%H:%M}–{end:%H:%M} UTC"
    return f"{_day(start)}, {start:%H:%M} – {_day(end)}, {end:%H:%M} UTC"


def _day(moment: datetime) -> str:
    # Own names rather than %a/%b, which follow the process locale.
    return f"{_DAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def _render_text(mail: _Mail) -> str:
    details = "".join(f"{label + ':':<7}{value}\n" for label, value in mail.details)
    return (
        f"Hello {mail.name},\n\n"
        f"{mail.title}\n\n"
        f"{mail.body}\n\n"
        f"{details}{'Link:':<7}{mail.link}\n\n"
        f"{mail.closing}\n\n"
        "-- \n"
        f"Don't want {mail.kind} by e-mail? Unsubscribe: {mail.unsubscribe}\n"
    )


def _render_html(mail: _Mail) -> str:
    e = _escape
    rows = "".join(
        f'<tr><th align="left" style="padding-right:1em">{e(label)}</th><td>{e(value)}</td></tr>'
        for label, value in mail.details
    )
    table = f"<table>{rows}</table>" if rows else ""
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>'
        '<body style="font-family:sans-serif;line-height:1.5">\n'
        f"<p>Hello {e(mail.name)},</p>\n"
        f"<h2>{e(mail.title)}</h2>\n"
        f"<p>{e(mail.body)}</p>\n"
        f"{table}\n"
        f'<p><a href="{e(mail.link)}">Open in MOV</a></p>\n'
        f"<p>{e(mail.closing)}</p>\n"
        '<hr><p style="font-size:small;color:#666">'
        f'Don\'t want {e(mail.kind)} by e-mail? <a href="{e(mail.unsubscribe)}">Unsubscribe</a>'
        "</p>\n</body></html>\n"
    )


def _escape(text: str) -> str:
    """HTML-escaped, quotes included (values land in attributes too); line breaks kept."""
    return html.escape(text, quote=True).replace("\n", "<br>\n")
