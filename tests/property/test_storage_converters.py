"""Every storage converter round-trips what its store keeps: domain object → row or document →
domain object, for all inputs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
import bson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests import strategies as s

from mov_adapters.mongo.documents import BSON
from mov_adapters.serialization import utc_millis
from mov_adapters.sql.rows import ROWS
from mov_adapters.sql.tables import (
    chat_messages,
    enrollments,
    events,
    notification_deliveries,
    notification_preferences,
    notifications,
    users,
)
from mov_core.domain.chat import ChatMessage
from mov_core.domain.enrollments import Enrollment, EnrollmentStatus, Occupancy
from mov_core.domain.events import Event
from mov_core.domain.notifications import Delivery, Notification, Preferences
from mov_core.domain.users import User

STORED = [
    (User, s.users, users),
    (Event, s.events, events),
    (ChatMessage, s.chat_messages, chat_messages),
    (Notification, s.notifications, notifications),
    (Delivery, s.deliveries, notification_deliveries),
]
"""Classes stored one per row, each with its strategy and table."""

DOCUMENTS = [
    (ChatMessage, s.chat_messages),
    (Notification, s.notifications),
    (Delivery, s.deliveries),
    (Preferences, s.preferences),
]


def to_the_millisecond(stored: Any) -> Any:
    """What a BSON date keeps of each of the object's datetimes."""
    dates = {
        a.name: utc_millis(value)
        for a in attrs.fields(type(stored))
        if isinstance(value := getattr(stored, a.name), datetime)
    }
    return attrs.evolve(stored, **dates)


def through_mongo(document: dict[str, Any]) -> dict[str, Any]:
    """The document as pymongo reads it back: BSON-encoded, then decoded (dates naive UTC)."""
    return bson.decode(bson.encode(document))


@pytest.mark.parametrize(("cls", "strategy", "table"), STORED, ids=lambda v: getattr(v, "name", ""))
@given(data=st.data())
def test_a_row_reads_back_as_the_object_it_stores(cls, strategy, table, data):
    stored = data.draw(strategy)
    row = ROWS.unstructure(stored)
    assert set(row) <= {c.name for c in table.c}
    assert ROWS.structure(row, cls) == stored


@given(s.enrollments())
def test_an_enrollment_row_reads_back_with_the_place_in_line_computed_on_read(enrollment):
    row = ROWS.unstructure(enrollment)
    assert set(row) == {c.name for c in enrollments.c}  # no position: it is never stored
    read = ROWS.structure({**row, "position": enrollment.waitlist_position}, Enrollment)
    assert read == enrollment


@given(s.enrollments(), s.ids)
def test_only_a_waiter_reads_back_with_a_place_in_line(enrollment, counted):
    read = ROWS.structure({**ROWS.unstructure(enrollment), "position": counted}, Enrollment)
    waiting = enrollment.status is EnrollmentStatus.WAITLISTED
    assert read.waitlist_position == (counted if waiting else None)


@given(s.ids, s.ids, s.ids)
def test_seat_counts_read_from_the_event_row(capacity, enrolled, waiting):
    row = {"capacity": capacity, "enrolled_count": enrolled, "waitlist_count": waiting}
    assert ROWS.structure(row, Occupancy) == Occupancy(capacity, enrolled, waiting)


@given(s.preferences)
def test_preferences_read_back_from_one_row_per_choice(preferences):
    saved = ROWS.unstructure(preferences)
    rows = [{"user_id": saved["user_id"], **choice} for choice in saved["choices"]]
    assert {tuple(row) for row in rows} == {tuple(c.name for c in notification_preferences.c)}
    assert ROWS.structure({"user_id": preferences.user_id, "choices": rows}, Preferences) == (
        preferences
    )


def test_a_retired_notification_type_is_no_longer_a_choice():
    stored = {"user_id": 1, "choices": [{"type": "GONE", "channel": "EMAIL", "enabled": False}]}
    assert ROWS.structure(stored, Preferences) == Preferences.defaults(1)
    assert BSON.structure({"_id": 1, "choices": stored["choices"]}, Preferences) == (
        Preferences.defaults(1)
    )


@pytest.mark.parametrize(("cls", "strategy"), DOCUMENTS, ids=lambda v: getattr(v, "__name__", ""))
@given(data=st.data())
def test_a_document_reads_back_as_the_object_to_the_millisecond(cls, strategy, data):
    stored = data.draw(strategy)
    document = BSON.unstructure(stored)
    read = BSON.structure(through_mongo(document), cls)
    assert read == to_the_millisecond(stored)
    assert BSON.structure(document, cls) == read  # what `add` answers is what `get` reads
    assert all(d.tzinfo is not None for d in attrs.astuple(read) if isinstance(d, datetime))


@given(s.chat_messages, s.notifications, s.deliveries)
def test_documents_keep_their_camel_case_field_names(message, notification, delivery):
    assert set(BSON.unstructure(message)) == {
        "_id", "eventId", "seq", "senderId", "body", "clientMsgId", "createdAt",
    }  # fmt: skip
    assert set(BSON.unstructure(notification)) == {
        "_id", "userId", "type", "title", "body", "eventId", "createdAt", "readAt", "inApp",
    }  # fmt: skip
    assert set(BSON.unstructure(delivery)) == {
        "notificationId", "channel", "status", "attempts", "lastError", "nextAttemptAt",
        "createdAt", "updatedAt",
    }  # fmt: skip


@given(s.preferences)
def test_a_preferences_document_is_keyed_by_its_user(preferences):
    document = BSON.unstructure(preferences)
    assert set(document) == {"_id", "choices"}
    assert document["_id"] == preferences.user_id
    assert {tuple(c) for c in document["choices"]} == {("type", "channel", "enabled")}
