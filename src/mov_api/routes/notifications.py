"""/api/v1/notifications: a user's in-app notifications, read marks and preferences; and the
one-click unsubscribe links of e-mails."""

from __future__ import annotations

import html
import re
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post, put
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from mov_adapters.wire import encode_keyset
from mov_api.routes.common import read_cursor
from mov_api.routes.deps import ActorDep, LinksDep, ServicesDep
from mov_api.schemas import (
    CountOut,
    NotificationData,
    NotificationPageOut,
    Ok,
    PreferencesData,
    UnsubscribedOut,
    UpdatedOut,
    notification_out,
    ok,
)
from mov_core.domain.errors import FieldIssue, ValidationFailed
from mov_core.domain.notifications import Channel, NotificationType, Preferences
from mov_core.ports.errors import NotFound
from mov_core.ports.infra import UnsubscribeLinks
from mov_core.ports.notifications import NotificationCursor

_NOTIFICATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TYPES = {t.value: t for t in NotificationType}
CHANNELS = {c.value: c for c in Channel}

Limit = Annotated[int, QueryParameter(ge=1, le=100)]
Unread = Annotated[bool | None, QueryParameter(description="only unread ones when true")]


def preferences_out(preferences: Preferences) -> PreferencesData:
    return PreferencesData(
        {
            kind.value: {channel.value: preferences.allows(kind, channel) for channel in Channel}
            for kind in NotificationType
        }
    )


def _encode(cursor: NotificationCursor | None) -> str | None:
    return None if cursor is None else encode_keyset(cursor.created_at, cursor.notification_id)


def _decode(raw: str | None) -> NotificationCursor | None:
    position = read_cursor(raw, lambda key: bool(_NOTIFICATION_ID.match(key)))
    return None if position is None else NotificationCursor(*position)


def _notification_id(raw: str) -> str:
    if not _NOTIFICATION_ID.match(raw):
        raise NotFound("Notification", raw)
    return raw


def parse_choices(raw: Any) -> dict[tuple[NotificationType, Channel], bool]:  # noqa: ANN401
    """`{TYPE: {CHANNEL: bool}}`, alone or under `preferences`; every bad entry is reported."""
    if isinstance(raw, dict) and set(raw) == {"preferences"}:
        raw = raw["preferences"]
    if not isinstance(raw, dict):
        raise ValidationFailed(
            [FieldIssue("preferences", "preferences must be an object of type → channel → bool")]
        )
    issues: list[FieldIssue] = []
    choices: dict[tuple[NotificationType, Channel], bool] = {}
    for type_name, channels in raw.items():
        kind = TYPES.get(type_name)
        if kind is None:
            issues.append(FieldIssue(f"preferences.{type_name}", "Unknown notification type"))
            continue
        if not isinstance(channels, dict):
            issues.append(
                FieldIssue(f"preferences.{type_name}", "must be an object of channel → bool")
            )
            continue
        for channel_name, enabled in channels.items():
            channel = CHANNELS.get(channel_name)
            where = f"preferences.{type_name}.{channel_name}"
            if channel is None:
                issues.append(FieldIssue(where, "Unknown channel: use IN_APP or EMAIL"))
            elif not isinstance(enabled, bool):
                issues.append(FieldIssue(where, "must be true or false"))
            else:
                choices[(kind, channel)] = enabled
    if issues:
        raise ValidationFailed(issues)
    return choices


