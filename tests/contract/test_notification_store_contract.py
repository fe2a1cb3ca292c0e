"""What every `NotificationStore` must do: dedupe, keyset paging, reads, preferences, and
deliveries claimed under a lease."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from attrs import evolve

from mov_adapters.notifications import claim_order
from mov_core.domain.notifications import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationType,
    Preferences,
    RetryPolicy,
)
from mov_core.ports.errors import Conflict, NotFound
from mov_core.ports.notifications import Addition, InboxQuery, NotificationCursor, NotificationStore

T0 = datetime(2030, 1, 1, tzinfo=UTC)
ALICE = 1
BOB = 2
POLICY = RetryPolicy(max_attempts=3, base=timedelta(seconds=30), cap=timedelta(minutes=5))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def notification(
    user_id: int = ALICE,
    *,
    created: float = 0,
    notification_id: str = "",
    in_app: bool = True,
    kind: NotificationType = NotificationType.EVENT_UPDATED,
    event_id: int | None = 42,
) -> Notification:
    return Notification(
        id=notification_id,
        user_id=user_id,
        type=kind,
        title="Event updated",
        body="The start time moved.",
        event_id=event_id,
        created_at=at(created),
        in_app=in_app,
    )


def planned(channel: Channel = Channel.EMAIL, *, allowed: bool = True, now: float = 0) -> Delivery:
    """A delivery planned before the store gives the notification its id."""
    return Delivery.plan("", channel, allowed=allowed, now=at(now))


async def add(
    store: NotificationStore,
    item: Notification | None = None,
    deliveries: Sequence[Delivery] = (),
    *,
    key: str | None = None,
) -> Notification:
    stored, created = await store.add(
        item or notification(), deliveries, dedupe_key=key or uuid.uuid4().hex
    )
    assert created
    return stored


async def delivery(store: NotificationStore, channel: Channel = Channel.EMAIL, **kw) -> Delivery:
    """A freshly added notification's delivery on `channel`."""
    stored = await add(store, notification(), [planned(channel, **kw)])
    (found,) = await store.deliveries(stored.id)
    return found


async def walk(store: NotificationStore, user_id: int, *, unread_only: bool = False) -> list[str]:
    """Every id reached by following the keyset cursor, page by page."""
    seen: list[str] = []
    before: NotificationCursor | None = None
    while page := await store.list(
        InboxQuery(user_id, unread_only=unread_only, before=before, limit=4)
    ):
        seen.extend(n.id for n in page)
        before = NotificationCursor(page[-1].created_at, page[-1].id)
    return seen


def newest_first(items: Sequence[Notification]) -> list[str]:
    return [n.id for n in sorted(items, key=lambda n: (n.created_at, n.id), reverse=True)]


# --- add and dedupe ------------------------------------------------------------------------------


async def test_add_assigns_an_id_when_empty(notification_store: NotificationStore):
    stored, created = await notification_store.add(notification(), [], dedupe_key="k")

    assert created
    assert stored.id
    assert stored == notification(notification_id=stored.id)
    assert list(await notification_store.list(InboxQuery(ALICE))) == [stored]


async def test_add_keeps_a_given_id(notification_store: NotificationStore):
    stored = await add(notification_store, notification(notification_id="n-1"))

    assert stored.id == "n-1"


async def test_ids_assigned_by_the_store_are_unique(notification_store: NotificationStore):
    stored = [await add(notification_store) for _ in range(10)]

    assert len({n.id for n in stored}) == 10


async def test_a_repeated_dedupe_key_returns_the_first_and_stores_nothing(
    notification_store: NotificationStore,
):
    first = await add(notification_store, notification(created=0), [planned()], key="k")

    again, created = await notification_store.add(
        notification(created=5, notification_id="n-2"),
        [planned(Channel.IN_APP)],
        dedupe_key="k",
    )

    assert not created
    assert again == first
    assert list(await notification_store.list(InboxQuery(ALICE))) == [first]
    assert list(await notification_store.deliveries("n-2")) == []
    assert [d.channel for d in await notification_store.deliveries(first.id)] == [Channel.EMAIL]


