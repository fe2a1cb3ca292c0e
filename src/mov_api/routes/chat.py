"""/api/v1/chat: an event room's history, and posting for clients without websockets."""

from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import JSONBody, QueryParameter

from mov_api.routes.common import EventNumber
from mov_api.routes.deps import ActorDep, PresenceDep, ServicesDep, SocketsDep
from mov_api.schemas import Body, MessageData, MessageOut, MessagesData, Ok, message_out, ok
from mov_core.domain.chat import ChatMessage, room_of
from mov_core.services.bundle import Services
from mov_core.services.chat import online_or_nobody


class MessageIn(Body):
    body: str
    client_msg_id: str | None = None


async def messages_out(services: Services, messages: list[ChatMessage]) -> list[MessageOut]:
    names = await services.display_names([m.sender_id for m in messages])
    return [message_out(m, names) for m in messages]


Before = Annotated[int | None, QueryParameter(ge=1, description="exclusive upper seq")]
Limit = Annotated[int, QueryParameter(ge=1, le=100)]


class ChatController(Controller):
    path = "/api/v1/chat/events"
    tags = ["chat"]

    @get("/{event_id:str}/messages")
    async def history(
        self,
        number: EventNumber,
        actor: ActorDep,
        services: ServicesDep,
        before: Before = None,
        limit: Limit = 50,
    ) -> Ok[MessagesData]:
        """Newest first; pass the smallest `seq` seen as `before` for the previous page."""
        found = list(await services.chat_history(actor, number, before_seq=before, limit=limit))
        data = MessagesData(await messages_out(services, found))
        return ok("Messages retrieved successfully", data)

    @post("/{event_id:str}/messages")
    async def post_message(
        self,
        number: EventNumber,
        data: JSONBody[MessageIn],
        actor: ActorDep,
        services: ServicesDep,
        presence: PresenceDep,
        sockets: SocketsDep,
    ) -> Response[Ok[MessageData]]:
        """201 for a new message; 200 with the original when `clientMsgId` was sent before;
        a new one goes to the room's sockets as if it had come from one of them."""
        online = await online_or_nobody(presence, number)
        posted = await services.post_message(
            actor, number, data.body, data.client_msg_id, online=online
        )
        (body,) = await messages_out(services, [posted.message])
        if posted.created:
            await sockets.emit("message", msgspec.to_builtins(body), room=room_of(number))
        message = "Message sent successfully" if posted.created else "Message already sent"
        status = 201 if posted.created else 200
        return Response(ok(message, MessageData(body)), status_code=status)
