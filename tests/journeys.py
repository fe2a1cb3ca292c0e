"""What end-to-end tests of `mov serve` processes do first, over plain HTTP: sign people in,
publish an event, and read the e-mails the file mailer wrote."""

from __future__ import annotations

import time
from email import message_from_bytes, policy
from pathlib import Path

import httpx

from tests.integration.test_socketio import PASSWORD

WAIT_S = 20.0


def login(base: str, email: str, role: str = "PARTICIPANT") -> str:
    """Register (if new) and sign in: the bearer token."""
    httpx.post(
        f"{base}/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "role": role, "firstName": "Pia"},
    )
    answer = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    return answer.json()["data"]["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def published_event(base: str, title: str) -> int:
    owner = login(base, "owner@example.com", "ORGANIZER")
    created = httpx.post(
        f"{base}/api/v1/events",
        json={"title": title, "location": "Hall A", "category": "tech",
              "date": "2031-01-01T10:00:00Z", "maxParticipants": 10},
        headers=bearer(owner),
    )  # fmt: skip
    event_id: int = created.json()["data"]["event"]["id"]
    httpx.patch(
        f"{base}/api/v1/events/{event_id}/status",
        json={"status": "Published"},
        headers=bearer(owner),
    )
    return event_id


def mails(folder: Path) -> list:
    """The .eml files the file mailer wrote, parsed (waiting a little for the first)."""
    for _ in range(int(WAIT_S * 10)):
        files = sorted(folder.glob("*.eml")) if folder.exists() else []
        if files:
            return [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
        time.sleep(0.1)
    return []
