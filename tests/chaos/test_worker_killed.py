"""The notification worker `kill -9`ed while it sends e-mails to a real SMTP server (aiosmtpd).

150 people enroll through nginx; each is owed one confirmation e-mail. The SMTP server takes
20 ms per message, so the kill lands while the worker has a batch claimed and several sends
in flight. supervisord starts the worker again; the e-mails the dead one had claimed but not
sent come back once its lease ends (`MOV_MAIL_LEASE`, 3 s here), and so do the changes it was
turning into notifications when it died (`MOV_OUTBOX_LEASE`, 3 s here too): handled again,
they notify nobody twice.

Exactly once, as far as SMTP lets anyone promise it: every notification reaches the server,
none is lost, and none is sent twice unless its send was in flight at the kill (the server
had it, the worker had not yet recorded it). Those copies carry the same Message-ID, which is
how mail clients recognise a message they already have; there can be at most as many as the
worker sends at once.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import Counter
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from tests.chaos.cluster import Cluster, published_event, register
from tests.servers import HOST, free_port

from mov_core.services.notify import SEND_CONCURRENCY

pytestmark = pytest.mark.integration

PEOPLE = 150
SMTP_DELAY = 0.02  # seconds the server takes per message
KILL_AFTER = 30  # messages received before the worker is killed
LEASE_S = 3
_NOTIFICATION = re.compile(r"<notification\.([^@>]+)@")


class Sink:
    """An SMTP server's mailbox: every message it accepted, in order, by notification id."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []  # (notification id, recipient)
        self._lock = threading.Lock()

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook
        await asyncio.sleep(SMTP_DELAY)  # a server that writes its queue before it answers
        message = message_from_bytes(envelope.content or b"", policy=policy.default)
        found = _NOTIFICATION.search(str(message["Message-ID"]))
        with self._lock:
            self.received.append((found.group(1) if found else "?", str(message["To"])))
        return "250 OK"

    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def distinct(self) -> int:
        with self._lock:
            return len({notification for notification, _ in self.received})


async def _scenario(cluster: Cluster, sink: Sink) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30, trust_env=False) as http:
        organizer = {
            "Authorization": f"Bearer {await register(http, 'o@example.com', 'ORGANIZER')}"
        }
        event_id = await published_event(http, organizer, PEOPLE)
        gate = asyncio.Semaphore(16)
        tokens: dict[int, str] = {}

        async def participant(n: int) -> None:
            async with gate:
                tokens[n] = await register(http, f"p{n}@example.com")
                bearer = {"Authorization": f"Bearer {tokens[n]}"}
                enrolled = await http.post("/api/v1/enrollments", json={"eventId": event_id},
                                           headers=bearer)  # fmt: skip
                assert enrolled.status_code == 201, enrolled.text

        kill: dict[str, Any] = {}

        async def killer() -> None:  # while people still enroll
            while sink.count() < KILL_AFTER:  # noqa: ASYNC110 - the sink is another thread's
                await asyncio.sleep(0.005)
            kill["at"], kill["pid"] = sink.count(), cluster.kill("worker-1")
            kill["when"] = time.monotonic()

        await asyncio.gather(killer(), *(participant(n) for n in range(PEOPLE)))
        at_kill, killed, killed_at = kill["at"], kill["pid"], kill["when"]
        # every person's e-mail, then quiet for longer than a lease: nothing more is coming
        deadline = killed_at + 90
        last, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            now = sink.count()
            if now != last:
                last, last_change = now, time.monotonic()
            elif sink.distinct() >= PEOPLE and time.monotonic() - last_change > LEASE_S + 2:
                break
            await asyncio.sleep(0.1)
        done_after = last_change - killed_at
        owed: dict[str, str] = {}
        for n, token in tokens.items():
            listed = await http.get("/api/v1/notifications",
                                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            for notice in listed.json()["data"]["notifications"]:
                owed[notice["id"]] = f"p{n}@example.com"
    return {"owed": owed, "at_kill": at_kill, "killed": killed, "done_after": done_after}


def test_a_worker_killed_mid_batch_loses_no_email_and_resends_only_what_was_in_flight():
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname=HOST, port=port, server_hostname="smtp.test")
    controller.start()
    try:
        options = ("--smtp", f"smtp://{HOST}:{port}", "--mail-lease", f"{LEASE_S}s",
                   "--outbox-lease", f"{LEASE_S}s")  # fmt: skip
        with Cluster("--replicas", "1", "--no-limits", "--insecure-fast-hashing",
                     *options) as cluster:  # fmt: skip
            result = asyncio.run(_scenario(cluster, sink))
            restarted = cluster.pid("worker-1")
    finally:
        controller.stop()

    owed = result["owed"]
    copies = Counter(notification for notification, _ in sink.received)
    assert len(owed) == PEOPLE  # one confirmation each
    assert set(copies) == set(owed), "every notification reached the server, nothing else did"
    assert all(to == owed[n] for n, to in sink.received), "each to its own person"
    doubled = {n: c for n, c in copies.items() if c > 1}
    assert all(c == 2 for c in doubled.values())
    assert len(doubled) <= SEND_CONCURRENCY, "only sends in flight at the kill go twice"
    assert restarted != result["killed"]
    print(  # noqa: T201 - the measured figures, shown by `nox -s chaos` (-rP)
        f"\nchaos: worker pid {result['killed']} killed after {result['at_kill']} of {PEOPLE} "
        f"e-mails; all {len(copies)} notifications at the SMTP server, {len(doubled)} sent "
        f"twice (in flight at the kill; same Message-ID), the last {result['done_after']:.1f} s "
        f"after the kill (lease {LEASE_S} s)"
    )
