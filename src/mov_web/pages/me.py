"""A signed-in person's own pages: their enrollments, their notifications and preferences."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from mov_adapters.wire import decode_keyset, encode_keyset
from mov_core.domain.notifications import Channel, NotificationType
from mov_core.ports.notifications import NotificationCursor
from mov_web.pages.common import page
from mov_web.session import ServicesDep, UserDep, see_other

KIND_LABELS = {
    NotificationType.ENROLLMENT_CONFIRMED: "Enrollment confirmed",
    NotificationType.WAITLISTED: "Put on a waitlist",
    NotificationType.PROMOTED_FROM_WAITLIST: "Promoted from a waitlist",
    NotificationType.ENROLLMENT_CANCELED: "Enrollment canceled",
    NotificationType.EVENT_UPDATED: "Event changed",
    NotificationType.EVENT_CANCELED: "Event canceled",
    NotificationType.EVENT_REMINDER: "Event reminder",
    NotificationType.ANNOUNCEMENT: "Announcement",
    NotificationType.CHAT_MESSAGE: "Chat message",
}
CHANNEL_LABELS = {Channel.IN_APP: "In the app", Channel.EMAIL: "By e-mail"}


def _cursor(raw: str | None) -> NotificationCursor | None:
    position = decode_keyset(raw) if raw else None
    return NotificationCursor(*position) if position is not None else None


class MyPages(Controller):
    @get("/me/enrollments", name="my-enrollments")
    async def enrollments(self, user: UserDep, services: ServicesDep) -> Template:
        mine = await services.my_enrollments(user)
        return await page("my_enrollments.html", viewer=user, services=services, mine=mine)

    @get("/notifications", name="notifications")
    async def notifications(
        self, user: UserDep, services: ServicesDep, before: FromQuery[str | None] = None
    ) -> Template:
        found = await services.notifications(user, before=_cursor(before), limit=20)
        older = None
        if found.next_cursor is not None:
            cursor = found.next_cursor
            older = encode_keyset(cursor.created_at, cursor.notification_id)
        preferences = await services.notification_preferences(user)
        return await page(
            "notifications.html",
            viewer=user,
            services=services,
            notifications=found.notifications,
            older=older,
            preferences=preferences,
            kinds=KIND_LABELS,
            channels=CHANNEL_LABELS,
        )

    @get("/notifications/badge", name="badge")
    async def badge(self, user: UserDep, services: ServicesDep) -> Template:
        """The header link alone, which the page's script fetches when a notification comes."""
        unread = await services.unread_count(user)
        return Template(template_name="_badge.html", context={"unread": unread})

    @post("/notifications/{notification_id:str}/read", name="mark-read")
    async def mark_read(
        self, notification_id: FromPath[str], user: UserDep, services: ServicesDep
    ) -> Response[Any]:
        await services.mark_notification_read(user, notification_id)
        return see_other("/notifications")

    @post("/notifications/read-all", name="mark-all-read")
    async def mark_all_read(self, user: UserDep, services: ServicesDep) -> Response[Any]:
        await services.mark_all_notifications_read(user)
        return see_other("/notifications")

    @post("/notifications/preferences", name="preferences")
    async def preferences(
        self, request: Request[Any, Any, Any], user: UserDep, services: ServicesDep
    ) -> Response[Any]:
        """Every box of the grid is posted when ticked; a missing one is off."""
        form = await request.form()
        ticked = set(form.keys())
        choices = {
            (kind, channel): f"{kind.value}:{channel.value}" in ticked
            for kind in NotificationType
            for channel in Channel
        }
        await services.save_notification_preferences(user, choices)
        return see_other("/notifications#preferences")
