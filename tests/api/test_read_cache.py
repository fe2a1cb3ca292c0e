"""The read cache of anonymous public event reads (`mov_api.read_cache`): a cached answer is
served, a write through the API shows at once in the next anonymous read, and callers with a
token never get (nor fill) the anonymous cache.

"Behind the API's back" below means through the use cases directly: the database changes, but
no route tells the read cache, so an anonymous read that still shows the old value was served
from the cache.
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from tests.api.conftest import Api, make_settings, run
from tests.backends import memory_backend

from mov_adapters.bootstrap import Runtime
from mov_adapters.memory.rate_limit import MemoryRateLimiter
from mov_api.app import create_app
from mov_api.read_cache import TTL
from mov_core.domain.events import EventPatch

EVENTS = "/api/v1/events"
ENROLL = "/api/v1/enrollments"


def _listed(api: Api, headers: dict[str, str] | None = None) -> dict[int, dict[str, Any]]:
    response = api.client.get(EVENTS, headers=headers or {})
    assert response.status_code == 200, response.text
    return {e["id"]: e for e in response.json()["data"]["events"]}


def _one(api: Api, event_id: int | str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = api.client.get(f"{EVENTS}/{event_id}", headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()["data"]["event"]


def _rename_behind_the_apis_back(api: Api, owner: dict[str, str], event_id: int, title: str):
    services = api.backend.services
    actor = services.verify_token(owner["Authorization"].removeprefix("Bearer "))

    async def rename() -> None:
        await services.update_event(actor, event_id, EventPatch(title=title))

    run(api, rename)


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


def test_a_cached_read_lives_for_the_ttl_only(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, title="First title")
    assert _one(api, event_id)["title"] == "First title"
    _rename_behind_the_apis_back(api, owner, event_id, "Second title")
    assert _one(api, event_id)["title"] == "First title"
    api.clock.advance(TTL)
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
    from mov_adapters.redis.client import RedisConnection  # noqa: PLC0415 - optional dependency

    backend = memory_backend()

    def worker() -> TestClient:
        redis = RedisConnection.from_url(redis_url, clock=backend.clock)
        runtime = Runtime(
            make_settings(tmp_path),
            backend.services,
            MemoryRateLimiter(backend.clock),
            redis.cache(),
            read_cache=redis.cache(),
        )
        runtime._closers.append(redis.aclose)
        return TestClient(create_app(runtime), raise_server_exceptions=False)

    with worker() as first, worker() as second:
        one = Api(first, backend)
        owner = one.token("owner@example.com", "ORGANIZER")
        event_id = one.event(owner, title="First title")
        assert _one(Api(second, backend), event_id)["title"] == "First title"
        _rename_behind_the_apis_back(one, owner, event_id, "Second title")
        assert _one(one, event_id)["title"] == "First title"  # cached by the other worker

        renamed = first.put(f"{EVENTS}/{event_id}", json={"title": "Third title"}, headers=owner)
        assert renamed.status_code == 200, renamed.text
        assert _one(Api(second, backend), event_id)["title"] == "Third title"
        assert _listed(Api(second, backend))[event_id]["title"] == "Third title"