async def test_concurrent_adds_with_one_dedupe_key_store_one(
    notification_store: NotificationStore,
):
    results = await asyncio.gather(
        *(notification_store.add(notification(created=i), [], dedupe_key="k") for i in range(10))
    )

    assert sum(created for _, created in results) == 1
    assert len({n.id for n, _ in results}) == 1
    assert await notification_store.unread_count(ALICE) == 1


async def test_deliveries_are_stored_under_the_notification_id(
    notification_store: NotificationStore,
):
    stored = await add(
        notification_store, notification(), [planned(Channel.IN_APP), planned(Channel.EMAIL)]
    )

    found = await notification_store.deliveries(stored.id)

    assert {d.channel: d for d in found} == {
        Channel.IN_APP: Delivery.plan(stored.id, Channel.IN_APP, allowed=True, now=T0),
        Channel.EMAIL: Delivery.plan(stored.id, Channel.EMAIL, allowed=True, now=T0),
    }


async def test_concurrent_adds_with_one_dedupe_key_store_one_set_of_deliveries(
    notification_store: NotificationStore,
):
    results = await asyncio.gather(
        *(
            notification_store.add(
                notification(created=i), [planned(Channel.EMAIL, now=i)], dedupe_key="k"
            )
            for i in range(10)
        )
    )

    (first,) = {n for n, created in results if created}
    assert [n for n, _ in results] == [first] * 10
    (stored,) = await notification_store.deliveries(first.id)
    assert stored.notification_id == first.id
    assert list(await notification_store.claim_deliveries(now=at(60), limit=20)) == [stored]


async def test_add_many_stores_each_as_add_would_in_order(notification_store: NotificationStore):
    earlier = await add(notification_store, notification(BOB, created=1), key="told-before")
    additions = [
        Addition(notification(ALICE, created=2), [planned()], "a"),
        Addition(notification(BOB, created=3, notification_id="n-b"), [planned()], "told-before"),
        Addition(notification(ALICE, created=4), [planned(Channel.IN_APP)], "b"),
        Addition(notification(ALICE, created=5), [planned()], "a"),  # again, in the same call
    ]

    results = await notification_store.add_many(additions)

    assert [created for _, created in results] == [True, False, True, False]
    first_a, _ = results[0]
    assert results[1][0] == earlier
    assert results[3][0] == first_a
    assert first_a == notification(ALICE, created=2, notification_id=first_a.id)
    assert newest_first([results[0][0], results[2][0]]) == await walk(notification_store, ALICE)
    assert [d.channel for d in await notification_store.deliveries(first_a.id)] == [Channel.EMAIL]
    assert list(await notification_store.deliveries("n-b")) == []  # a repeat stores nothing
    assert await notification_store.add_many([]) == []


async def test_add_many_takes_a_big_room_at_once(notification_store: NotificationStore):
    people = [1 + n % 9 for n in range(450)]  # more than one SQL batch
    additions = [
        Addition(notification(user_id, created=n), [planned()], f"room:{n}")
        for n, user_id in enumerate(people)
    ]

    results = await notification_store.add_many(additions)

    assert all(created for _, created in results)
    assert [n.user_id for n, _ in results] == people
    due = await notification_store.claim_deliveries(now=at(500), limit=1000)
    assert sorted(d.notification_id for d in due) == sorted(n.id for n, _ in results)
    again = await notification_store.add_many(additions)
    assert [n for n, _ in again] == [n for n, _ in results]
    assert not any(created for _, created in again)


