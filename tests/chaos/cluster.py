"""deploy/cluster.py as the chaos tests drive it: started as a user would, its gateway URL
read from its one line, its processes found and killed through supervisorctl."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Self

import httpx
from tests.servers import PostgresServer, find_pg_bindir

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_READY = re.compile(r"MOV gateway at (http://\S+)")
_CONTROL = re.compile(r"control: \S+ -c (\S+) status; metrics token: (\S+)")
_REPLICAS = re.compile(r"^replicas: (.*)$")
_POSTGRES = re.compile(r"postgres: (\S+) data (\S+); redis: (\S+) pid (\d+)")


class Cluster:
    def __init__(self, *args: str) -> None:
        self.args = args
        self.url = ""
        self.config = ""
        self.metrics_token = ""
        self.replicas: dict[str, str] = {}  # program name: its own URL (not through nginx)
        self._process: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self.postgres: PostgresServer | None = None
        self.redis_url, self.redis_pid = "", 0

    def start(self, timeout: float = 180.0) -> Self:
        self._process = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
            [sys.executable, str(ROOT / "deploy" / "cluster.py"), *self.args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env={k: v for k, v in os.environ.items() if not k.startswith("MOV_")},
        )  # fmt: skip
        output: IO[str] = self._process.stdout  # type: ignore[assignment]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = output.readline()
            if not line:
                raise RuntimeError("the cluster ended before it was ready:\n" + self.output())
            self._lines.append(line)
            if found := _READY.search(line):
                self.url = found.group(1)
            if found := _CONTROL.search(line):
                self.config, self.metrics_token = found.group(1), found.group(2)
            if found := _REPLICAS.search(line):
                pairs = (item.split("=", 1) for item in found.group(1).split())
                self.replicas = {name: f"http://{address}" for name, address in pairs}
            if found := _POSTGRES.search(line):
                url, data = found.group(1), Path(found.group(2))
                port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
                self.postgres = PostgresServer(
                    url, port=port, datadir=data, workdir=data.parent, bindir=find_pg_bindir()
                )  # the cluster's own server: halted and resumed here, stopped by the cluster
                self.redis_url, self.redis_pid = found.group(3), int(found.group(4))
                return self
        raise RuntimeError("the cluster was not ready in time:\n" + self.output())

    def output(self) -> str:
        return "".join(self._lines[-60:])

    def control(self, *command: str) -> str:
        done = subprocess.run(  # noqa: S603 - the installed supervisorctl
            [str(BIN / "supervisorctl"), "-c", self.config, *command],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        return done.stdout

    def log(self, program: str) -> str:
        """What a program wrote (supervisord's log of it)."""
        return (Path(self.config).parent / "logs" / f"{program}.log").read_text(errors="replace")

    def pid(self, program: str) -> int:
        return int(self.control("pid", program).strip())

    def kill(self, program: str) -> int:
        """`kill -9` the program's process; supervisord starts it again. Returns the old pid."""
        pid = self.pid(program)
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> int:
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        try:
            rest, _ = self._process.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            self._process.kill()
            rest, _ = self._process.communicate()
        self._lines.append(rest or "")
        return self._process.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self.stop()


# --- what every scenario does first, through the gateway ------------------------------------

PASSWORD = "long enough pass"


async def register(http: httpx.AsyncClient, email: str, role: str = "PARTICIPANT") -> str:
    """A new account, signed in: its bearer token."""
    body = {"email": email, "password": PASSWORD, "firstName": "C", "lastName": "H", "role": role}
    registered = await http.post("/api/v1/auth/register", json=body)
    assert registered.status_code == 201, registered.text
    login = await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return str(login.json()["data"]["token"])


async def published_event(http: httpx.AsyncClient, organizer: dict[str, str], seats: int) -> int:
    """A Published PUBLIC event in three days with `seats` seats and a waitlist: its id."""
    start = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    event = {"title": "Chaos", "description": "d", "date": start, "location": "Hall",
             "category": "music", "maxParticipants": seats}  # fmt: skip
    created = await http.post("/api/v1/events", json=event, headers=organizer)
    assert created.status_code == 201, created.text
    event_id = int(created.json()["data"]["event"]["id"])
    status = {"status": "Published"}
    published = await http.patch(
        f"/api/v1/events/{event_id}/status", json=status, headers=organizer
    )
    assert published.status_code == 200, published.text
    return event_id
