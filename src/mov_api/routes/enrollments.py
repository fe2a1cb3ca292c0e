"""/api/v1/enrollments: join, see, leave."""

import hashlib
import json
from datetime import timedelta
from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody

from mov_api.routes.common import path_id
from mov_api.routes.deps import ActorDep, CacheDep, ServicesDep
from mov_api.schemas import (
    EnrollIn,
    EnrollmentData,
    MyEnrollmentsData,
    Ok,
    enrollment_out,
    my_enrollment_out,
    ok,
)
from mov_core.domain.errors import FieldIssue, ValidationFailed
from mov_core.domain.roster import Placement

IDEMPOTENCY_TTL = timedelta(hours=24)
KEY_MAX = 255
MESSAGES = {
    Placement.ENROLLED: "Enrollment created successfully",
    Placement.WAITLISTED: "Event is full: added to the waitlist",
    Placement.ALREADY_ENROLLED: "Already enrolled in this event",
    Placement.ALREADY_WAITLISTED: "Already on the waitlist of this event",
}


def _idempotency_key(request: Request[Any, Any, Any], actor: ActorDep) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= KEY_MAX:
        raise ValidationFailed([FieldIssue("Idempotency-Key", f"must be 1–{KEY_MAX} characters")])
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"idempotency:enroll:{actor.user_id}:{digest}"


class EnrollmentController(Controller):
    path = "/api/v1/enrollments"
    tags = ["enrollments"]

    @post("/")
    async def enroll(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[EnrollIn],
        actor: ActorDep,
        services: ServicesDep,
        idempotency: CacheDep,
    ) -> Response[Ok[EnrollmentData]]:
        """Take a seat or a waitlist place: 201 when new, 200 with the existing place when
        asked again. The same `Idempotency-Key` replays the first response exactly. A
        non-member of a PRIVATE event gives its `inviteCode` (wrong or missing: 404)."""
        cache_key = _idempotency_key(request, actor)
        if cache_key is not None and (stored := await idempotency.get(cache_key)) is not None:
            first = json.loads(stored)
            if first["eventId"] != data.event_id:
                issue = FieldIssue("Idempotency-Key", "already used for another request")
                raise ValidationFailed([issue])
            replayed = msgspec.convert(first["body"], Ok[EnrollmentData])
            return Response(replayed, status_code=first["status"])
        outcome = await services.enroll(actor, data.event_id, invite=data.invite_code)
        status = 201 if outcome.placement.is_new else 200
        body = ok(MESSAGES[outcome.placement], EnrollmentData(enrollment_out(outcome.enrollment)))
        if cache_key is not None:
            sent = msgspec.to_builtins(body)
            record = json.dumps({"eventId": data.event_id, "status": status, "body": sent})
            await idempotency.set(cache_key, record, ttl=IDEMPOTENCY_TTL)
        return Response(body, status_code=status)

    @get("/me")
    async def mine(self, actor: ActorDep, services: ServicesDep) -> Ok[MyEnrollmentsData]:
        """The caller's enrollments, newest first, each with a summary of its event."""
        items = [
            my_enrollment_out(m.enrollment, m.event) for m in await services.my_enrollments(actor)
        ]
        return ok("Enrollments retrieved successfully", MyEnrollmentsData(items))

    @get("/{enrollment_id:str}")
    async def get_enrollment(
        self, enrollment_id: FromPath[str], actor: ActorDep, services: ServicesDep
    ) -> Ok[EnrollmentData]:
        """Seen by its participant and by the event's organizer."""
        enrollment = await services.get_enrollment(actor, path_id(enrollment_id, "Enrollment"))
        return ok("Enrollment retrieved successfully", EnrollmentData(enrollment_out(enrollment)))

    @delete("/{enrollment_id:str}", status_code=200)
    async def cancel(
        self, enrollment_id: FromPath[str], actor: ActorDep, services: ServicesDep
    ) -> Ok[EnrollmentData]:
        """Give up one's seat or place; the first waiter moves up at once."""
        outcome = await services.cancel_enrollment(actor, path_id(enrollment_id, "Enrollment"))
        data = EnrollmentData(enrollment_out(outcome.enrollment))
        return ok("Enrollment canceled successfully", data)
