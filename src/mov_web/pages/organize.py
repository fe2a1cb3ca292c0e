"""Organizers' pages: their events, the event form, one event's lifecycle and roster."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable
from typing import Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from mov_core.domain.errors import DomainError, ValidationFailed
from mov_core.domain.events import EventPatch
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Principal
from mov_core.services.bundle import Services
from mov_core.services.events import EventFilter
from mov_web.forms import EventForm
from mov_web.pages.common import EventNumber, FieldsDep, explain, field_errors, page, path_id
from mov_web.session import ServicesDep, UserDep, see_other

OrganizerDep = UserDep
STATUSES = {s.value: s for s in EventStatus}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one that starts like a formula gets a `'` first
    (OWASP's advice against CSV injection)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


async def _owned(services: Services, organizer: Principal, event_id: int) -> Any:  # noqa: ANN401
    """The organizer's own event (the roster call proves ownership: 403 for another's)."""
    view = await services.get_event(organizer, event_id)
    view.event.ensure_owner(organizer, "manage this event")
    return view


class OrganizerPages(Controller):
    path = "/organize"

    @get("/", name="organize")
    async def dashboard(self, organizer: OrganizerDep, services: ServicesDep) -> Template:
        found = await services.organizer_events(organizer, EventFilter(limit=100))
        return await page("organize.html", viewer=organizer, services=services, events=found.items)

    @get("/events/new", name="new-event")
    async def new_form(self, organizer: OrganizerDep, services: ServicesDep) -> Template:
        return await page(
            "event_form.html", viewer=organizer, services=services,
            form=EventForm.empty(), errors={}, editing=None,
        )  # fmt: skip

    @post("/events/new", name="create-event")
    async def create(
        self, fields: FieldsDep, organizer: OrganizerDep, services: ServicesDep
    ) -> Response[Any] | Template:
        form = EventForm(fields)
        try:
            view = await services.create_event(organizer, form.command())
        except ValidationFailed as error:
            return await page(
                "event_form.html", viewer=organizer, services=services, status=400,
                form=form, errors=field_errors(error.issues), editing=None,
            )  # fmt: skip
        return see_other(f"/organize/events/{view.event.id}")

    @get("/events/{event_id:str}/edit", name="edit-event")
    async def edit_form(
        self, number: EventNumber, organizer: OrganizerDep, services: ServicesDep
    ) -> Template:
        view = await _owned(services, organizer, number)
        return await page(
            "event_form.html", viewer=organizer, services=services,
            form=EventForm.of(view.event), errors={}, editing=view.event,
        )  # fmt: skip

    @post("/events/{event_id:str}/edit", name="save-event")
    async def save(
        self, fields: FieldsDep, number: EventNumber, organizer: OrganizerDep, services: ServicesDep
    ) -> Response[Any] | Template:
        view = await _owned(services, organizer, number)
        form = EventForm(fields)
        try:
            await services.update_event(organizer, number, form.patch())
        except ValidationFailed as error:
            errors = field_errors(error.issues)
        except DomainError as error:  # not editable any more, capacity below the enrolled
            errors = {"_": explain(error)[1]}
        else:
            return see_other(f"/organize/events/{number}")
        return await page(
            "event_form.html", viewer=organizer, services=services, status=400,
            form=form, errors=errors, editing=view.event,
        )  # fmt: skip

    @get("/events/{event_id:str}", name="manage-event")
    async def manage(
        self, number: EventNumber, organizer: OrganizerDep, services: ServicesDep
    ) -> Template:
        return await manage_page(services, organizer, number)

    @post("/events/{event_id:str}/status", name="change-status")
    async def change_status(
        self, fields: FieldsDep, number: EventNumber, organizer: OrganizerDep, services: ServicesDep
    ) -> Response[Any] | Template:
        """A lifecycle button. "Cancel event" asks first: a page with the one confirming button."""
        target = STATUSES.get(fields.get("status", ""))
        if target is None:
            return await manage_page(services, organizer, number, error="Choose a valid status.")
        if target is EventStatus.CANCELED and fields.get("confirm") != "yes":
            view = await _owned(services, organizer, number)
            return await page("confirm_cancel.html", viewer=organizer, services=services, view=view)
        return await _act(
            services, organizer, number, services.change_status(organizer, number, target)
        )

    @post("/events/{event_id:str}/remove/{user_id:str}", name="remove-participant")
    async def remove(
        self,
        number: EventNumber,
        user_id: FromPath[str],
        organizer: OrganizerDep,
        services: ServicesDep,
    ) -> Response[Any] | Template:
        participant = path_id(user_id, "User")
        removal = services.remove_participant(organizer, number, participant)
        return await _act(services, organizer, number, removal)

    @post("/events/{event_id:str}/resize", name="resize")
    async def resize(
        self, fields: FieldsDep, number: EventNumber, organizer: OrganizerDep, services: ServicesDep
    ) -> Response[Any] | Template:
        raw = fields.get("maxParticipants", "").strip()
        if not raw.isdigit() or len(raw) > 9:
            return await manage_page(
                services, organizer, number,
                errors={"maxParticipants": "Capacity must be a whole number"},
            )  # fmt: skip
        resizing = services.update_event(organizer, number, EventPatch(capacity=int(raw)))
        return await _act(services, organizer, number, resizing, field="maxParticipants")

    @post("/events/{event_id:str}/announce", name="announce")
    async def announce(
        self, fields: FieldsDep, number: EventNumber, organizer: OrganizerDep, services: ServicesDep
    ) -> Response[Any] | Template:
        view = await _owned(services, organizer, number)
        subject = fields.get("subject", "").strip() or f"News about {view.event.title}"[:200]
        body = fields.get("announcement", "")
        try:
            sent = await services.announce(organizer, number, subject, body)
        except DomainError as error:
            return await _refused(services, organizer, number, error, "announcement", draft=body)
        return await manage_page(
            services, organizer, number, notice=f"Announcement sent to {sent.recipients} people."
        )

    @post("/events/{event_id:str}/invite-code", name="rotate-invite")
    async def rotate(
        self, number: EventNumber, organizer: OrganizerDep, services: ServicesDep
    ) -> Response[Any]:
        await services.rotate_invite_code(organizer, number)
        return see_other(f"/organize/events/{number}")

    @get("/events/{event_id:str}/roster.csv", name="roster-csv", media_type="text/csv")
    async def roster_csv(
        self, number: EventNumber, organizer: OrganizerDep, services: ServicesDep
    ) -> Response[str]:
        roster = await services.roster(organizer, number)
        people = [*roster.enrolled, *roster.waitlist]
        names = await services.display_names(sorted({e.user_id for e in people}))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["status", "waitlist position", "name", "user id", "since"])
        for e in people:
            writer.writerow([
                csv_cell(e.status.value), csv_cell(e.waitlist_position or ""),
                csv_cell(names.get(e.user_id, "")), csv_cell(e.user_id),
                csv_cell(e.created_at.isoformat()),
            ])  # fmt: skip
        return Response(
            out.getvalue(),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="event-{number}-roster.csv"'},
        )


async def _act(
    services: Services,
    organizer: Principal,
    event_id: int,
    action: Awaitable[object],
    *,
    field: str | None = None,
) -> Response[Any] | Template:
    """Await an organizer's action on their event: then back to the event's page (303), or that
    page again with the refusal, beside `field` when the action belongs to one form."""
    try:
        await action
    except DomainError as error:
        return await _refused(services, organizer, event_id, error, field)
    return see_other(f"/organize/events/{event_id}")


async def _refused(
    services: Services,
    organizer: Principal,
    event_id: int,
    error: DomainError,
    field: str | None,
    draft: str = "",
) -> Template:
    """The event's page with a refused action's reason: the core's per-field validation issues
    (all of them beside `field`, when given: the form has that one input), or one message."""
    if isinstance(error, ValidationFailed):
        errors = field_errors(error.issues)
        if field is not None and field not in errors:
            errors = {field: " ".join(errors.values())}
        return await manage_page(services, organizer, event_id, errors=errors, draft=draft)
    message = explain(error)[1]
    if field is None:
        return await manage_page(services, organizer, event_id, error=message, draft=draft)
    return await manage_page(services, organizer, event_id, errors={field: message}, draft=draft)


async def manage_page(
    services: Services,
    organizer: Principal,
    event_id: int,
    *,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    draft: str = "",
) -> Template:
    view = await _owned(services, organizer, event_id)
    roster = await services.roster(organizer, event_id)
    names = await services.display_names(
        sorted({e.user_id for e in (*roster.enrolled, *roster.waitlist)})
    )
    refused = error is not None or bool(errors)
    return await page(
        "manage_event.html", viewer=organizer, services=services,
        status=409 if refused else 200, view=view, roster=roster, names=names,
        error=error, errors=errors or {}, notice=notice, draft=draft,
    )  # fmt: skip
