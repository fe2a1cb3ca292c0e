"""What every page needs: the header's facts (who, unread count) and the form helpers."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.params import FromPath, SkipValidation
from litestar.response import Template

from mov_core.domain.errors import DomainError, FieldIssue, ValidationFailed
from mov_core.domain.users import Principal
from mov_core.ports.errors import NotFound
from mov_core.services.bundle import Services

_ID = re.compile(r"^[0-9]{1,18}$")

EventNumber = SkipValidation[int]
FieldsDep = SkipValidation[dict[str, str]]


async def page(
    name: str,
    *,
    viewer: Principal | None,
    services: Services,
    status: int = 200,
    **context: Any,  # noqa: ANN401 - what the template shows
) -> Template:
    unread = await services.unread_count(viewer) if viewer is not None else 0
    return Template(
        template_name=name,
        context={"viewer": viewer, "unread": unread, **context},
        status_code=status,
    )


def path_id(raw: str, kind: str) -> int:
    """An id in a path that is not a positive integer names nothing: the 404 page."""
    if not _ID.match(raw) or int(raw) == 0:
        raise NotFound(kind, raw)
    return int(raw)


def field_errors(issues: list[FieldIssue] | tuple[FieldIssue, ...]) -> dict[str, str]:
    """The first message for each field, as the form shows it next to the field."""
    errors: dict[str, str] = {}
    for issue in issues:
        errors.setdefault(issue.field, issue.message)
    return errors


async def form_data(request: Request[Any, Any, Any]) -> dict[str, str]:
    """A posted form's fields, each once (the last value), as text: what a handler receives
    as `fields`."""
    form = await request.form()
    return {key: str(value) for key, value in form.items() if isinstance(value, str)}


def event_number(event_id: FromPath[str]) -> int:
    """The event a page's path names (`/events/{event_id}/...`), what a handler receives as
    `number`; the 404 page for one that is not an id."""
    return path_id(event_id, "Event")


def explain(error: DomainError) -> tuple[int, str]:
    """A refused action's status and sentence, as the page shows it above the form."""
    if isinstance(error, ValidationFailed):
        return 400, " ".join(issue.message for issue in error.issues)
    return 409, str(error)
