"""`mov serve`'s worker in a process of its own, when the deployment allows it.

On PostgreSQL with Redis, `mov serve` starts `mov worker` beside itself unless
`MOV_WORKER_IN_SERVER` says otherwise: requests then never share their event loop (nor the
GIL) with the worker's statements and e-mails, and the worker's live pushes still reach every
server's sockets through Redis. Without Redis the worker must run inside the server (its
pushes go to the sockets of its own process); SQLite admits one writer, so in-process it is.

The companion is restarted (with a growing pause) if it dies, and stopped with the server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Mapping

from mov_adapters import parent
from mov_adapters.bootstrap import database_backend
from mov_adapters.settings import Settings

WORKER_SWITCH = "MOV_WORKER_IN_SERVER"
PARENT = "MOV_WORKER_PARENT_PID"
"""Set for a companion: it ends itself should the server die without stopping it."""
STOP_TIMEOUT = 15.0
MAX_PAUSE = 30.0


def wants_companion(settings: Settings, environ: Mapping[str, str]) -> bool:
    """Whether `mov serve` should run its worker as a separate process."""
    if WORKER_SWITCH in environ:  # the operator chose
        return False
    return database_backend(settings) == "postgresql" and bool(settings.redis_url)


class Companion:
    """`mov worker` as a child process, kept running until `stop()`."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._env = {**environ, WORKER_SWITCH: "false", PARENT: str(os.getpid())}
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._watch = threading.Thread(target=self._keep_running, name="mov-worker", daemon=True)
        self.starts = 0

    def start(self) -> None:
        self._spawn()
        self._watch.start()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            argv = [sys.executable, "-m", "mov_cli.main", "worker"]
            self._process = subprocess.Popen(argv, env=self._env, stdin=subprocess.DEVNULL)  # noqa: S603 - our own entry point
            self.starts += 1

    def _keep_running(self) -> None:
        pause = 0.5
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            code = process.wait()
            if self._stopping.is_set():
                return
            print(f"mov worker exited with {code}; restarting in {pause:.1f} s", file=sys.stderr)
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, MAX_PAUSE)
            self._spawn()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after `STOP_TIMEOUT` seconds."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None


def follow_parent(environ: Mapping[str, str]) -> None:
    """In a companion worker: be sent SIGTERM when the server process dies (Linux), and end
    at once if it is already gone. Elsewhere nothing happens."""
    parent.follow_parent(environ.get(PARENT))
