"""A new chat message nudges the in-process worker (its change is for members who are away),
so that a server on SQLite, with no NOTIFY, needs no poll for it; the nudge comes from the
after-commit dispatcher, not from the socket handler."""

from __future__ import annotations

from typing import Any

import pytest
from tests.backends import ALL_BACKENDS, factory_for
from tests.contract.use_cases.support import published_event, register

from mov_api.realtime import RealtimeHandlers
from mov_core.domain.users import Role
from mov_core.services.effects import worker_wake_up


class FakeSocketServer:
    """What the handler asks of python-socketio: one socket's session, and emits."""

    def __init__(self, session: dict[str, Any]) -> None:
        self.session = session
        self.emitted: list[tuple[str, str | None]] = []

    async def get_session(self, _sid: str) -> dict[str, Any]:
        return self.session

    async def emit(self, event: str, _data: Any, *, room: str | None = None, **_: Any) -> None:
        self.emitted.append((event, room))


class Alarm:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def wake(self) -> None:
        self.calls.append("wake")

    def nudge(self) -> None:
        self.calls.append("nudge")


@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
async def test_a_new_message_nudges_the_worker_and_a_resend_does_not(
    request, tmp_path, backend_name
):
    backend = factory_for(backend_name, request, tmp_path)()
    runtime, services = backend.runtime, backend.services
    try:
        organizer = await register(services, "olga@example.com", Role.ORGANIZER)
        event_id = await published_event(services, organizer)
        alarm = Alarm()
        runtime.effects.subscribe(worker_wake_up(alarm))
        sio = FakeSocketServer({"principal": organizer, "names": {}})
        handlers = RealtimeHandlers(
            sio,  # type: ignore[arg-type]
            services,
            runtime.presence,
            runtime.rate_limiter,
            runtime.settings,
        )

        sent = {"eventId": event_id, "body": "hello", "clientMsgId": "c-1"}
        first = await handlers.message("sid-1", sent)
        again = await handlers.message("sid-1", sent)

        assert first["ok"]
        assert again["ok"]
        assert alarm.calls == ["nudge"]  # the resend recorded nothing new
        assert sio.emitted == [("message", f"event:{event_id}")]
    finally:
        await backend.close()