_UNSUBSCRIBED = "Unsubscribed: this envelope, or an HTML page for a client that prefers text/html"


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]

    @get("/")
    async def list_notifications(
        self,
        actor: ActorDep,
        services: ServicesDep,
        unread: Unread = None,
        limit: Limit = 20,
        cursor: FromQuery[str | None] = None,
    ) -> Ok[NotificationPageOut]:
        """Newest first; pass `nextCursor` back as `cursor` for the next page."""
        page = await services.notifications(
            actor, unread_only=bool(unread), before=_decode(cursor), limit=limit
        )
        data = NotificationPageOut(
            [notification_out(n) for n in page.notifications], _encode(page.next_cursor)
        )
        return ok("Notifications retrieved successfully", data)

    @get("/unread-count")
    async def unread_count(self, actor: ActorDep, services: ServicesDep) -> Ok[CountOut]:
        count = await services.unread_count(actor)
        return ok("Unread count retrieved successfully", CountOut(count))

    @post("/{notification_id:str}/read", status_code=200)
    async def mark_read(
        self, notification_id: FromPath[str], actor: ActorDep, services: ServicesDep
    ) -> Ok[NotificationData]:
        """Idempotent; another user's notification is answered 404, as a missing one."""
        read = await services.mark_notification_read(actor, _notification_id(notification_id))
        return ok("Notification marked as read", NotificationData(notification_out(read)))

    @post("/read-all", status_code=200)
    async def mark_all_read(self, actor: ActorDep, services: ServicesDep) -> Ok[UpdatedOut]:
        updated = await services.mark_all_notifications_read(actor)
        return ok("All notifications marked as read", UpdatedOut(updated))

    @get("/preferences")
    async def preferences(self, actor: ActorDep, services: ServicesDep) -> Ok[PreferencesData]:
        """For every type, whether it is sent on each channel (`IN_APP`, `EMAIL`)."""
        preferences = await services.notification_preferences(actor)
        return ok("Preferences retrieved successfully", preferences_out(preferences))

    @put("/preferences")
    async def save_preferences(
        self, data: JSONBody[dict[str, Any]], actor: ActorDep, services: ServicesDep
    ) -> Ok[PreferencesData]:
        """Body `{TYPE: {CHANNEL: bool}}` (or the same under `preferences`); only the
        choices given change."""
        saved = await services.save_notification_preferences(actor, parse_choices(data))
        return ok("Preferences updated successfully", preferences_out(saved))

    @get("/unsubscribe", media_type=MediaType.HTML)
    async def unsubscribe_page(self, token: FromQuery[str], links: LinksDep) -> Response[str]:
        """The link in every e-mail opens a page asking to confirm: a link checker or a mail
        scanner that merely fetches it changes nothing (the button POSTs)."""
        _, kind = _verified(links, token)
        label = _label(kind)
        action = html.escape(f"?token={token}", quote=True)
        page = _PAGE.format(
            title="Unsubscribe",
            body=f"<p>Stop e-mails about <b>{label}</b>? You will still see them in the app.</p>"
            f"<form method='post' action='{action}'><button type='submit'>Unsubscribe</button>"
            "</form>",
        )
        return Response(page, media_type=MediaType.HTML)

    @post(
        "/unsubscribe",
        status_code=200,
        # the JSON answer; the union of the annotation would document no schema at all
        responses={200: ResponseSpec(Ok[UnsubscribedOut], description=_UNSUBSCRIBED)},
    )
    async def unsubscribe(
        self,
        request: Request[Any, Any, Any],
        token: FromQuery[str],
        links: LinksDep,
        services: ServicesDep,
    ) -> Response[Ok[UnsubscribedOut] | str]:
        """The confirmation button, and one-click unsubscribe (RFC 8058) from mail clients:
        no more e-mails of that type. A page for browsers, the JSON envelope otherwise."""
        user_id, kind = _verified(links, token)
        await services.unsubscribe(user_id, kind)
        if request.accept.best_match([MediaType.JSON, MediaType.HTML]) == MediaType.HTML:
            body = (
                f"<p>You will no longer get e-mails about <b>{_label(kind)}</b>. You can turn "
                "them back on in your notification preferences.</p>"
            )
            return Response(
                _PAGE.format(title="Unsubscribed", body=body), media_type=MediaType.HTML
            )
        data = UnsubscribedOut(kind.value, Channel.EMAIL.value)
        return Response(ok("Unsubscribed", data), media_type=MediaType.JSON)


_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
    "<body>{body}</body></html>"
)


def _label(kind: NotificationType) -> str:
    return html.escape(kind.value.replace("_", " ").lower())


def _verified(links: UnsubscribeLinks, token: str) -> tuple[int, NotificationType]:
    try:
        return links.verify(token)
    except ValueError:
        issue = FieldIssue("token", "This unsubscribe link is not valid")
        raise ValidationFailed([issue]) from None
