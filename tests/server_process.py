"""`mov serve` as a real child process on a free port of 127.0.0.1, for end-to-end tests.

The server runs exactly as a user would start it (the venv's `mov` entry point, uvicorn, the
settings read from `MOV_*` variables), with an environment the test chooses. `ServerProcess`
waits until `/health/live` answers, and `stop()` asks for a graceful shutdown (SIGTERM, as a
service manager would) before it resorts to SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

from tests.servers import HOST, free_port

# Every process of a test shares this secret, so a token one server signs verifies on another.
JWT_SECRET = "mov-server-process-test-secret-0123456789abcdefghijklmnopqrstuvw"
assert len(JWT_SECRET) == 64

MOV = Path(sys.executable).parent / "mov"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
_POLL_INTERVAL = 0.1
_TAIL_LINES = 60
# Variables of the test run's own environment that would change the server under test.
_INHERITED_PREFIXES = ("MOV_",)


class ServerProcessError(RuntimeError):
    """The server did not start or stop as it should; the message carries its output's tail."""


class ServerProcess:
    """`mov serve --host 127.0.0.1 --port <free port>` with the given `MOV_*` environment.

    `env` is added to a copy of our environment from which every inherited `MOV_*` variable was
    removed, so only what the test passes configures the server; a `None` value leaves that
    variable unset. `MOV_JWT_SECRET` defaults to the shared `JWT_SECRET` (pass `None` to have
    the server generate one into its data folder), `MOV_LOG_LEVEL` to `warning`;
    `MOV_DATA_DIR` must be given.
    Output (stdout and stderr together) goes to a temporary file, shown when something fails.
    """

    def __init__(
        self,
        env: Mapping[str, str | None],
        *,
        port: int | None = None,
        start_timeout: float = START_TIMEOUT,
        args: tuple[str, ...] = (),
    ) -> None:
        if "MOV_DATA_DIR" not in env:
            raise ValueError("ServerProcess needs MOV_DATA_DIR (a temporary folder)")
        self.port = port if port is not None else free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.start_timeout = start_timeout
        self.args = args
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(_INHERITED_PREFIXES)
        }
        self.env.update(
            {
                "MOV_JWT_SECRET": JWT_SECRET,
                "MOV_LOG_LEVEL": "warning",
                "MOV_INSECURE_FAST_HASHING": "true",  # a server under test need not hash hard
                "PYTHONUNBUFFERED": "1",
            }
        )
        for key, value in env.items():
            if value is None:
                self.env.pop(key, None)
            else:
                self.env[key] = value
        self.returncode: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        self._final_output = ""

    def __repr__(self) -> str:
        return f"ServerProcess({self.base_url!r}, pid={self.pid})"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        """Start the server and return once `GET /health/live` answers 200."""
        if self._process is not None:
            raise ServerProcessError("this server was already started")
        if not MOV.is_file():
            raise ServerProcessError(f"no `mov` entry point next to the interpreter: {MOV}")
        self._output = tempfile.TemporaryFile(prefix="mov-serve-")  # noqa: SIM115 - closed in stop()
        argv = [str(MOV), "serve", "--host", HOST, "--port", str(self.port), *self.args]
        self._process = subprocess.Popen(  # noqa: S603 - our own entry point, fixed arguments
            argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_until_live()
        except BaseException:
            self._kill()
            raise
        return self

    def _wait_until_live(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        with httpx.Client(base_url=self.base_url, timeout=2.0, trust_env=False) as client:
            while True:
                code = self._process.poll()
                if code is not None:
                    raise ServerProcessError(
                        f"mov serve exited with code {code} before answering on {self.base_url}"
                        f"\n--- output (tail) ---\n{self.output_tail()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/health/live").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise ServerProcessError(
                        f"mov serve did not answer GET /health/live on {self.base_url} within "
                        f"{self.start_timeout:.0f}s\n--- output (tail) ---\n{self.output_tail()}"
                    )
                time.sleep(_POLL_INTERVAL)

    def output(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        if self._output is None or self._output.closed:
            return self._final_output
        self._output.flush()
        self._output.seek(0)
        return self._output.read().decode("utf-8", errors="replace")

    def output_tail(self, lines: int = _TAIL_LINES) -> str:
        text = self.output().splitlines()[-lines:]
        return "\n".join(text) or "(no output)"

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, wait up to `timeout` seconds for a graceful exit, else SIGKILL.

        Returns the exit code; raises `ServerProcessError` when the server had to be killed or
        did not exit cleanly (0, or -SIGTERM should uvicorn let the signal end it). Safe to call
        twice: the second call returns the first one's code.
        """
        if self._process is None:
            raise ServerProcessError("this server was never started")
        if self.returncode is not None:
            return self.returncode
        killed = False
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                killed = True
                self._kill()
        self.returncode = self._process.returncode
        self._close_output()
        if killed:
            raise ServerProcessError(
                f"mov serve ignored SIGTERM for {timeout:.0f}s and was killed"
                f"\n--- output (tail) ---\n{self.output_tail()}"
            )
        if self.returncode not in {0, -signal.SIGTERM}:
            raise ServerProcessError(
                f"mov serve exited with code {self.returncode} after SIGTERM"
                f"\n--- output (tail) ---\n{self.output_tail()}"
            )
        return self.returncode

    def kill(self) -> None:
        """SIGKILL now, as a crash would (no graceful shutdown); `stop()` then returns -9."""
        self._kill()

    def _kill(self) -> None:
        assert self._process is not None
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=STOP_TIMEOUT)
        self.returncode = self._process.returncode
        self._close_output()

    def _close_output(self) -> None:
        if self._output is not None and not self._output.closed:
            self._final_output = self.output()
            self._output.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process is None or self.returncode is not None:
            return
        if exc_type is not None:
            # The test already failed: end the server without hiding that failure.
            with contextlib.suppress(Exception):
                self.stop()
            self._kill()
            return
        self.stop()


class WorkerProcess:
    """`mov worker` as a child process with the given environment."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MOV_")}
        self.env.update({"MOV_JWT_SECRET": JWT_SECRET, "MOV_LOG_LEVEL": "info", **env})
        self.output = tempfile.TemporaryFile(prefix="mov-worker-")  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603 - our own entry point
            [str(MOV), "worker"], env=self.env, stdout=self.output, stderr=subprocess.STDOUT
        )

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def tail(self) -> str:
        self.output.seek(0)
        return self.output.read().decode(errors="replace")[-3000:]
