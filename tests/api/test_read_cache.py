"""The read cache of anonymous public event reads (`mov_api.read_cache`): a cached answer is
served, a write made in the serving process shows at once in the next anonymous read (whether
through the API, the use cases or the lifecycle clock: the after-commit dispatcher renews the
versions, no route does), and callers with a token never get (nor fill) the anonymous cache.

"Behind the API's back" below means by another process on the same database without a shared
cache (no Redis): the database changes, this process's cache is not told, so an anonymous read
that still shows the old value was served from the cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from tests.api.conftest import Api, run
from tests.backends import Options, factory_for, memory_backend

from mov_adapters.bootstrap import OWN_READS, SHARED_READS, build_runtime
from mov_adapters.settings import Settings
from mov_api import read_cache
from mov_api.app import create_app
from mov_core.domain.events import EventPatch
from mov_core.ports.errors import Unavailable
from mov_core.services.bundle import Services

EVENTS = "/api/v1/events"
ENROLL = "/api/v1/enrollments"


@pytest.fixture(params=["memory", "sqlite"])
def api(request: pytest.FixtureRequest, tmp_path) -> Iterator[Api]:
    """As tests/api/conftest.py's, with no worker in the server: a worker catches this process's
    cache up with other processes' writes (`test_the_worker_catches_up_...`), which would race
    with the reads that show what the cache holds."""
    env = {"MOV_WORKER_IN_SERVER": "false"}
    backend = factory_for(request.param, request, tmp_path, env=env)()
    with TestClient(create_app(backend.runtime), raise_server_exceptions=False) as client:
        yield Api(client, backend)


@pytest.mark.in_process  # its backend or clock
def test_the_worker_catches_up_with_a_write_made_by_another_process(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, title="First title")
    assert _one(api, event_id)["title"] == "First title"
    _rename_behind_the_apis_back(api, owner, event_id, "Second title")
    assert _one(api, event_id)["title"] == "First title"
    worker = api.backend.runtime.worker()
    run(api, worker.drain_once)  # as the server's worker does, at most a poll later
    assert _one(api, event_id)["title"] == "Second title"
    assert _listed(api)[event_id]["title"] == "Second title"


def _listed(api: Api, headers: dict[str, str] | None = None) -> dict[int, dict[str, Any]]:
    response = api.client.get(EVENTS, headers=headers or {})
    assert response.status_code == 200, response.text
    return {e["id"]: e for e in response.json()["data"]["events"]}


def _one(api: Api, event_id: int | str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = api.client.get(f"{EVENTS}/{event_id}", headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()["data"]["event"]


def _rename_through(services: Services, api: Api, owner: dict[str, str], event_id: int, title: str):
    actor = services.verify_token(owner["Authorization"].removeprefix("Bearer "))

    async def rename() -> None:
        await services.update_event(actor, event_id, EventPatch(title=title))

    run(api, rename)


def _rename_behind_the_apis_back(
    api: Api, owner: dict[str, str], event_id: int, title: str, **env: str
):
    elsewhere = api.backend.another_process(**env)
    _rename_through(elsewhere.services, api, owner, event_id, title)
    run(api, elsewhere.close)


@pytest.mark.in_process  # its backend or clock
def test_a_use_case_write_in_this_process_shows_at_once_without_any_route(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, title="First title")
    assert _one(api, event_id)["title"] == "First title"
    assert _listed(api)[event_id]["title"] == "First title"
    _rename_through(api.backend.services, api, owner, event_id, "Second title")
    assert _one(api, event_id)["title"] == "Second title"
    assert _listed(api)[event_id]["title"] == "Second title"


@pytest.mark.in_process  # its backend or clock
def test_a_status_change_by_the_lifecycle_clock_shows_at_once(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, date="2030-01-02T09:00:00.000Z")
    assert _one(api, event_id)["status"] == "Published"
    api.clock.advance(timedelta(days=1, minutes=1))  # now past the event's start
    report = run(api, api.backend.runtime.worker().tick_once)
    assert report.started == (event_id,)
    assert _one(api, event_id)["status"] == "Running"
    assert _listed(api)[event_id]["status"] == "Running"


def test_a_cached_anonymous_read_is_served_until_a_write_through_the_api(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, title="First title")
    assert _listed(api)[event_id]["title"] == "First title"
    assert _one(api, event_id)["title"] == "First title"

    _rename_behind_the_apis_back(api, owner, event_id, "Second title")
    assert _listed(api)[event_id]["title"] == "First title"  # from the cache
    assert _one(api, event_id)["title"] == "First title"

    renamed = api.client.put(f"{EVENTS}/{event_id}", json={"title": "Third title"}, headers=owner)
    assert renamed.status_code == 200, renamed.text
    assert _listed(api)[event_id]["title"] == "Third title"
    assert _one(api, event_id)["title"] == "Third title"


@pytest.mark.in_process  # its backend or clock
def test_a_cached_read_lives_for_the_ttl_only(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, title="First title")
    assert _one(api, event_id)["title"] == "First title"
    _rename_behind_the_apis_back(api, owner, event_id, "Second title")
    assert _one(api, event_id)["title"] == "First title"
    api.clock.advance(OWN_READS)
    assert _one(api, event_id)["title"] == "Second title"
    assert _listed(api)[event_id]["title"] == "Second title"


def test_a_status_change_shows_at_once(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    started, canceled = api.event(owner), api.event(owner)
    assert {e: s["status"] for e, s in _listed(api).items()} == {
        started: "Published",
        canceled: "Published",
    }
    assert _one(api, started)["status"] == _one(api, canceled)["status"] == "Published"

    for event_id, status in ((started, "Running"), (canceled, "Canceled")):
        moved = api.client.patch(
            f"{EVENTS}/{event_id}/status", json={"status": status}, headers=owner
        )
        assert moved.status_code == 200, moved.text
    assert {e: s["status"] for e, s in _listed(api).items()} == {started: "Running"}
    assert _one(api, started)["status"] == "Running"
    assert api.client.get(f"{EVENTS}/{canceled}").status_code == 404  # no longer public


def test_enrollments_cancellations_and_removals_show_at_once(api):
    c = api.client
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, maxParticipants=1)
    first, second = api.token("a@example.com"), api.token("b@example.com")

    def seats() -> list[tuple[int, int]]:
        listed, one = _listed(api)[event_id], _one(api, event_id)
        return [(e["currentParticipants"], e["waitlistCount"]) for e in (listed, one)]

    assert seats() == [(0, 0), (0, 0)]
    enrolled = c.post(ENROLL, json={"eventId": event_id}, headers=first).json()["data"]
    assert seats() == [(1, 0), (1, 0)]
    waiting = c.post(ENROLL, json={"eventId": event_id}, headers=second).json()["data"]
    assert seats() == [(1, 1), (1, 1)]

    canceled = c.delete(f"{ENROLL}/{enrolled['enrollment']['id']}", headers=first)
    assert canceled.status_code == 200, canceled.text
    assert seats() == [(1, 0), (1, 0)]  # the waiter took the seat

    user_id = waiting["enrollment"]["userId"]
    removed = c.delete(f"{EVENTS}/{event_id}/enrollments/{user_id}", headers=owner)
    assert removed.status_code == 200, removed.text
    assert seats() == [(0, 0), (0, 0)]


def test_a_caller_with_a_token_never_gets_nor_fills_the_anonymous_cache(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    participant = api.token("p@example.com")
    event_id = api.event(owner, title="First title")
    planned = api.event(owner, publish=False, title="Planned")

    # The organizer sees their Planning event: that answer must not reach anonymous callers.
    assert planned in _listed(api, owner)
    assert planned not in _listed(api)
    assert planned in _listed(api, owner)

    assert _one(api, event_id)["title"] == "First title"  # now cached for anonymous callers
    _rename_behind_the_apis_back(api, owner, event_id, "Second title")
    for headers in (owner, participant, {"Authorization": "Bearer not-a-token"}):
        assert _one(api, event_id, headers)["title"] == "Second title"
        assert _listed(api, headers)[event_id]["title"] == "Second title"
    assert _one(api, event_id)["title"] == "First title"


def test_an_id_spelled_with_leading_zeros_is_answered_but_not_cached(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, title="First title")
    assert _one(api, f"00{event_id}")["title"] == "First title"
    _rename_behind_the_apis_back(api, owner, event_id, "Second title")
    assert _one(api, f"00{event_id}")["title"] == "Second title"


@pytest.mark.integration
def test_with_redis_a_write_in_one_process_shows_in_the_others_next_read(tmp_path, redis_url):
    """Two apps on one database and one Redis, as two `mov serve` workers: what one caches the
    other serves, and a write through either is seen at once by both."""

    backend = memory_backend(Options(env={"MOV_REDIS_URL": redis_url}))
    other = backend.another_process()
    cli = backend.another_process()  # as `mov events …` would be, with the same Redis

    with (
        TestClient(create_app(backend.runtime), raise_server_exceptions=False) as first,
        TestClient(create_app(other.runtime), raise_server_exceptions=False) as second,
    ):
        one, two = Api(first, backend), Api(second, other)
        owner = one.token("owner@example.com", "ORGANIZER")
        event_id = one.event(owner, title="First title")
        assert _one(two, event_id)["title"] == "First title"
        _rename_behind_the_apis_back(one, owner, event_id, "Second title", MOV_REDIS_URL="")
        assert _one(one, event_id)["title"] == "First title"  # cached by the other process

        _rename_through(cli.services, one, owner, event_id, "Third title")
        assert _one(one, event_id)["title"] == "Third title"  # the versions are in Redis
        assert _one(two, event_id)["title"] == "Third title"

        renamed = first.put(f"{EVENTS}/{event_id}", json={"title": "Fourth title"}, headers=owner)
        assert renamed.status_code == 200, renamed.text
        assert _one(two, event_id)["title"] == "Fourth title"
        assert _listed(two)[event_id]["title"] == "Fourth title"
        run(one, cli.close)


def test_entries_live_long_only_where_every_process_hears_of_every_change(tmp_path):
    """A process's own cache does not hear of the CLI's changes: 3 s; Redis does: 60 s."""
    own = build_runtime(Settings.from_env({"MOV_DATA_DIR": str(tmp_path / "a")}))
    redis = {"MOV_DATA_DIR": str(tmp_path / "b"), "MOV_REDIS_URL": "redis://127.0.0.1:9/0"}
    shared = build_runtime(Settings.from_env(redis))
    assert (own.reads.lifetime, shared.reads.lifetime) == (OWN_READS, SHARED_READS)
    assert OWN_READS < SHARED_READS


def test_a_hit_answered_before_the_app_is_the_answer_the_app_gives(api):
    """The gateway serves token-less GET hits itself; the app's hook serves the others (here:
    a non-bearer Authorization, which the gateway leaves to the app). Same status, body and
    headers, but the request id."""
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, title="Cached")
    for path in (EVENTS, f"{EVENTS}/{event_id}", f"{EVENTS}?limit=5"):
        first = api.client.get(path)  # a miss: stored
        early = api.client.get(path)
        late = api.client.get(path, headers={"Authorization": "Basic eDp5"})
        assert first.status_code == early.status_code == late.status_code == 200
        assert first.content == early.content == late.content

        def headers(response: Any) -> list[tuple[str, str]]:
            return [(k, v) for k, v in response.headers.multi_items() if k != "x-request-id"]

        assert headers(early) == headers(late), path
        assert early.headers["x-request-id"] != late.headers["x-request-id"]


def _without_request_id(response: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.multi_items() if k != "x-request-id"]


def test_a_miss_answered_before_the_app_is_the_answer_the_app_gives_and_is_kept(api, monkeypatch):
    """A token-less miss of one event is read and answered by the gateway, as the app would
    answer it (same status, body and headers), and kept: the next caller gets a hit."""
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, title="Read early")
    path, reads = f"{EVENTS}/{event_id}", api.backend.runtime.reads
    answered: list[bytes | None] = []
    read_event = read_cache.read_event

    async def spied(services: Services, scope: Any) -> bytes | None:
        answered.append(await read_event(services, scope))
        return answered[-1]

    monkeypatch.setattr(read_cache, "read_event", spied)
    run(api, lambda: reads.changed([event_id]))  # whatever was kept is gone
    by_app = api.client.get(path, headers={"Authorization": "Basic eDp5"})  # the app's miss
    run(api, lambda: reads.changed([event_id]))
    early = api.client.get(path)
    assert answered == [early.content]  # the gateway read it, the app did not
    assert early.status_code == by_app.status_code == 200
    assert early.content == by_app.content
    assert _without_request_id(early) == _without_request_id(by_app)
    assert api.client.get(path).content == early.content
    assert answered == [early.content]  # a hit: nothing read


@pytest.mark.parametrize("case", ["missing", "private", "planning", "invite", "long id"])
def test_a_miss_the_gateway_cannot_answer_is_the_apps_and_says_why(api, case):
    """An event an anonymous caller may not see, or asked with a query, is left to the app:
    the error in its envelope, and nothing kept."""
    owner = api.token("owner@example.com", "ORGANIZER")
    private = case in {"private", "invite"}
    fields: dict[str, Any] = {"visibility": "PRIVATE"} if private else {}
    event_id = api.event(owner, publish=case != "planning", **fields)
    path = {
        "missing": f"{EVENTS}/{event_id + 1000}",
        "invite": f"{EVENTS}/{event_id}?invite=wrong",
        "long id": f"{EVENTS}/{'9' * 19}",
    }.get(case, f"{EVENTS}/{event_id}")
    for _ in range(2):  # the second as the first: nothing was kept
        response = api.client.get(path)
        assert response.status_code == 404, response.text
        body = response.json()
        assert (body["success"], body["errorCode"]) == (False, "NOT_FOUND")
        assert body["message"] == "Event not found"


def test_a_read_that_fails_in_the_gateway_is_answered_by_the_app_in_the_envelope(api, monkeypatch):
    """The database down: the gateway does not answer, the app does (503, its envelope)."""
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner)

    async def down(*_: Any, **__: Any) -> None:
        raise Unavailable("database unavailable")

    monkeypatch.setattr(Services, "get_event", down)  # for the gateway's read and the app's
    run(api, lambda: api.backend.runtime.reads.changed([event_id]))
    response = api.client.get(f"{EVENTS}/{event_id}")
    assert response.status_code == 503, response.text
    assert response.json()["success"] is False
    monkeypatch.undo()
    assert _one(api, event_id)["id"] == event_id  # nothing was kept of the failure


def test_what_the_app_answers_is_kept_as_it_was_sent(api, monkeypatch):
    """A miss the app answers (here: with a non-bearer Authorization, which the gateway leaves
    to it) is stored as the bytes it sent: the next anonymous caller gets them from the cache,
    and nobody reads the database again."""
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, title="Kept as sent")
    reads = api.backend.runtime.reads
    for path in (f"{EVENTS}/{event_id}", EVENTS):
        run(api, lambda: reads.changed([event_id]))
        by_app = api.client.get(path, headers={"Authorization": "Basic eDp5"})
        assert by_app.status_code == 200

        async def no_reading(*_: Any, **__: Any) -> None:
            raise AssertionError("read the database: the app's answer was not kept")

        with monkeypatch.context() as patched:
            patched.setattr(Services, "get_event", no_reading)
            patched.setattr(Services, "list_events", no_reading)
            hit = api.client.get(path)
        assert hit.status_code == 200, hit.text
        assert hit.content == by_app.content
