"""The MongoDB notification store: `notifications`, `notification_deliveries` and
`notification_preferences`.

Without a multi-document transaction, a notification and its deliveries are two writes. The
notification is inserted first, carrying the deliveries it is still owed (`deliveriesToStore`,
unset once they are stored): the unique `dedupeKey` index lets one add in, and every later add
with that key — a concurrent one, or a retry after a crash between the two writes — stores
whatever is still owed before answering. Deliveries are only ever inserted if absent (unique
(notificationId, channel)), so completing twice, or after a sender saved an outcome, changes
nothing.

`claim_deliveries` takes a due delivery by inserting a claim keyed by that delivery and the
`nextAttemptAt` it was read with (`notification_claims`, unique `_id`): of two claimers that
read the same due delivery, one insert gets in. The winner checks the delivery is still as it
read it (a claimer whose read predates a finished send would otherwise send again) and only
then moves `nextAttemptAt` past the lease. Not `find_one_and_update`: it is atomic on MongoDB,
but FerretDB (v1) reads and then writes, so two claimers could both take one delivery; the
only atomic arbiter both servers have is a unique index on insert. Saving a delivery's outcome
removes its claims. Dates are BSON dates, so milliseconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any, Final

from attrs import astuple, evolve
from pymongo import ASCENDING, DESCENDING, errors
from pymongo.asynchronous.database import AsyncDatabase

from mov_adapters.mongo.chat import mongo_errors
from mov_adapters.mongo.documents import BSON
from mov_adapters.notifications import PreferencesInBatches, bind_deliveries
from mov_adapters.serialization import utc, utc_millis
from mov_core.domain.notifications import (
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationType,
    Preferences,
)
from mov_core.ports.errors import Conflict, NotFound
from mov_core.ports.notifications import Addition, InboxQuery

NOTIFICATIONS: Final = "notifications"
DELIVERIES: Final = "notification_deliveries"
PREFERENCES: Final = "notification_preferences"
CLAIMS: Final = "notification_claims"

_OWED: Final = "deliveriesToStore"
_CLAIM_ORDER: Final = [
    ("nextAttemptAt", ASCENDING),
    ("createdAt", ASCENDING),
    ("notificationId", ASCENDING),
    ("channel", ASCENDING),
]  # the order of `mov_adapters.notifications.claim_order`
_NEWEST_FIRST: Final = [("createdAt", DESCENDING), ("_id", DESCENDING)]


class MongoNotificationStore(PreferencesInBatches):
    """Notifications {_id: id, userId, type, title, body, eventId, createdAt, readAt, inApp,
    dedupeKey}; deliveries {notificationId, channel, status, attempts, lastError,
    nextAttemptAt, createdAt, updatedAt}; preferences {_id: userId, choices: [{type, channel,
    enabled}]}. Every pymongo failure surfaces as `Unavailable` (or `Conflict`).
    """

    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._notifications = database[NOTIFICATIONS]
        self._deliveries = database[DELIVERIES]
        self._preferences = database[PREFERENCES]
        self._claims = database[CLAIMS]

    async def ensure_indexes(self) -> None:
        """Create the indexes the store's rules rest on (at start-up; a no-op when present)."""
        with mongo_errors("create notification indexes"):
            await self._notifications.create_index(
                [("dedupeKey", ASCENDING)], name="dedupe_key", unique=True
            )
            await self._notifications.create_index(
                [("userId", ASCENDING), ("createdAt", DESCENDING), ("_id", DESCENDING)],
                name="user_newest_first",
            )
            await self._notifications.create_index(
                [
                    ("userId", ASCENDING),
                    ("eventId", ASCENDING),
                    ("type", ASCENDING),
                    ("createdAt", DESCENDING),
                ],
                name="user_event_type_latest",
            )
            await self._deliveries.create_index(
                [("notificationId", ASCENDING), ("channel", ASCENDING)],
                name="notification_channel",
                unique=True,
            )
            await self._deliveries.create_index(
                [("status", ASCENDING), *_CLAIM_ORDER], name="status_claim_order"
            )
            await self._deliveries.create_index(
                [("status", ASCENDING), ("updatedAt", DESCENDING)], name="status_updated"
            )
            await self._claims.create_index(
                [("notificationId", ASCENDING), ("channel", ASCENDING)], name="claimed_delivery"
            )

    async def add(
        self, notification: Notification, deliveries: Sequence[Delivery], *, dedupe_key: str
    ) -> tuple[Notification, bool]:
        """As the port says; a repeated key also stores any delivery the first add left
        owing (no multi-document transaction: the first add may have stopped half-way)."""
        named = notification if notification.id else evolve(notification, id=uuid.uuid4().hex)
        document: dict[str, Any] = BSON.unstructure(named)
        stored = BSON.structure(document, Notification)  # as `get` will read it back
        document["dedupeKey"] = dedupe_key
        document[_OWED] = [BSON.unstructure(d) for d in bind_deliveries(stored, deliveries)]
        with mongo_errors("add a notification"):
            try:
                await self._notifications.insert_one(document)
            except errors.DuplicateKeyError:
                first = await self._notifications.find_one({"dedupeKey": dedupe_key})
                if first is None:  # not the key: the id is taken
                    raise Conflict(f"notification {stored.id} already exists") from None
                await self._store_owed(first)
                return BSON.structure(first, Notification), False
            await self._store_owed(document)
        return stored, True

    async def add_many(self, additions: Sequence[Addition]) -> list[tuple[Notification, bool]]:
        """`add` for each, in order: MongoDB has no transaction here to batch them in, and
        each `add` completes itself when repeated."""
        return [
            await self.add(a.notification, a.deliveries, dedupe_key=a.dedupe_key) for a in additions
        ]

    async def _store_owed(self, document: Mapping[str, Any]) -> None:
        """Insert the deliveries the notification still owes, each only if absent, then clear
        the debt."""
        owed = document.get(_OWED)
        if not owed:
            return
        for delivery in owed:
            # refused when stored already, by a concurrent add (and maybe updated since)
            with suppress(errors.DuplicateKeyError):
                await self._deliveries.insert_one(dict(delivery))
        await self._notifications.update_one({"_id": document["_id"]}, {"$unset": {_OWED: ""}})

    async def list(self, page: InboxQuery) -> Sequence[Notification]:
        user_id, unread_only, before, limit = astuple(page, recurse=False)
        if limit <= 0:
            return []
        query: dict[str, Any] = {"userId": user_id, "inApp": True}
        if unread_only:
            query["readAt"] = None
        if before is not None:
            query["$or"] = [
                {"createdAt": {"$lt": before.created_at}},
                {"createdAt": before.created_at, "_id": {"$lt": before.notification_id}},
            ]
        with mongo_errors("list notifications"):
            cursor = self._notifications.find(query).sort(_NEWEST_FIRST).limit(limit)
            documents = await cursor.to_list()
        return [BSON.structure(document, Notification) for document in documents]

    async def get(self, notification_id: str) -> Notification:
        with mongo_errors("read a notification"):
            document = await self._notifications.find_one({"_id": notification_id})
        if document is None:
            raise NotFound("Notification", notification_id)
        return BSON.structure(document, Notification)

    async def unread_count(self, user_id: int) -> int:
        with mongo_errors("count unread notifications"):
            return await self._notifications.count_documents(
                {"userId": user_id, "inApp": True, "readAt": None}
            )

    async def notified_since(
        self, user_ids: Sequence[int], *, event_id: int, kind: NotificationType, since: datetime
    ) -> dict[int, datetime]:
        if not user_ids:
            return {}
        query = {
            "userId": {"$in": sorted(set(user_ids))},
            "eventId": event_id,
            "type": kind.value,
            "createdAt": {"$gte": utc_millis(since)},
        }
        with mongo_errors("read recent notifications"):
            found = await self._notifications.find(
                query, projection={"userId": True, "createdAt": True}
            ).to_list()
        told: dict[int, datetime] = {}
        for document in found:
            at = utc(document["createdAt"])
            told[document["userId"]] = max(at, told.get(document["userId"], at))
        return told

    async def mark_read(self, user_id: int, notification_id: str, *, now: datetime) -> Notification:
        """Idempotent: the first read time is kept.

        Raises:
            NotFound: no such notification, it is not in-app, or it belongs to someone else
                (who must not learn it exists).
        """
        mine = {"_id": notification_id, "userId": user_id, "inApp": True}
        with mongo_errors("mark a notification read"):
            await self._notifications.update_one(
                {**mine, "readAt": None}, {"$set": {"readAt": utc_millis(now)}}
            )
            document = await self._notifications.find_one(mine)
        if document is None:
            raise NotFound("Notification", notification_id)
        return BSON.structure(document, Notification)

    async def mark_all_read(self, user_id: int, *, now: datetime) -> int:
        """Mark every unread in-app notification of the user read; returns how many were
        unread."""
        with mongo_errors("mark notifications read"):
            result = await self._notifications.update_many(
                {"userId": user_id, "inApp": True, "readAt": None},
                {"$set": {"readAt": utc_millis(now)}},
            )
        return result.modified_count

    async def preferences_many(self, user_ids: Sequence[int]) -> dict[int, Preferences]:
        """Each user's saved choices (defaults where never saved), in one query."""
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        with mongo_errors("read notification preferences"):
            documents = await self._preferences.find({"_id": {"$in": wanted}}).to_list()
        saved = {d["_id"]: BSON.structure(d, Preferences) for d in documents}
        return {u: saved[u] if u in saved else Preferences.defaults(u) for u in wanted}

    async def save_preferences(self, preferences: Preferences) -> None:
        """Replace the user's choices, every one of them."""
        document = BSON.unstructure(preferences)
        user = {"_id": preferences.user_id}
        with mongo_errors("save notification preferences"):
            try:
                await self._preferences.replace_one(user, document, upsert=True)
            except errors.DuplicateKeyError:
                # two first saves both tried to insert: the document exists now, replace it
                await self._preferences.replace_one(user, document, upsert=True)

    async def claim_deliveries(
        self, *, now: datetime, limit: int, lease: timedelta = timedelta(minutes=2)
    ) -> Sequence[Delivery]:
        if limit <= 0:
            return []
        claimed: list[dict[str, Any]] = []
        leased = {"$set": {"nextAttemptAt": utc_millis(now + lease)}}
        due = {"status": DeliveryStatus.PENDING.value, "nextAttemptAt": {"$lte": now}}
        with mongo_errors("claim deliveries"):
            async for document in self._deliveries.find(due).sort(_CLAIM_ORDER):
                if await self._claim(document):
                    await self._deliveries.update_one({"_id": document["_id"]}, leased)
                    claimed.append(document)
                    if len(claimed) == limit:
                        break
        return [BSON.structure(document, Delivery) for document in claimed]

    async def _claim(self, document: Mapping[str, Any]) -> bool:
        """Take the delivery as read, if no other claimer took it (see the module's text)."""
        version = {"_id": document["_id"], "status": DeliveryStatus.PENDING.value,
                   "nextAttemptAt": document["nextAttemptAt"]}  # fmt: skip
        claim = {
            "_id": f"{document['_id']}@{utc_millis(document['nextAttemptAt']).isoformat()}",
            "notificationId": document["notificationId"],
            "channel": document["channel"],
        }
        try:
            await self._claims.insert_one(claim)
        except errors.DuplicateKeyError:
            return False
        return await self._deliveries.find_one(version, projection={"_id": True}) is not None

    async def save_delivery(self, delivery: Delivery) -> None:
        """Replace the stored delivery of the same (notification, channel).

        Raises:
            NotFound: that delivery was never added.
        """
        key = {"notificationId": delivery.notification_id, "channel": delivery.channel.value}
        with mongo_errors("save a delivery"):
            result = await self._deliveries.update_one(key, {"$set": BSON.unstructure(delivery)})
            if result.matched_count == 0:
                raise NotFound("Delivery", (delivery.notification_id, delivery.channel))
            await self._claims.delete_many(key)

    async def deliveries(self, notification_id: str) -> Sequence[Delivery]:
        """Every delivery of the notification, by channel name; empty when unknown."""
        with mongo_errors("read deliveries"):
            cursor = self._deliveries.find({"notificationId": notification_id}).sort(
                [("channel", ASCENDING)]
            )
            documents = await cursor.to_list()
        return [BSON.structure(document, Delivery) for document in documents]

    async def delivery_counts(self) -> Mapping[DeliveryStatus, int]:
        """Deliveries in each status (one count per status, on the status index)."""
        with mongo_errors("count deliveries"):
            return {
                status: await self._deliveries.count_documents({"status": status.value})
                for status in DeliveryStatus
            }

    async def failed_deliveries(self, *, limit: int = 100) -> Sequence[Delivery]:
        """FAILED deliveries, most recently failed first (what an operator looks at first)."""
        if limit <= 0:
            return []
        newest_first = [
            ("updatedAt", DESCENDING),
            ("notificationId", DESCENDING),
            ("channel", DESCENDING),
        ]
        with mongo_errors("read failed deliveries"):
            cursor = (
                self._deliveries.find({"status": DeliveryStatus.FAILED.value})
                .sort(newest_first)
                .limit(limit)
            )
            documents = await cursor.to_list()
        return [BSON.structure(document, Delivery) for document in documents]
