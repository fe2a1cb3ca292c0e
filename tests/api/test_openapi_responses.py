"""The OpenAPI document describes every success answer (`mov_api.schemas`' response Structs),
real answers match what it describes, and the Structs send what the other edges send."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, get_args

import jsonschema_rs
import msgspec
import pytest
from tests.api.conftest import PASSWORD, Api

from mov_adapters.wire import notification_payload
from mov_api.schemas import (
    EnrollmentStatusName,
    EventStatusName,
    NotificationTypeName,
    RoleName,
    VisibilityName,
    message_json,
    message_out,
    notification_out,
)
from mov_core.domain.chat import ChatMessage
from mov_core.domain.enrollments import EnrollmentStatus
from mov_core.domain.events import Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.notifications import Notification, NotificationType
from mov_core.domain.users import Role

DOCUMENT = "/schema/openapi.json"
METHODS = ("get", "put", "post", "patch", "delete", "head")
# Not JSON: the HTML page of the unsubscribe link, and the iCalendar file (GET and HEAD).
NOT_JSON = {
    ("get", "/api/v1/notifications/unsubscribe"),
    ("get", "/api/v1/events/{event_id}/calendar.ics"),
    ("head", "/api/v1/events/{event_id}/calendar.ics"),
}
T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def _document(api: Api) -> dict[str, Any]:
    served = api.client.get(DOCUMENT)
    assert served.status_code == 200
    document: dict[str, Any] = served.json()
    return document


def _success_schemas(document: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(method, path, status) → the JSON schema of each documented 2xx answer."""
    found = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            for status, response in item.get(method, {}).get("responses", {}).items():
                content = response.get("content", {}).get("application/json")
                if status.startswith("2") and content is not None:
                    found[(method, path, status)] = content["schema"]
    return found


