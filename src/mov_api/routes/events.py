"""/api/v1/events: catalogue, organizer management, availability, rosters."""

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, head, patch, post, put
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter, SkipValidation

from mov_adapters.wire import calendar_file
from mov_api import read_cache
from mov_api.routes.common import EventNumber, decode_cursor, encode_cursor, path_id
from mov_api.routes.deps import ActorDep, CalendarDep, ServicesDep, ViewerDep
from mov_api.schemas import (
    AnnouncementData,
    AnnouncementIn,
    AnnouncementOut,
    AvailabilityOut,
    Done,
    EventData,
    EventIn,
    EventPageOut,
    EventPatchIn,
    Ok,
    RemovalOut,
    RosterOut,
    StatusIn,
    availability_out,
    done,
    enrollment_out,
    ok,
    parse_moment,
    raise_if,
    view_out,
)
from mov_core.domain.errors import FieldIssue
from mov_core.domain.events import UNSET, EventPatch, NewEvent, Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Principal
from mov_core.services.events import EventFilter, EventPage

STATUSES = {s.value: s for s in EventStatus}


def _statuses(values: list[str] | None, issues: list[FieldIssue]) -> frozenset[EventStatus] | None:
    if not values:
        return None
    unknown = [v for v in values if v not in STATUSES]
    if unknown:
        issues.append(FieldIssue("status", f"Invalid event status: {', '.join(unknown)}"))
        return None
    return frozenset(STATUSES[v] for v in values)


def _filters(
    status: list[str] | None,
    category: list[str] | None,
    q: str | None,
    starts_from: str | None,
    starts_to: str | None,
    limit: int,
    cursor: str | None,
) -> EventFilter:
    issues: list[FieldIssue] = []
    statuses = _statuses(status, issues)
    start = parse_moment("from", starts_from, issues) if starts_from else None
    end = parse_moment("to", starts_to, issues) if starts_to else None
    raise_if(issues)
    return EventFilter(
        statuses=statuses,
        categories=frozenset(category) if category else None,
        text=q,
        starts_from=start,
        starts_to=end,
        after=decode_cursor(cursor),
        limit=limit,
    )


def _page(message: str, page: EventPage, viewer: Principal | None) -> Ok[EventPageOut]:
    events = [view_out(v, viewer) for v in page.items]
    return ok(message, EventPageOut(events, encode_cursor(page.next_cursor)))


def _new_event(data: JSONBody[EventIn]) -> NewEvent:
    issues: list[FieldIssue] = []
    starts = parse_moment("date", data.date, issues)
    ends = parse_moment("endDate", data.end_date, issues) if data.end_date else None
    raise_if(issues)
    assert starts is not None  # noqa: S101 - raise_if guarantees it
    return NewEvent(
        title=data.title,
        description=data.description,
        starts_at=starts,
        ends_at=ends,
        location=data.location,
        category=data.category,
        capacity=data.max_participants,
        visibility=Visibility(data.visibility),
        waitlist_enabled=data.waitlist_enabled,
    )


def _given(value: Any) -> Any:  # noqa: ANN401
    return UNSET if value is msgspec.UNSET else value


def _patch(data: JSONBody[EventPatchIn]) -> EventPatch:
    issues: list[FieldIssue] = []
    starts = _given(data.date)
    if isinstance(starts, str):
        starts = parse_moment("date", starts, issues)
    ends = _given(data.end_date)
    if isinstance(ends, str):
        ends = parse_moment("endDate", ends, issues)
    raise_if(issues)
    visibility = _given(data.visibility)
    return EventPatch(
        title=_given(data.title),
        description=_given(data.description),
        starts_at=starts,
        ends_at=ends,
        location=_given(data.location),
        category=_given(data.category),
        capacity=_given(data.max_participants),
        visibility=Visibility(visibility) if isinstance(visibility, str) else UNSET,
        waitlist_enabled=_given(data.waitlist_enabled),
    )


