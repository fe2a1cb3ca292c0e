"""Participants' pages: the catalogue, an event's page with its places and chat."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime, time
from typing import Any

from litestar import Controller, Response, get, post
from litestar.params import FromQuery, SkipValidation
from litestar.response import Template

from mov_adapters.wire import calendar_file, decode_keyset, encode_keyset, message_payload
from mov_core.domain.chat import room_of
from mov_core.domain.enrollments import Enrollment, EnrollmentStatus
from mov_core.domain.errors import DomainError, NotChatMember
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Principal, Role
from mov_core.ports.errors import NotFound
from mov_core.ports.infra import Calendar, Presence
from mov_core.ports.persistence import EventCursor
from mov_core.services.bundle import Services
from mov_core.services.chat import online_or_nobody
from mov_core.services.events import EventFilter, EventView
from mov_web.pages.common import EventNumber, FieldsDep, explain, page
from mov_web.session import ServicesDep, UserDep, ViewerDep, see_other

PAGE_SIZE = 12
LISTED = frozenset({EventStatus.PUBLISHED, EventStatus.RUNNING})
"""The catalogue shows what one can still enroll in or join: not the past, not the canceled."""
HISTORY = 50
ICS = "text/calendar"
Invite = FromQuery[str | None]
"""A PRIVATE event's invite code, as its link carries it."""


def _cursor(raw: str | None) -> EventCursor | None:
    position = decode_keyset(raw) if raw else None
    if position is None or not position[1].isdigit():
        return None
    return EventCursor(position[0], int(position[1]))


def _day(raw: str | None) -> datetime | None:
    try:
        return datetime.combine(datetime.fromisoformat(raw).date(), time(), UTC) if raw else None
    except ValueError:
        return None


async def my_place(
    services: Services, viewer: Principal | None, event_id: int
) -> Enrollment | None:
    """The viewer's active enrollment in the event (a seat or a waitlist place), if any."""
    if viewer is None or viewer.role is not Role.PARTICIPANT:
        return None
    for mine in await services.my_enrollments(viewer):
        if mine.enrollment.event_id == event_id and mine.enrollment.status in (
            EnrollmentStatus.ENROLLED,
            EnrollmentStatus.WAITLISTED,
        ):
            return mine.enrollment
    return None


async def _chat(services: Services, viewer: Principal | None, event_id: int) -> dict[str, Any]:
    """The chat panel's history, for members only (None: no panel)."""
    if viewer is None:
        return {"messages": None}
    try:
        history = await services.chat_history(viewer, event_id, limit=HISTORY)
    except (NotChatMember, NotFound):  # NotFound: seen through its invite code, not a member
        return {"messages": None}
    names = await services.display_names(sorted({m.sender_id for m in history}))
    return {"messages": [message_payload(m, names) for m in history]}


async def _act(
    services: Services,
    user: Principal,
    event_id: int,
    invite: str | None,
    action: Awaitable[object],
) -> Response[Any] | Template:
    """Await a participant's action on an event: then back to the event's page (303), or that
    page again with the refusal's reason."""
    try:
        await action
    except DomainError as error:
        return await event_page(services, user, event_id, invite=invite, error=error)
    return see_other(_event_url(event_id, invite))


