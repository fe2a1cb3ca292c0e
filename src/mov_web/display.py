"""How the pages say things: times, seats, places. Template globals and filters, no rules."""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup, escape

from mov_adapters.wire import iso
from mov_core.domain.enrollments import Enrollment, EnrollmentStatus, Occupancy
from mov_core.domain.lifecycle import TRANSITIONS, EventStatus


def moment(value: datetime | None) -> Markup:
    """A `<time>` in UTC, labelled; the page's script rewrites it in the reader's zone."""
    if value is None:
        return Markup("")
    utc = value.astimezone(UTC)
    text = utc.strftime("%a %d %b %Y, %H:%M UTC")
    return Markup('<time datetime="{}" data-local>{}</time>').format(iso(utc), text)


def seats(occupancy: Occupancy) -> str:
    """`3 of 30 seats left`, or `Full` (with the waitlist's length when someone waits)."""
    if occupancy.available > 0:
        text = f"{occupancy.available} of {occupancy.capacity} seats left"
    else:
        text = "Full"
    if occupancy.waitlisted:
        text += f", {occupancy.waitlisted} on the waitlist"
    return text


def place(enrollment: Enrollment | None) -> str:
    """`Enrolled`, `Waitlisted, position N`, or nothing when the viewer holds no place."""
    if enrollment is None:
        return ""
    if enrollment.status is EnrollmentStatus.ENROLLED:
        return "Enrolled"
    if enrollment.status is EnrollmentStatus.WAITLISTED:
        return f"Waitlisted, position {enrollment.waitlist_position}"
    return ""


def local_input(value: datetime | None) -> str:
    """A `datetime-local` input's value, in UTC (the form says so; script turns it local)."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


LIFECYCLE_BUTTONS = {
    EventStatus.PUBLISHED: "Publish",
    EventStatus.RUNNING: "Start",
    EventStatus.COMPLETED: "Complete",
    EventStatus.CANCELED: "Cancel event",
}


def next_steps(status: EventStatus) -> list[tuple[str, str]]:
    """The lifecycle buttons the state table allows from `status`: (target value, label)."""
    return [
        (target.value, label)
        for target, label in LIFECYCLE_BUTTONS.items()
        if target in TRANSITIONS[status]
    ]


def lines(text: str | None) -> Markup:
    """A description's paragraphs and line breaks, escaped."""
    if not text:
        return Markup("")
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return Markup("").join(
        Markup("<p>{}</p>").format(Markup("<br>").join(escape(line) for line in p.split("\n")))
        for p in paragraphs
    )


GLOBALS = {"next_steps": next_steps}
FILTERS = {
    "moment": moment,
    "seats": seats,
    "place": place,
    "local_input": local_input,
    "lines": lines,
}
