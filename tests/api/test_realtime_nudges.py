"""The chat handler tells the in-process worker of each new message (a nudge: its change is
for members who are away), so that a server on SQLite, with no NOTIFY, needs no poll for it."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import make_settings
from tests.backends import factory_for
from tests.contract.use_cases.support import published_event, register

from mov_adapters.bootstrap import Runtime
from mov_adapters.memory.cache import MemoryCache
from mov_adapters.memory.rate_limit import MemoryRateLimiter
from mov_api.realtime import RealtimeHandlers
from mov_core.domain.users import Role


class FakeSocketServer:
    """What the handler asks of python-socketio: one socket's session, and emits."""

    def __init__(self, session: dict[str, Any]) -> None:
        self.session = session
        self.emitted: list[tuple[str, str | None]] = []

    async def get_session(self, _sid: str) -> dict[str, Any]:
        return self.session

    async def emit(self, event: str, _data: Any, *, room: str | None = None, **_: Any) -> None:
        self.emitted.append((event, room))


async def test_a_new_message_nudges_the_workers_and_a_resend_does_not(request, tmp_path):
    backend = factory_for("memory", request, tmp_path)()
    services = backend.services
    runtime = Runtime(
        make_settings(tmp_path), services, MemoryRateLimiter(backend.clock),
        MemoryCache(backend.clock),
    )  # fmt: skip
    organizer = await register(services, "olga@example.com", Role.ORGANIZER)
    event_id = await published_event(services, organizer)
    nudges: list[int] = []
    runtime.nudgers.append(lambda: nudges.append(event_id))
    sio = FakeSocketServer({"principal": organizer, "names": {}})
    handlers = RealtimeHandlers(sio, runtime)  # type: ignore[arg-type]

    sent = {"eventId": event_id, "body": "hello", "clientMsgId": "c-1"}
    first = await handlers.message("sid-1", sent)
    again = await handlers.message("sid-1", sent)

    assert first["ok"]
    assert again["ok"]
    assert nudges == [event_id]  # the resend recorded nothing new
    assert sio.emitted == [("message", f"event:{event_id}")]