class EventPages(Controller):
    @get("/", name="catalogue")
    async def catalogue(
        self,
        viewer: ViewerDep,
        services: ServicesDep,
        q: FromQuery[str | None] = None,
        category: FromQuery[str | None] = None,
        starts_from: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        """Published public events, by date; "More events" continues after the last one."""
        text = (q or "").strip()[:200] or None
        chosen = (category or "").strip()[:50] or None
        filters = EventFilter(
            statuses=LISTED,
            categories=frozenset({chosen}) if chosen else None,
            text=text,
            starts_from=_day(starts_from),
            after=_cursor(cursor),
            limit=PAGE_SIZE,
        )
        found = await services.list_events(viewer, filters)
        more = None
        if found.next_cursor is not None:
            more = encode_keyset(found.next_cursor.starts_at, found.next_cursor.event_id)
        return await page(
            "catalogue.html",
            viewer=viewer,
            services=services,
            events=found.items,
            q=text or "",
            category=chosen or "",
            starts_from=starts_from if _day(starts_from) else "",
            more=more,
            continued=cursor is not None,
        )

    @get("/events/{event_id:str}", name="event")
    async def event(
        self, number: EventNumber, viewer: ViewerDep, services: ServicesDep, invite: Invite = None
    ) -> Template:
        return await event_page(services, viewer, number, invite=invite)

    @get("/events/{event_id:str}/status", name="event-status")
    async def status(
        self, number: EventNumber, viewer: ViewerDep, services: ServicesDep, invite: Invite = None
    ) -> Template:
        """The live part of the event page (availability, your place, the buttons), which the
        page's script fetches again when the seats change."""
        view = await services.get_event(viewer, number, invite=invite)
        place = await my_place(services, viewer, number)
        return Template(
            template_name="_event_status.html",
            context={"view": view, "place": place, "viewer": viewer, "invite": invite},
        )

    @post("/events/{event_id:str}/enroll", name="enroll")
    async def enroll(
        self, fields: FieldsDep, number: EventNumber, user: UserDep, services: ServicesDep
    ) -> Response[Any] | Template:
        invite = fields.get("invite") or None
        return await _act(
            services, user, number, invite, services.enroll(user, number, invite=invite)
        )

    @post("/events/{event_id:str}/cancel", name="cancel")
    async def cancel(
        self, fields: FieldsDep, number: EventNumber, user: UserDep, services: ServicesDep
    ) -> Response[Any] | Template:
        invite = fields.get("invite") or None
        place = await my_place(services, user, number)
        if place is None:  # nothing to cancel (any more): the page shows what is
            return see_other(_event_url(number, invite))
        return await _act(
            services, user, number, invite, services.cancel_enrollment(user, place.id)
        )

    @get("/events/{event_id:str}/calendar.ics", name="calendar", media_type=ICS)
    async def calendar_file(
        self,
        number: EventNumber,
        viewer: ViewerDep,
        services: ServicesDep,
        calendar: SkipValidation[Calendar],
        invite: Invite = None,
    ) -> Response[bytes]:
        view = await services.get_event(viewer, number, invite=invite)
        body, headers = calendar_file(calendar, view.event)
        return Response(body, media_type=ICS, headers=headers)

    @get("/events/{event_id:str}/messages", name="messages")
    async def messages(
        self, number: EventNumber, user: UserDep, services: ServicesDep
    ) -> list[dict[str, Any]]:
        """The newest messages, for the page's script to catch up after a reconnect."""
        history = await services.chat_history(user, number, limit=HISTORY)
        names = await services.display_names(sorted({m.sender_id for m in history}))
        return [message_payload(m, names) for m in history]

    @post("/events/{event_id:str}/messages", name="post-message")
    async def post_message(
        self,
        fields: FieldsDep,
        number: EventNumber,
        user: UserDep,
        services: ServicesDep,
        presence: SkipValidation[Presence],
        sockets: SkipValidation[Any],
    ) -> Response[Any] | Template:
        """Chat without script: the form posts, the page comes back with the message."""
        body = fields.get("body", "")
        try:
            posted = await services.post_message(
                user, number, body, online=await online_or_nobody(presence, number)
            )
        except DomainError as error:
            return await event_page(services, user, number, error=error, draft=body)
        if posted.created:
            names = await services.display_names([user.user_id])
            payload = message_payload(posted.message, names)
            await sockets.emit("message", payload, room=room_of(number))
        return see_other(f"/events/{number}#chat")

    @get("/events/{event_id:str}/online", name="online")
    async def online(
        self,
        number: EventNumber,
        user: UserDep,
        services: ServicesDep,
        presence: SkipValidation[Presence],
    ) -> Template:
        """Who is in the chat room now, by name (the page's script refreshes it)."""
        await services.chat_last_seq(user, number)  # members only
        ids = sorted(set(await presence.online(number)))
        names = await services.display_names(ids)
        return Template(
            template_name="_online.html", context={"people": [(i, names.get(i, "")) for i in ids]}
        )


def _event_url(event_id: int, invite: str | None) -> str:
    return f"/events/{event_id}" + (f"?invite={invite}" if invite else "")


async def event_page(
    services: Services,
    viewer: Principal | None,
    event_id: int,
    *,
    invite: str | None = None,
    error: DomainError | None = None,
    draft: str = "",
) -> Template:
    view: EventView = await services.get_event(viewer, event_id, invite=invite)
    place = await my_place(services, viewer, event_id)
    chat = await _chat(services, viewer, event_id)
    status, told = explain(error) if error is not None else (200, None)
    return await page(
        "event.html", viewer=viewer, services=services, status=status,
        view=view, place=place, invite=invite, error=told, draft=draft, **chat,
    )  # fmt: skip
