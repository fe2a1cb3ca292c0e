"""Random status changes, edits and deletes through the use cases, checked against API.md's
lifecycle written out here independently of the domain's table."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from tests.backends import (
    Backend,
    BackendFactory,
    factory_for,
    memory_backend,
    sql_machine_settings,
    with_backend,
)

from mov_core.domain.errors import EventNotDeletable, EventNotEditable, InvalidTransition
from mov_core.domain.events import EventPatch, NewEvent
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Role
from mov_core.ports.errors import NotFound
from mov_core.services.auth import RegisterUser

ALLOWED = {
    ("Planning", "Published"),
    ("Planning", "Canceled"),
    ("Published", "Running"),
    ("Published", "Canceled"),
    ("Running", "Completed"),
}
EDITABLE = {"Planning", "Published"}
SEEN_BY_ANYONE = {"Published", "Running", "Completed"}


class LifecycleMachine(RuleBasedStateMachine):
    backend_factory: BackendFactory = staticmethod(memory_backend)
    events = Bundle("events")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.backend: Backend = self.backend_factory()
        self.services = self.backend.services
        self.status: dict[int, str] = {}

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        result = self.backend.close()
        if asyncio.iscoroutine(result):
            self.run(result)
        self.loop.close()

    @initialize()
    def organizer_account(self) -> None:
        cmd = RegisterUser("org@example.com", "long enough pw", Role.ORGANIZER)
        self.organizer = self.run(self.services.register_user(cmd)).principal

    @rule(target=events)
    def plan(self) -> int:
        cmd = NewEvent(
            title="Lifecycle", description=None,
            starts_at=self.backend.clock.now() + timedelta(days=9), ends_at=None,
            location="Hall", category="tech", capacity=5,
        )  # fmt: skip
        event_id = self.run(self.services.create_event(self.organizer, cmd)).event.id
        self.status[event_id] = "Planning"
        return event_id

    @rule(event_id=events, to=st.sampled_from(EventStatus))
    def move(self, event_id: int, to: EventStatus) -> None:
        current = self.status.get(event_id)
        if current is None:
            return
        self.backend.clock.advance(timedelta(seconds=1))
        call = self.services.change_status(self.organizer, event_id, to)
        if (current, to.value) in ALLOWED:
            assert self.run(call).event.status is to
            self.status[event_id] = to.value
        else:
            message = f"^Invalid state transition from {current} to {to.value}$"
            with pytest.raises(InvalidTransition, match=message):
                self.run(call)

    @rule(event_id=events, title=st.sampled_from(["Renamed", "Another title"]))
    def edit(self, event_id: int, title: str) -> None:
        current = self.status.get(event_id)
        if current is None:
            return
        call = self.services.update_event(self.organizer, event_id, EventPatch(title=title))
        if current in EDITABLE:
            assert self.run(call).event.title == title
        else:
            with pytest.raises(EventNotEditable):
                self.run(call)

    @rule(event_id=events)
    def delete(self, event_id: int) -> None:
        current = self.status.get(event_id)
        if current is None:
            return
        call = self.services.delete_event(self.organizer, event_id)
        if current == "Planning":
            self.run(call)
            del self.status[event_id]
        else:
            with pytest.raises(EventNotDeletable):
                self.run(call)

    @invariant()
    def stored_status_and_visibility_follow_the_model(self) -> None:
        for event_id, status in self.status.items():
            view = self.run(self.services.get_event(self.organizer, event_id))
            assert view.event.status.value == status
            try:
                self.run(self.services.get_event(None, event_id))
                seen = True
            except NotFound:
                seen = False
            assert seen == (status in SEEN_BY_ANYONE)


TestLifecycleOnMemory = with_backend(LifecycleMachine, memory_backend).TestCase


def test_lifecycle_on_sqlite(request, tmp_path):
    factory = factory_for("sqlite", request, tmp_path)
    run_state_machine_as_test(
        with_backend(LifecycleMachine, factory), settings=sql_machine_settings()
    )


@pytest.mark.integration
def test_lifecycle_on_postgres(request, tmp_path):
    factory = factory_for("postgres", request, tmp_path)
    run_state_machine_as_test(
        with_backend(LifecycleMachine, factory), settings=sql_machine_settings()
    )