async def test_a_taken_id_under_another_dedupe_key_is_a_conflict(
    notification_store: NotificationStore,
):
    first = await add(notification_store, notification(notification_id="n-1"), [planned()])

    with pytest.raises(Conflict):
        await notification_store.add(
            notification(BOB, notification_id="n-1"), [planned()], dedupe_key="other"
        )

    assert await notification_store.get("n-1") == first
    assert await notification_store.unread_count(BOB) == 0
    assert len(await notification_store.deliveries("n-1")) == 1


async def test_deliveries_naming_another_notification_are_refused(
    notification_store: NotificationStore,
):
    elsewhere = Delivery.plan("other", Channel.EMAIL, allowed=True, now=T0)

    with pytest.raises(ValueError, match="other"):
        await notification_store.add(
            notification(notification_id="n-1"), [elsewhere], dedupe_key="k"
        )
    with pytest.raises(ValueError, match="EMAIL"):
        await notification_store.add(notification(), [planned(), planned()], dedupe_key="k")

    assert await notification_store.unread_count(ALICE) == 0
    assert list(await notification_store.deliveries("n-1")) == []


# --- list, unread, cursor ------------------------------------------------------------------------


async def test_list_is_newest_first_with_ties_broken_by_id(notification_store: NotificationStore):
    for notification_id, created in [("a", 0), ("b", 5), ("c", 5), ("d", 1)]:
        await add(
            notification_store, notification(created=created, notification_id=notification_id)
        )

    assert [n.id for n in await notification_store.list(InboxQuery(ALICE))] == ["c", "b", "d", "a"]


async def test_list_returns_at_most_limit(notification_store: NotificationStore):
    for i in range(5):
        await add(notification_store, notification(created=i))

    page = await notification_store.list(InboxQuery(ALICE, limit=2))

    assert [n.created_at for n in page] == [at(4), at(3)]