Statuses = Annotated[list[str] | None, QueryParameter(name="status", description="repeatable")]
Categories = Annotated[list[str] | None, QueryParameter(name="category", description="repeatable")]
From = Annotated[str | None, QueryParameter(name="from", description="ISO-8601, inclusive")]
To = Annotated[str | None, QueryParameter(name="to", description="ISO-8601, inclusive")]
Limit = Annotated[int, QueryParameter(ge=1, le=100)]
Invite = Annotated[
    str | None,
    QueryParameter(
        name="invite",
        description="A PRIVATE event's invite code: how a non-member sees it (a wrong or "
        "missing code answers 404, as a missing event)",
    ),
]


ICS = "text/calendar"
IcsDep = SkipValidation[tuple[bytes, dict[str, str]]]


async def _ics_file(
    number: EventNumber,
    viewer: ViewerDep,
    services: ServicesDep,
    calendar: CalendarDep,
    invite: Invite = None,
) -> tuple[bytes, dict[str, str]]:
    """An event's iCalendar file and its download headers, for anyone who may see the event:
    what GET sends and HEAD describes."""
    view = await services.get_event(viewer, number, invite=invite)
    return calendar_file(calendar, view.event)


_ICS_FILE = {"ics": Provide(_ics_file)}
"""Litestar adds `; charset=utf-8` to every `text/` type itself (naming it here sent it twice)."""