def _component(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The component a success schema names (every body is a named Struct)."""
    assert "$ref" in schema, schema
    component: dict[str, Any] = document["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return component


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema_rs.Validator:
    """`schema`, its `#/components/...` references resolved against the document."""
    return jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})


def test_every_operation_documents_a_json_success_body(api: Api) -> None:
    document = _document(api)
    schemas = _success_schemas(document)
    operations = [
        (method, path)
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item and (method, path) not in NOT_JSON
    ]
    assert len(operations) > 30
    for method, path in operations:
        documented = [s for (m, p, _), s in schemas.items() if (m, p) == (method, path)]
        assert documented, f"{method.upper()} {path}: no JSON 2xx answer"
        for schema in documented:
            described = _component(document, schema).get("properties")
            assert described, f"{method.upper()} {path}: a body of unknown keys"


def test_every_api_success_body_is_the_envelope(api: Api) -> None:
    document = _document(api)
    for (method, path, _), schema in _success_schemas(document).items():
        resolved = _component(document, schema)
        assert {"success", "message"} <= set(resolved["required"]), (method, path)
        no_data = method == "delete" or path.endswith(("/change-password", "/logout"))
        if path.startswith("/api/v1/") and not no_data:
            assert "data" in resolved["required"], (method, path)


class Answers:
    """Real answers, each checked against the schema the document gives its operation."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.document = _document(api)
        self.schemas = _success_schemas(self.document)
        # literal paths before templated ones: `/events/organizer/me` is not `/events/{id}`
        self.templates = sorted(self.document["paths"], key=lambda p: (p.count("{"), -len(p), p))
        self.checked: set[tuple[str, str]] = set()

    def _template(self, path: str) -> str:
        for template in self.templates:
            if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
                return template
        raise AssertionError(path)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.api.client.request(method, path, **kwargs)
        assert 200 <= response.status_code < 300, response.text
        template = self._template(path.split("?", maxsplit=1)[0])
        schema = self.schemas[(method.lower(), template, str(response.status_code))]
        body = response.json()
        errors = [e.message for e in _validator(self.document, schema).iter_errors(body)]
        assert not errors, (method, path, errors, body)
        self.checked.add((method.lower(), template))
        return body


def test_real_answers_match_their_documented_schema(api: Api) -> None:
    answers = Answers(api)
    account = {"email": "new@example.com", "password": PASSWORD, "role": "PARTICIPANT"}
    answers.call("POST", "/api/v1/auth/register", json=account)
    answers.call(
        "POST", "/api/v1/auth/login", json={"email": account["email"], "password": PASSWORD}
    )
    organizer = api.token("organizer@example.com", "ORGANIZER")
    participant = api.token("participant@example.com")
    event_id = api.event(organizer, maxParticipants=1)
    draft = api.event(organizer, publish=False)
    answers.call("GET", "/api/v1/auth/me", headers=participant)
    answers.call("GET", "/api/v1/auth/verify", headers=participant)
    answers.call("PATCH", "/api/v1/auth/me", json={"firstName": None}, headers=participant)
    answers.call("GET", "/api/v1/events")
    answers.call("GET", f"/api/v1/events/{event_id}")
    answers.call("GET", "/api/v1/events/organizer/me", headers=organizer)
    answers.call(
        "PUT", f"/api/v1/events/{event_id}", json={"maxParticipants": 2}, headers=organizer
    )
    enrolled = answers.call(
        "POST", "/api/v1/enrollments", json={"eventId": event_id}, headers=participant
    )
    answers.call("GET", "/api/v1/enrollments/me", headers=participant)
    answers.call("GET", f"/api/v1/events/{event_id}/availability")
    answers.call("GET", f"/api/v1/events/{event_id}/enrollments", headers=organizer)
    message = {"body": "Hello", "clientMsgId": "m-1"}
    chat = f"/api/v1/chat/events/{event_id}/messages"
    answers.call("POST", chat, json=message, headers=participant)
    answers.call("GET", chat, headers=organizer)
    announcement = {"subject": "Doors", "body": "Doors open at nine."}
    answers.call(
        "POST", f"/api/v1/events/{event_id}/announcements", json=announcement, headers=organizer
    )
    answers.call("GET", "/api/v1/notifications", headers=participant)
    answers.call("GET", "/api/v1/notifications/unread-count", headers=participant)
    answers.call("POST", "/api/v1/notifications/read-all", headers=participant)
    answers.call("GET", "/api/v1/notifications/preferences", headers=participant)
    choice = {"ANNOUNCEMENT": {"EMAIL": False}}
    answers.call("PUT", "/api/v1/notifications/preferences", json=choice, headers=participant)
    enrollment_id = enrolled["data"]["enrollment"]["id"]
    answers.call("DELETE", f"/api/v1/enrollments/{enrollment_id}", headers=participant)
    deleted = answers.call("DELETE", f"/api/v1/events/{draft}", headers=organizer)
    assert "data" not in deleted
    for path in ("/health", "/health/live", "/api/v1"):
        answers.call("GET", path)
    assert len(answers.checked) >= 25  # most of the document, really called


def test_a_cached_answer_is_byte_for_byte_the_first_one(api: Api) -> None:
    organizer = api.token("organizer@example.com", "ORGANIZER")
    event_id = api.event(organizer)
    for path in ("/api/v1/events", f"/api/v1/events/{event_id}"):
        first, cached = api.client.get(path), api.client.get(path)
        assert first.status_code == cached.status_code == 200
        assert cached.content == first.content


def test_the_listed_notification_is_the_pushed_one() -> None:
    notification = Notification(
        "n-1", 1, NotificationType.EVENT_UPDATED, "Moved", "It moved.", None, T0, read_at=T0
    )
    listed = msgspec.to_builtins(notification_out(notification))
    assert listed == notification_payload(notification)
    assert listed["eventId"] is None


def test_the_room_message_is_the_rest_message() -> None:
    message = ChatMessage("m-1", 7, 3, 2, "Hi", None, T0)
    pushed = message_json(message, {})
    assert pushed == msgspec.to_builtins(message_out(message, {}))
    assert pushed["senderName"] is None
    assert pushed["clientMsgId"] is None


@pytest.mark.parametrize(
    ("documented", "domain"),
    [
        (EventStatusName, EventStatus),
        (EnrollmentStatusName, EnrollmentStatus),
        (NotificationTypeName, NotificationType),
        (RoleName, Role),
        (VisibilityName, Visibility),
    ],
)
def test_documented_enums_are_the_domain_values(documented: Any, domain: Any) -> None:
    assert set(get_args(documented)) == {member.value for member in domain}
