"""The SQL notification store under a worker's side-by-side reads and saves: those made at once
go as one transaction each (`Coalescer`), on PostgreSQL and SQLite; what each caller gets is
the contract's (tests/contract/test_notification_store_contract.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tests.backends import Backend, accounts, factory_for
from tests.contract.test_notification_store_contract import POLICY, at, delivery

from mov_adapters.sql.notifications import SqlNotificationStore

pytestmark = pytest.mark.integration


@pytest.fixture(params=["postgres", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[SqlNotificationStore]:
    backend: Backend = factory_for(request.param, request, tmp_path)()
    await accounts(backend, 1)  # user 1, whom the contract's notifications are for
    chosen = backend.services.notification_store
    assert isinstance(chosen, SqlNotificationStore)
    yield chosen
    await backend.close()


async def test_reads_and_saves_made_at_once_go_in_a_few_transactions(store):
    pendings = [await delivery(store, now=n) for n in range(30)]
    reads, saves = store._reads.batches, store._saves.batches

    await asyncio.gather(*(store.get(p.notification_id) for p in pendings))
    outcomes = [p.attempt_failed("busy", now=at(40), policy=POLICY) for p in pendings]
    await asyncio.gather(*(store.save_delivery(d) for d in outcomes))

    assert store._reads.batches - reads <= 3  # not 30
    assert store._saves.batches - saves <= 3
    for pending, outcome in zip(pendings, outcomes, strict=True):
        assert list(await store.deliveries(pending.notification_id)) == [outcome]
