"""iCalendar invitations (RFC 5545) with the `icalendar` package, which folds long lines and
escapes text (commas, semicolons, backslashes, newlines) the way calendar clients expect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from icalendar import Calendar as ICalendar
from icalendar import Event as IEvent

from mov_core.domain.events import Event
from mov_core.domain.lifecycle import EventStatus

PRODID: Final = "-//MOV//Events//EN"
DEFAULT_DURATION: Final = timedelta(hours=2)
"""How long an event without an end is shown in a calendar."""


class IcsCalendar:
    """`Calendar` port: one VEVENT per document, published (METHOD:PUBLISH), not an invitation
    that asks for a reply.

    The output depends on the event alone, so the same version of an event always gives the
    same bytes: UID is stable per event (`event-{id}@{domain}`, so a client updates the entry it
    already has), SEQUENCE counts revisions (version 1 is sequence 0, as RFC 5545 §3.8.7.4
    starts), and DTSTAMP is when that version was written.
    """

    def __init__(self, domain: str) -> None:
        if not domain or any(c.isspace() or c in "@<>" for c in domain):
            raise ValueError(f"calendar domain must be a host name, not {domain!r}")
        self.domain = domain

    def uid(self, event: Event) -> str:
        return f"event-{event.id}@{self.domain}"

    def event_ics(self, event: Event) -> bytes:
        """The event as an iCalendar document; a canceled event has STATUS:CANCELLED, so
        calendars that already show it strike it through."""
        calendar = ICalendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        calendar.add("method", "PUBLISH")
        calendar.add_component(self._vevent(event))
        document: bytes = calendar.to_ical()
        return document

    def _vevent(self, event: Event) -> IEvent:
        end = event.ends_at if event.ends_at is not None else event.starts_at + DEFAULT_DURATION
        vevent = IEvent()
        vevent.add("uid", self.uid(event))
        vevent.add("dtstamp", _utc(event.updated_at))
        vevent.add("dtstart", _utc(event.starts_at))
        vevent.add("dtend", _utc(end))
        vevent.add("summary", event.title)
        vevent.add("location", event.location)
        if event.description:
            vevent.add("description", event.description)
        canceled = event.status is EventStatus.CANCELED
        vevent.add("status", "CANCELLED" if canceled else "CONFIRMED")
        vevent.add("sequence", max(event.version - 1, 0))
        return vevent


def _utc(moment: datetime) -> datetime:
    # Written with a trailing Z: no VTIMEZONE needed, every client converts to local time.
    return moment.astimezone(UTC)