async def test_keyset_paging_walks_every_notification_once_despite_ties(
    notification_store: NotificationStore,
):
    # three per instant, so pages end in the middle of a tie
    stored = [await add(notification_store, notification(created=i // 3)) for i in range(25)]
    await add(notification_store, notification(BOB, created=3))

    assert await walk(notification_store, ALICE) == newest_first(stored)


async def test_list_shows_only_the_users_own(notification_store: NotificationStore):
    mine = await add(notification_store, notification(ALICE))
    await add(notification_store, notification(BOB))

    assert list(await notification_store.list(InboxQuery(ALICE))) == [mine]


async def test_unread_only_skips_read_ones_and_pages(notification_store: NotificationStore):
    stored = [await add(notification_store, notification(created=i // 2)) for i in range(12)]
    for read in stored[::3]:
        await notification_store.mark_read(ALICE, read.id, now=at(100))
    unread = [n for i, n in enumerate(stored) if i % 3]

    assert await walk(notification_store, ALICE, unread_only=True) == newest_first(unread)
    assert len(await notification_store.list(InboxQuery(ALICE, limit=100))) == 12


async def test_unread_count_counts_the_users_unread(notification_store: NotificationStore):
    first = await add(notification_store, notification(ALICE))
    await add(notification_store, notification(ALICE))
    await add(notification_store, notification(BOB))

    assert await notification_store.unread_count(ALICE) == 2
    await notification_store.mark_read(ALICE, first.id, now=at(1))
    assert await notification_store.unread_count(ALICE) == 1
    assert await notification_store.unread_count(BOB) == 1
    assert await notification_store.unread_count(99) == 0


# --- reading -------------------------------------------------------------------------------------


async def test_mark_read_stamps_the_time_and_is_kept(notification_store: NotificationStore):
    stored = await add(notification_store)

    read = await notification_store.mark_read(ALICE, stored.id, now=at(60))

    assert read.read_at == at(60)
    assert list(await notification_store.list(InboxQuery(ALICE))) == [read]


async def test_mark_read_is_idempotent(notification_store: NotificationStore):
    stored = await add(notification_store)
    await notification_store.mark_read(ALICE, stored.id, now=at(60))

    again = await notification_store.mark_read(ALICE, stored.id, now=at(120))

    assert again.read_at == at(60)


async def test_mark_read_of_a_missing_notification_is_not_found(
    notification_store: NotificationStore,
):
    with pytest.raises(NotFound):
        await notification_store.mark_read(ALICE, "missing", now=at(1))


async def test_mark_read_of_another_users_notification_is_not_found(
    notification_store: NotificationStore,
):
    bobs = await add(notification_store, notification(BOB))

    with pytest.raises(NotFound):
        await notification_store.mark_read(ALICE, bobs.id, now=at(1))
    assert await notification_store.unread_count(BOB) == 1


async def test_mark_all_read_reads_the_users_unread_and_counts_them(
    notification_store: NotificationStore,
):
    early = await add(notification_store, notification(ALICE))
    await notification_store.mark_read(ALICE, early.id, now=at(1))
    for _ in range(3):
        await add(notification_store, notification(ALICE))
    await add(notification_store, notification(BOB))

    assert await notification_store.mark_all_read(ALICE, now=at(10)) == 3
    assert await notification_store.mark_all_read(ALICE, now=at(20)) == 0
    assert await notification_store.unread_count(ALICE) == 0
    assert await notification_store.unread_count(BOB) == 1
    read_times = {n.id: n.read_at for n in await notification_store.list(InboxQuery(ALICE))}
    assert read_times.pop(early.id) == at(1)
    assert set(read_times.values()) == {at(10)}


# --- in-app or not --------------------------------------------------------------------------------


async def test_notifications_not_in_app_are_never_listed_counted_or_read(
    notification_store: NotificationStore,
):
    shown = await add(notification_store, notification(created=0))
    mail_only = await add(notification_store, notification(created=5, in_app=False))

    assert list(await notification_store.list(InboxQuery(ALICE))) == [shown]
    assert list(await notification_store.list(InboxQuery(ALICE, unread_only=True))) == [shown]
    assert await notification_store.unread_count(ALICE) == 1
    with pytest.raises(NotFound):
        await notification_store.mark_read(ALICE, mail_only.id, now=at(10))
    assert await notification_store.mark_all_read(ALICE, now=at(10)) == 1
    assert await notification_store.get(mail_only.id) == mail_only


async def test_a_notification_not_in_app_still_carries_its_deliveries(
    notification_store: NotificationStore,
):
    mail_only = await add(notification_store, notification(in_app=False), [planned()])

    (claimed,) = await notification_store.claim_deliveries(now=at(0), limit=10)

    assert claimed.notification_id == mail_only.id


# --- get, notified_since, preferences_many -------------------------------------------------


async def test_get_reads_any_notification_as_stored(notification_store: NotificationStore):
    stored = await add(notification_store, notification(event_id=None))
    mail_only = await add(notification_store, notification(BOB, in_app=False))
    read = await notification_store.mark_read(ALICE, stored.id, now=at(60))

    assert await notification_store.get(stored.id) == read
    assert await notification_store.get(mail_only.id) == mail_only


async def test_get_of_a_missing_notification_is_not_found(notification_store: NotificationStore):
    with pytest.raises(NotFound):
        await notification_store.get("missing")


async def test_notified_since_names_who_was_told_of_the_type_about_the_event_lately(
    notification_store: NotificationStore,
):
    chat = NotificationType.CHAT_MESSAGE
    carol = 3
    await add(notification_store, notification(created=0, kind=chat, event_id=7))
    await add(notification_store, notification(created=9, kind=chat, event_id=7, in_app=False))
    await add(notification_store, notification(BOB, created=4, kind=chat, event_id=7))
    await add(notification_store, notification(carol, created=20, kind=chat, event_id=8))
    await add(notification_store, notification(carol, created=20, event_id=7))

    async def since(seconds: float, event_id: int = 7) -> dict[int, datetime]:
        return await notification_store.notified_since(
            [ALICE, BOB, carol, 99], event_id=event_id, kind=chat, since=at(seconds)
        )

    assert await since(0) == {ALICE: at(9), BOB: at(4)}  # each with the latest time
    assert await since(5) == {ALICE: at(9)}  # not-in-app ones count: they were e-mailed
    assert await since(9) == {ALICE: at(9)}  # at `since` itself counts
    assert await since(10) == {}
    assert await since(0, event_id=8) == {carol: at(20)}
    assert await notification_store.notified_since([], event_id=7, kind=chat, since=at(0)) == {}
    assert await notification_store.notified_since(
        [BOB, BOB], event_id=7, kind=chat, since=at(0)
    ) == {BOB: at(4)}


async def test_preferences_many_gives_everyone_theirs_or_the_defaults(
    notification_store: NotificationStore,
):
    mine = Preferences.defaults(ALICE).with_choices({
        (NotificationType.CHAT_MESSAGE, Channel.EMAIL): True,
        (NotificationType.EVENT_REMINDER, Channel.IN_APP): False,
    })  # fmt: skip
    await notification_store.save_preferences(mine)

    found = await notification_store.preferences_many([ALICE, BOB, ALICE])

    assert found == {ALICE: mine, BOB: Preferences.defaults(BOB)}
    assert await notification_store.preferences_many([]) == {}


# --- preferences ---------------------------------------------------------------------------------


async def test_preferences_default_until_saved(notification_store: NotificationStore):
    assert await notification_store.preferences(ALICE) == Preferences.defaults(ALICE)


async def test_saved_preferences_are_read_back_per_user(notification_store: NotificationStore):
    quiet = Preferences.defaults(ALICE).with_choices(
        {(NotificationType.EVENT_UPDATED, Channel.EMAIL): False}
    )
    await notification_store.save_preferences(quiet)

    assert await notification_store.preferences(ALICE) == quiet
    assert await notification_store.preferences(BOB) == Preferences.defaults(BOB)


async def test_saving_preferences_again_replaces_them(notification_store: NotificationStore):
    key = (NotificationType.CHAT_MESSAGE, Channel.EMAIL)
    await notification_store.save_preferences(Preferences.defaults(ALICE).with_choices({key: True}))
    await notification_store.save_preferences(Preferences.defaults(ALICE))

    assert not (await notification_store.preferences(ALICE)).allows(*key)


# --- deliveries ----------------------------------------------------------------------------------


async def test_claim_takes_pending_ones_due_by_now_oldest_first(
    notification_store: NotificationStore,
):
    later = await delivery(notification_store, now=20)
    sooner = await delivery(notification_store, now=10)
    await delivery(notification_store, now=31)
    await delivery(notification_store, allowed=False, now=0)
    sent = await delivery(notification_store, now=0)
    await notification_store.save_delivery(sent.succeeded(now=at(1)))

    assert list(await notification_store.claim_deliveries(now=at(5), limit=10)) == []
    assert list(await notification_store.claim_deliveries(now=at(30), limit=1)) == [sooner]
    assert list(await notification_store.claim_deliveries(now=at(30), limit=10)) == [later]
    assert list(await notification_store.claim_deliveries(now=at(30), limit=10)) == []


async def test_claim_breaks_ties_by_creation_then_notification_then_channel(
    notification_store: NotificationStore,
):
    first = await add(
        notification_store,
        notification(notification_id="b"),
        [planned(Channel.IN_APP, now=0), planned(Channel.EMAIL, now=0)],
    )
    await add(notification_store, notification(notification_id="a"), [planned(now=0)])
    created_earlier = await delivery(notification_store, now=0)
    await notification_store.save_delivery(
        evolve(created_earlier, created_at=at(-1), next_attempt_at=at(0))
    )

    claimed = await notification_store.claim_deliveries(now=at(0), limit=10)

    assert [(d.notification_id, d.channel) for d in claimed] == [
        (created_earlier.notification_id, Channel.EMAIL),
        ("a", Channel.EMAIL),
        (first.id, Channel.EMAIL),
        (first.id, Channel.IN_APP),
    ]


async def test_a_delivery_is_due_at_exactly_its_next_attempt(
    notification_store: NotificationStore,
):
    pending = await delivery(notification_store, now=10)

    assert list(await notification_store.claim_deliveries(now=at(10), limit=10)) == [pending]


async def test_a_claim_of_nothing_changes_nothing(notification_store: NotificationStore):
    pending = await delivery(notification_store, now=0)

    assert list(await notification_store.claim_deliveries(now=at(0), limit=0)) == []
    assert list(await notification_store.deliveries(pending.notification_id)) == [pending]


async def test_claimed_deliveries_are_returned_as_they_were_and_stored_leased(
    notification_store: NotificationStore,
):
    pending = await delivery(notification_store, now=10)

    claimed = await notification_store.claim_deliveries(
        now=at(30), limit=10, lease=timedelta(seconds=90)
    )

    assert list(claimed) == [pending]
    leased = evolve(pending, next_attempt_at=at(120))
    assert list(await notification_store.deliveries(pending.notification_id)) == [leased]


async def test_a_claimed_delivery_is_claimed_again_only_once_its_lease_ends(
    notification_store: NotificationStore,
):
    pending = await delivery(notification_store, now=0)
    lease = timedelta(seconds=60)
    await notification_store.claim_deliveries(now=at(0), limit=10, lease=lease)

    assert list(await notification_store.claim_deliveries(now=at(59), limit=10)) == []
    again = await notification_store.claim_deliveries(now=at(60), limit=10, lease=lease)
    assert list(again) == [evolve(pending, next_attempt_at=at(60))]
    assert list(await notification_store.claim_deliveries(now=at(119), limit=10)) == []


async def test_the_default_lease_is_two_minutes(notification_store: NotificationStore):
    await delivery(notification_store, now=0)
    await notification_store.claim_deliveries(now=at(0), limit=10)

    assert list(await notification_store.claim_deliveries(now=at(119), limit=10)) == []
    assert len(await notification_store.claim_deliveries(now=at(120), limit=10)) == 1


async def test_a_saved_outcome_replaces_the_lease(notification_store: NotificationStore):
    sent, retried = await delivery(notification_store), await delivery(notification_store)
    claimed = await notification_store.claim_deliveries(now=at(0), limit=10)
    assert {d.notification_id for d in claimed} == {sent.notification_id, retried.notification_id}

    await notification_store.save_delivery(sent.succeeded(now=at(1)))
    retry = retried.attempt_failed("timeout", now=at(1), policy=POLICY)
    await notification_store.save_delivery(retry)

    assert list(await notification_store.claim_deliveries(now=at(30), limit=10)) == []
    assert list(await notification_store.claim_deliveries(now=at(31), limit=10)) == [retry]


async def test_concurrent_claims_never_take_one_delivery_twice(
    notification_store: NotificationStore,
):
    pending = [await delivery(notification_store, now=i % 3) for i in range(12)]

    batches = await asyncio.gather(
        *(notification_store.claim_deliveries(now=at(10), limit=3) for _ in range(6))
    )

    claimed = [d for batch in batches for d in batch]
    assert sorted(claimed, key=claim_order) == sorted(pending, key=claim_order)
    assert all(list(batch) == sorted(batch, key=claim_order) for batch in batches)
    assert list(await notification_store.claim_deliveries(now=at(10), limit=20)) == []


async def test_save_delivery_replaces_it(notification_store: NotificationStore):
    pending = await delivery(notification_store, now=0)
    retry = pending.attempt_failed("timeout", now=at(1), policy=POLICY)

    await notification_store.save_delivery(retry)

    assert list(await notification_store.deliveries(pending.notification_id)) == [retry]
    assert list(await notification_store.claim_deliveries(now=at(30), limit=10)) == []
    assert list(await notification_store.claim_deliveries(now=at(31), limit=10)) == [retry]


async def test_save_delivery_never_added_is_not_found(notification_store: NotificationStore):
    stored = await add(notification_store, notification(), [planned(Channel.IN_APP)])
    never_added = Delivery.plan(stored.id, Channel.EMAIL, allowed=True, now=T0)

    with pytest.raises(NotFound):
        await notification_store.save_delivery(never_added)
    with pytest.raises(NotFound):
        await notification_store.save_delivery(planned())


async def test_deliveries_of_an_unknown_notification_are_empty(
    notification_store: NotificationStore,
):
    assert list(await notification_store.deliveries("missing")) == []


async def test_failed_deliveries_lists_failed_ones_most_recent_first(
    notification_store: NotificationStore,
):
    failed = []
    for minute in (3, 1, 2):
        pending = await delivery(notification_store)
        gave_up = pending.attempt_failed("refused", now=at(60 * minute), policy=RetryPolicy(1))
        await notification_store.save_delivery(gave_up)
        failed.append(gave_up)
    await delivery(notification_store)
    retrying = await delivery(notification_store)
    await notification_store.save_delivery(retrying.attempt_failed("x", now=at(1), policy=POLICY))

    found = await notification_store.failed_deliveries()

    assert list(found) == sorted(failed, key=lambda d: d.updated_at, reverse=True)
    assert all(d.status is DeliveryStatus.FAILED for d in found)
    assert len(await notification_store.failed_deliveries(limit=2)) == 2


async def test_delivery_counts_name_every_status_and_follow_each_outcome(
    notification_store: NotificationStore,
):
    assert await notification_store.delivery_counts() == dict.fromkeys(DeliveryStatus, 0)
    sent, failed, skipped, _pending = [await delivery(notification_store) for _ in range(4)]
    await notification_store.save_delivery(sent.succeeded(now=at(1)))
    await notification_store.save_delivery(skipped.skipped("gone", now=at(1)))
    await notification_store.save_delivery(
        failed.attempt_failed("refused", now=at(1), policy=RetryPolicy(1))
    )

    counts = await notification_store.delivery_counts()

    assert counts == {
        DeliveryStatus.PENDING: 1,
        DeliveryStatus.SENT: 1,
        DeliveryStatus.FAILED: 1,
        DeliveryStatus.SKIPPED: 1,
    }


async def test_reads_and_saves_made_at_once_each_answer_as_if_alone(
    notification_store: NotificationStore,
):
    """A worker reads a batch's notifications and saves their outcomes side by side (a store
    may do those together): each caller gets its own notification or `NotFound`, and each
    save lands, or is `NotFound` for a delivery never added, whatever else was asked at once."""
    pendings = [await delivery(notification_store, now=n) for n in range(12)]
    ids = [p.notification_id for p in pendings]
    alone = {i: await notification_store.get(i) for i in ids}

    async def get(notification_id: str) -> Notification | None:
        try:
            return await notification_store.get(notification_id)
        except NotFound:
            return None

    found = await asyncio.gather(*(get(i) for i in [*ids, "missing", ids[0]]))
    assert found == [*(alone[i] for i in ids), None, alone[ids[0]]]

    outcomes = [
        p.succeeded(now=at(20)) if n % 2 else p.attempt_failed("busy", now=at(20), policy=POLICY)
        for n, p in enumerate(pendings)
    ]
    never_added = planned()
    saved = await asyncio.gather(
        *(notification_store.save_delivery(d) for d in [*outcomes[:6], never_added, *outcomes[6:]]),
        return_exceptions=True,
    )
    assert [type(s).__name__ for s in saved] == ["NoneType"] * 6 + ["NotFound"] + ["NoneType"] * 6
    for pending, outcome in zip(pendings, outcomes, strict=True):
        assert list(await notification_store.deliveries(pending.notification_id)) == [outcome]