class EventController(Controller):
    path = "/api/v1/events"
    tags = ["events"]

    @get("/", before_request=read_cache.serve_cached)
    async def list_events(
        self,
        request: Request[Any, Any, Any],
        viewer: ViewerDep,
        services: ServicesDep,
        status: Statuses = None,
        category: Categories = None,
        q: FromQuery[str | None] = None,
        starts_from: From = None,
        starts_to: To = None,
        limit: Limit = 20,
        cursor: FromQuery[str | None] = None,
    ) -> Ok[EventPageOut]:
        """Events the caller may see, by date then id; keyset pages via `nextCursor`."""
        filters = _filters(status, category, q, starts_from, starts_to, limit, cursor)
        page = await services.list_events(viewer, filters)
        return read_cache.remember(
            request, viewer, _page("Events retrieved successfully", page, viewer)
        )

    @get("/organizer/me")
    async def organizer_events(
        self,
        actor: ActorDep,
        services: ServicesDep,
        status: Statuses = None,
        category: Categories = None,
        q: FromQuery[str | None] = None,
        limit: Limit = 20,
        cursor: FromQuery[str | None] = None,
    ) -> Ok[EventPageOut]:
        """The calling organizer's own events, every status."""
        filters = _filters(status, category, q, None, None, limit, cursor)
        page = await services.organizer_events(actor, filters)
        return _page("Organizer events retrieved successfully", page, actor)

    @get("/{event_id:str}", before_request=read_cache.serve_cached)
    async def get_event(
        self,
        request: Request[Any, Any, Any],
        number: EventNumber,
        viewer: ViewerDep,
        services: ServicesDep,
        invite: Invite = None,
    ) -> Ok[EventData]:
        """An event the caller may see: its owner sees its `inviteCode`; a non-member sees a
        PRIVATE event only with `?invite=` its current code."""
        view = await services.get_event(viewer, number, invite=invite)
        body = read_cache.event_answer(view, viewer)
        if invite is not None:
            return body  # never cached: the cache key would hold the code
        return read_cache.remember(request, viewer, body)

    @post("/", status_code=201)
    async def create_event(
        self, data: JSONBody[EventIn], actor: ActorDep, services: ServicesDep
    ) -> Ok[EventData]:
        """Organizers plan events; a new event is `Planning`."""
        view = await services.create_event(actor, _new_event(data))
        return ok("Event created successfully", EventData(view_out(view, actor)))

    @put("/{event_id:str}")
    async def update_event(
        self,
        number: EventNumber,
        data: JSONBody[EventPatchIn],
        actor: ActorDep,
        services: ServicesDep,
    ) -> Ok[EventData]:
        """Edit (Planning or Published); more seats promote waiters at once."""
        view = await services.update_event(actor, number, _patch(data))
        return ok("Event updated successfully", EventData(view_out(view, actor)))

    @delete("/{event_id:str}", status_code=200)
    async def delete_event(
        self, number: EventNumber, actor: ActorDep, services: ServicesDep
    ) -> Done:
        """Only a Planning event nobody enrolled in."""
        await services.delete_event(actor, number)
        return done("Event deleted successfully")

    @patch("/{event_id:str}/status")
    async def change_status(
        self, number: EventNumber, data: JSONBody[StatusIn], actor: ActorDep, services: ServicesDep
    ) -> Ok[EventData]:
        """Planning → Published | Canceled; Published → Running | Canceled; Running → Completed."""
        target = STATUSES.get(data.status)
        if target is None:
            raise_if([FieldIssue("status", "Invalid event status")])
        assert target is not None  # noqa: S101
        view = await services.change_status(actor, number, target)
        return ok("Event status changed successfully", EventData(view_out(view, actor)))

    @post("/{event_id:str}/invite-code", status_code=200)
    async def rotate_invite_code(
        self, number: EventNumber, actor: ActorDep, services: ServicesDep
    ) -> Ok[EventData]:
        """The owner of a PRIVATE event replaces its `inviteCode`: the old code opens nothing
        from then on; members keep their places. A PUBLIC event has no code (400)."""
        view = await services.rotate_invite_code(actor, number)
        return ok("Invite code rotated successfully", EventData(view_out(view, actor)))

    @get("/{event_id:str}/availability")
    async def availability(
        self, number: EventNumber, viewer: ViewerDep, services: ServicesDep, invite: Invite = None
    ) -> Ok[AvailabilityOut]:
        seats = await services.availability(viewer, number, invite=invite)
        return ok("Availability retrieved successfully", availability_out(seats))

    @get("/{event_id:str}/enrollments")
    async def roster(
        self, number: EventNumber, actor: ActorDep, services: ServicesDep
    ) -> Ok[RosterOut]:
        """The owner's view: who holds a seat, and the waitlist in order with positions."""
        snapshot = await services.roster(actor, number)
        data = RosterOut(
            enrolled=[enrollment_out(e) for e in snapshot.enrolled],
            waitlist=[enrollment_out(e) for e in snapshot.waitlist],
        )
        return ok("Roster retrieved successfully", data)

    @delete("/{event_id:str}/enrollments/{user_id:str}", status_code=200)
    async def remove_participant(
        self, number: EventNumber, user_id: FromPath[str], actor: ActorDep, services: ServicesDep
    ) -> Ok[RemovalOut]:
        """The owner takes a participant off the roster; the first waiter is promoted."""
        outcome = await services.remove_participant(actor, number, path_id(user_id, "Enrollment"))
        promoted = enrollment_out(outcome.promoted) if outcome.promoted else None
        data = RemovalOut(enrollment_out(outcome.enrollment), promoted)
        return ok("Participant removed successfully", data)

    @post("/{event_id:str}/announcements", status_code=202)
    async def announce(
        self,
        number: EventNumber,
        data: JSONBody[AnnouncementIn],
        actor: ActorDep,
        services: ServicesDep,
    ) -> Ok[AnnouncementData]:
        """Tell every enrolled participant (in the app and by e-mail, by their preferences).
        Accepted now, delivered by the notification worker."""
        announcement = await services.announce(actor, number, data.subject, data.body)
        body = AnnouncementOut(
            id=announcement.id,
            event_id=announcement.event_id,
            subject=announcement.subject,
            body=announcement.body,
            recipients=announcement.recipients,
        )
        return ok("Announcement accepted", AnnouncementData(body))

    @get("/{event_id:str}/calendar.ics", media_type=ICS, dependencies=_ICS_FILE)
    async def calendar(self, ics: IcsDep) -> Response[bytes]:
        """The event as an iCalendar file, for anyone who may see the event."""
        body, headers = ics
        return Response(body, media_type=ICS, headers=headers)

    @head("/{event_id:str}/calendar.ics", media_type=ICS, dependencies=_ICS_FILE)
    async def calendar_head(self, ics: IcsDep) -> Response[None]:
        """What GET would send, without the body: calendar programs ask before subscribing."""
        return Response(None, media_type=ICS, headers=ics[1])
