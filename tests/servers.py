"""Real servers for integration tests, started by the test session and thrown away after it.

Plain helpers with no pytest fixtures, so the session fixtures (tests/server_fixtures.py) and
the benchmarks can share them. A throwaway PostgreSQL cluster is built with `initdb` in a
temporary directory, listens only on 127.0.0.1 at a free port with trust authentication, and
by default runs without fsync: tests want speed, and the data dies with the session anyway.
A throwaway Redis is a `redis-server` child process on a free port, without persistence.

PostgreSQL refuses to run as root, so when we are root every PostgreSQL binary is run as the
`postgres` system user through `runuser`. psycopg is imported only where a database is created
or dropped, so importing this module (which every test session does, through the fixtures
plugin) does not require the database driver.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, NamedTuple, NoReturn, Self
from urllib.parse import urlsplit, urlunsplit

import pytest

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

REQUIRE_SERVICES_ENV = "MOV_REQUIRE_SERVICES"
PG_BINDIR_ENV = "MOV_PG_BINDIR"
POSTGRES_URL_ENV = "MOV_TEST_POSTGRES_URL"

POSTGRES_USER = "postgres"
HOST = "127.0.0.1"
DEFAULT_DRIVER = "postgresql+psycopg"
LIBPQ_DRIVER = "postgresql"  # the scheme libpq and psycopg.connect() understand

_PG_ROOT = Path("/usr/lib/postgresql")
_LOG_TAIL_LINES = 40
_PORT_ATTEMPTS = 3  # free_port() can race with another process grabbing the same port
_INITDB_TIMEOUT = 180.0
_PG_CTL_WAIT = 60  # seconds pg_ctl waits for the server (its -t option)
_CONNECT_TIMEOUT = 10


def require_or_skip(reason: str) -> NoReturn:
    """Skip a test whose server is missing, or fail it when CI demands every service.

    A developer without PostgreSQL installed still gets a green unit run; CI sets
    MOV_REQUIRE_SERVICES=1 so that a missing server cannot silently turn into skipped tests.
    """
    if os.environ.get(REQUIRE_SERVICES_ENV) == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _version_key(version: str) -> tuple[int, ...]:
    """Sort key for folder names such as "15" or "9.6"; non-numeric names sort first."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (-1,)


def _has_server_binaries(bindir: Path) -> bool:
    return (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file()


def find_pg_bindir() -> Path | None:
    """Where initdb and pg_ctl live, or None when PostgreSQL is not installed.

    Debian keeps the server binaries off PATH (in /usr/lib/postgresql/<version>/bin), so PATH
    alone would miss them; MOV_PG_BINDIR overrides the search for unusual installs.
    """
    override = os.environ.get(PG_BINDIR_ENV)
    if override:
        return Path(override)
    candidates = [
        bindir
        for bindir in (version_dir / "bin" for version_dir in _PG_ROOT.glob("*"))
        if _has_server_binaries(bindir)
    ]
    if candidates:
        return max(candidates, key=lambda bindir: _version_key(bindir.parent.name))
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, the pg_config found on PATH
            [pg_config, "--bindir"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    bindir = Path(result.stdout.strip())
    return bindir if (bindir / "initdb").is_file() else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


UNPARSEABLE = (
    b"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nX-Note: a\x01b\r\n\r\n",
    b"GET /api/v1/ events HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n",  # TLS spoken to HTTP
)
"""Requests no HTTP parser takes."""
MALFORMED = {"success": False, "message": "Malformed HTTP request", "errorCode": "VALIDATION_ERROR"}
"""MOV's answer to them, from `mov serve` or from nginx."""


def raw_http(host: str, port: int, request: bytes, timeout: float = 30.0) -> RawAnswer:
    """Send bytes no HTTP client would (a control character in a header, a broken request
    line) and read one answer: its Content-Length's worth, or until the server closes."""
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
            head, found, body = answer.partition(b"\r\n\r\n")
            length = re.search(rb"\r\ncontent-length: *(\d+)", head, re.IGNORECASE)
            if found and length and len(body) >= int(length.group(1)):
                break
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return RawAnswer(int(lines[0].split(" ")[1]), headers, body)


class RawAnswer(NamedTuple):
    status: int
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _as_server_user(argv: list[str]) -> list[str]:
    """Prefix argv with runuser when we are root: PostgreSQL refuses to run as root."""
    if not _running_as_root():
        return argv
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root, but runuser is missing: cannot drop to postgres")
    return [runuser, "-u", POSTGRES_USER, "--", *argv]


def _server_env() -> dict[str, str]:
    """Our environment without PG* variables, which would redirect pg_ctl and initdb."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _log_tail(logfile: Path | None) -> str:
    if logfile is None or not logfile.is_file():
        return "(no server log)"
    lines = logfile.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(server log is empty)"


class PostgresServer:
    """A PostgreSQL server for tests: a throwaway local cluster, or an existing server.

    `port` is the TCP port, `datadir` the cluster's data directory (None for an external
    server) and `url()` builds SQLAlchemy or libpq URLs for any database on the server.
    """

    def __init__(
        self,
        base_url: str,
        *,
        port: int,
        datadir: Path | None = None,
        workdir: Path | None = None,
        bindir: Path | None = None,
    ) -> None:
        self._base = urlsplit(base_url)
        self.port = port
        self.datadir = datadir
        self._workdir = workdir
        self._bindir = bindir
        self._stopped = workdir is None  # an external server is never ours to stop

    def __repr__(self) -> str:
        return f"PostgresServer({self.url(driver=LIBPQ_DRIVER)!r}, datadir={self.datadir!r})"

    @property
    def is_external(self) -> bool:
        """True for a server we did not start (MOV_TEST_POSTGRES_URL): stop() leaves it be."""
        return self._workdir is None

    def url(self, dbname: str = "postgres", driver: str = DEFAULT_DRIVER) -> str:
        """URL of database `dbname`: SQLAlchemy's by default, libpq's with driver="postgresql"."""
        return urlunsplit((driver, self._base.netloc, f"/{dbname}", self._base.query, ""))

    @classmethod
    def external(cls, url: str) -> PostgresServer:
        """An existing server (e.g. a CI service container) given by any PostgreSQL URL.

        Its user must be allowed to create databases; the database named in the URL is ignored,
        since url() names one per call.
        """
        parts = urlsplit(url)
        if not parts.hostname:
            raise ValueError(f"{POSTGRES_URL_ENV} needs a host: {url!r}")
        return cls(url, port=parts.port or 5432)

    @classmethod
    def start(cls, bindir: Path, *, durable: bool = False) -> PostgresServer:
        """Initialise a fresh cluster in a temporary directory and start it on a free port.

        With durable=False (the default) fsync, synchronous commit and full-page writes are off:
        a crash loses the cluster, which tests throw away anyway. Benchmarks that measure commit
        cost pass durable=True to get a server that really waits for the disk.
        """
        missing = [name for name in ("initdb", "pg_ctl") if not (bindir / name).is_file()]
        if missing:
            raise RuntimeError(f"no {' or '.join(missing)} in PostgreSQL bindir {bindir}")
        workdir = Path(tempfile.mkdtemp(prefix="mov-pg-"))
        datadir = workdir / "data"
        logfile = workdir / "log"
        try:
            _give_to_server_user(workdir)
            _run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(datadir),
                    "-U",
                    POSTGRES_USER,
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
                what="initdb",
                cwd=workdir,
                timeout=_INITDB_TIMEOUT,
                logfile=None,
            )
            port = _start_on_free_port(bindir, workdir, datadir, logfile, durable=durable)
        except BaseException:
            # pg_ctl may have timed out with a postmaster still coming up: stop it before
            # deleting the directory under it.
            with contextlib.suppress(Exception):
                _stop_cluster(bindir, workdir, datadir)
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        server = cls(
            f"{LIBPQ_DRIVER}://{POSTGRES_USER}@{HOST}:{port}/postgres",
            port=port,
            datadir=datadir,
            workdir=workdir,
            bindir=bindir,
        )
        # If the session dies without its teardown (an error in another fixture, Ctrl-C), this
        # still stops the postmaster, which would otherwise outlive the test run.
        atexit.register(server.stop)
        return server

    def halt(self) -> None:
        """Stop the postmaster at once, as a crash would (`pg_ctl stop -m immediate`): every
        connection is cut, nothing is checkpointed. `resume` starts it again (crash recovery)."""
        assert self._workdir is not None, "an external server is not ours to stop"
        assert self._bindir is not None
        _stop_cluster(self._bindir, self._workdir, self.datadir)

    def resume(self) -> None:
        """Start a halted server again on its port, with its options (`pg_ctl start`, the
        options read back from the `postmaster.opts` of its last start)."""
        assert self._workdir is not None, "an external server is not ours to start"
        assert self._bindir is not None
        _binary, *options = shlex.split((self.datadir / "postmaster.opts").read_text())
        options = [o for o in options if o != "-D" and o != str(self.datadir)]
        _run(
            [str(self._bindir / "pg_ctl"), "start", "-D", str(self.datadir), "-w",
             "-l", str(self._workdir / "log"), "-o", shlex.join(options)],
            what="pg_ctl start", cwd=self._workdir, timeout=_PG_CTL_WAIT + 30,
            logfile=self._workdir / "log",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server and delete its directory; safe to call twice, and never raises.

        It runs in teardown and at exit, where an exception would hide the test's real outcome,
        so problems are logged as warnings instead.
        """
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        if self._bindir is None or self._workdir is None or self.datadir is None:
            return  # not a server we started
        try:
            _stop_cluster(self._bindir, self._workdir, self.datadir)
        except Exception:
            log.warning("could not stop PostgreSQL at %s", self.datadir, exc_info=True)
        try:
            shutil.rmtree(self._workdir)
        except FileNotFoundError:
            pass  # already gone: nothing left to clean
        except OSError:
            log.warning("could not remove %s", self._workdir, exc_info=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _give_to_server_user(workdir: Path) -> None:
    """Let the server user own the work directory: initdb, the socket and the log live in it."""
    workdir.chmod(0o700)
    if _running_as_root():
        try:
            account = pwd.getpwnam(POSTGRES_USER)
        except KeyError:
            raise RuntimeError(
                f"running as root, but there is no {POSTGRES_USER!r} user to run PostgreSQL as"
            ) from None
        os.chown(workdir, account.pw_uid, account.pw_gid)


def _stop_cluster(bindir: Path, workdir: Path, datadir: Path) -> None:
    """Stop the postmaster at once (no checkpoint: the cluster is about to be deleted)."""
    if not (datadir / "postmaster.pid").exists():
        return
    _run(
        [str(bindir / "pg_ctl"), "stop", "-D", str(datadir), "-m", "immediate", "-w"],
        what="pg_ctl stop",
        cwd=workdir,
        timeout=_PG_CTL_WAIT + 30,
        logfile=workdir / "log",
    )


def _run(
    argv: list[str], *, what: str, cwd: Path, timeout: float, logfile: Path | None
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL binary as the server user; on failure say why, with the server log."""
    argv = _as_server_user(argv)
    try:
        # cwd: the server user may not be allowed into ours (e.g. /root).
        result = subprocess.run(  # noqa: S603 - argv built here from a bindir and fixed options
            argv,
            cwd=cwd,
            env=_server_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(
            f"{what} timed out after {timeout:.0f}s: {argv}\n"
            f"--- server log (tail) ---\n{_log_tail(logfile)}"
        ) from error
    except OSError as error:
        raise RuntimeError(f"{what} could not run: {argv}: {error}") from error
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} failed with exit code {result.returncode}: {argv}\n"
            f"--- stderr ---\n{result.stderr.strip()}\n"
            f"--- stdout ---\n{result.stdout.strip()}\n"
            f"--- server log (tail) ---\n{_log_tail(logfile)}"
        )
    return result


_PORT_TAKEN = re.compile(r"could not bind|address already in use", re.IGNORECASE)


def _start_on_free_port(
    bindir: Path, workdir: Path, datadir: Path, logfile: Path, *, durable: bool
) -> int:
    """Start the cluster, trying another port if someone took ours between probe and bind."""
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        port = free_port()
        options = [
            f"-p {port}",
            f"-c listen_addresses={HOST}",
            f"-k {workdir}",
            "-c max_connections=300",
            "-c shared_buffers=128MB",
        ]
        if not durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        try:
            _run(
                [
                    str(bindir / "pg_ctl"),
                    *("-D", str(datadir), "-w", "-t", str(_PG_CTL_WAIT), "-l", str(logfile)),
                    *("start", "-o", " ".join(options)),
                ],
                what="pg_ctl start",
                cwd=workdir,
                timeout=_PG_CTL_WAIT + 30,
                logfile=logfile,
            )
        except RuntimeError:
            if attempt < _PORT_ATTEMPTS and _PORT_TAKEN.search(_log_tail(logfile)):
                log.warning("port %d was taken, retrying PostgreSQL on another port", port)
                with contextlib.suppress(FileNotFoundError):
                    logfile.unlink()
                time.sleep(0.1)
                continue
            raise
        return port
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover


def _connect_autocommit(server: PostgresServer) -> psycopg.Connection[tuple[object, ...]]:
    import psycopg  # noqa: PLC0415 - only tests that use PostgreSQL need the driver

    return psycopg.connect(
        server.url(driver=LIBPQ_DRIVER), autocommit=True, connect_timeout=_CONNECT_TIMEOUT
    )


def create_database(server: PostgresServer, name: str, template: str | None = None) -> None:
    """Create database `name`, as a copy of `template` when given.

    Copying a migrated template is much faster than migrating every test's database. PostgreSQL
    refuses to copy a template while anyone else is connected to it, so close those first.
    """
    from psycopg import sql  # noqa: PLC0415 - see _connect_autocommit

    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with _connect_autocommit(server) as connection:
        connection.execute(statement)


def drop_database(server: PostgresServer, name: str) -> None:
    """Drop database `name` if it exists, disconnecting whoever is still connected to it.

    FORCE (PostgreSQL 13+) keeps a leaked connection in one test from breaking the cleanup.
    """
    from psycopg import sql  # noqa: PLC0415 - see _connect_autocommit

    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with _connect_autocommit(server) as connection:
        connection.execute(statement)


# --- Redis -------------------------------------------------------------------------------------

REDIS_URL_ENV = "MOV_TEST_REDIS_URL"
REDIS_SERVER_ENV = "MOV_REDIS_SERVER"

_REDIS_START_TIMEOUT = 30.0
_REDIS_STOP_TIMEOUT = 10.0
_REDIS_PING_INTERVAL = 0.02


def find_redis_server() -> Path | None:
    """The redis-server binary: MOV_REDIS_SERVER when set, else the one on PATH, else None."""
    override = os.environ.get(REDIS_SERVER_ENV)
    if override:
        return Path(override)
    found = shutil.which("redis-server")
    return Path(found) if found else None


_PROCESS_ID = re.compile(rb"^process_id:(\d+)", re.MULTILINE)


def _redis_process_id(port: int) -> int | None:
    """The pid of the redis-server answering at `port`, or None while nothing answers.

    Asked with the raw protocol (INFO server), so no driver is needed. A pid rather than a mere
    PONG because whoever took our port between choosing and binding it would answer PING too.
    """
    try:
        with (
            socket.create_connection((HOST, port), timeout=1) as sock,
            sock.makefile("rb") as reply,
        ):
            sock.sendall(b"INFO server\r\n")
            header = reply.readline()
            if not header.startswith(b"$"):
                return None  # an error, such as -LOADING while the server starts
            body = reply.read(int(header[1:]))
    except (OSError, ValueError):
        return None
    match = _PROCESS_ID.search(body)
    return int(match.group(1)) if match else None


class RedisServer:
    """A Redis server for tests: a throwaway local one without persistence, or an existing one.

    A started server listens only on 127.0.0.1 at a free port, keeps nothing on disk (no RDB
    snapshots, no AOF: tests flush it anyway) and runs in the foreground as our child process,
    in a temporary directory that also holds its log.
    """

    def __init__(
        self,
        url: str,
        *,
        process: subprocess.Popen[bytes] | None = None,
        workdir: Path | None = None,
    ) -> None:
        self._url = url
        self._process = process
        self._workdir = workdir
        self._stopped = process is None  # an external server is never ours to stop

    def __repr__(self) -> str:
        return f"RedisServer({self._url!r}, workdir={self._workdir!r})"

    @property
    def url(self) -> str:
        """`redis://127.0.0.1:<port>/0` for a started server; the given URL for an external one."""
        return self._url

    @property
    def unix_url(self) -> str | None:
        """`unix://<workdir>/redis.sock?db=0`: the same server over its Unix socket (None for
        an external one)."""
        if self._workdir is None:
            return None
        return f"unix://{self._workdir / 'redis.sock'}?db=0"

    @property
    def is_external(self) -> bool:
        """True for a server we did not start (MOV_TEST_REDIS_URL): stop() leaves it be."""
        return self._process is None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @classmethod
    def external(cls, url: str) -> RedisServer:
        """An existing server given by a Redis URL. Tests flush its database: use a spare one."""
        if not urlsplit(url).scheme.startswith(("redis", "unix")):
            raise ValueError(f"{REDIS_URL_ENV} must be a redis://, rediss:// or unix:// URL")
        return cls(url)

    @classmethod
    def start(cls, binary: Path | None = None) -> RedisServer:
        """Start redis-server (`binary`, else the one found) on a free port of 127.0.0.1.

        Returns once it answers as our child process. Raises RuntimeError, with the server's
        log, when it cannot start; a port taken between choosing and binding it is retried.
        """
        binary = binary or find_redis_server()
        if binary is None:
            raise RuntimeError(
                "redis-server not found (install redis-server, or set MOV_REDIS_SERVER)"
            )
        if not binary.is_file():
            raise RuntimeError(f"no redis-server at {binary} (check {REDIS_SERVER_ENV})")
        workdir = Path(tempfile.mkdtemp(prefix="mov-redis-"))
        try:
            for attempt in range(1, _PORT_ATTEMPTS + 1):
                server = cls._launch(binary, workdir, free_port())
                try:
                    server._wait_until_ready()
                except RuntimeError as error:
                    server._terminate()
                    if attempt < _PORT_ATTEMPTS and _PORT_TAKEN.search(str(error)):
                        log.warning("port was taken, retrying Redis on another port")
                        continue
                    raise
                # Like PostgreSQL's: stop the server even if the session dies without teardown.
                atexit.register(server.stop)
                return server
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    @classmethod
    def _launch(cls, binary: Path, workdir: Path, port: int) -> RedisServer:
        logfile = workdir / "log"
        argv = [
            str(binary),
            *("--port", str(port), "--bind", HOST, "--dir", str(workdir)),
            *("--unixsocket", str(workdir / "redis.sock"), "--unixsocketperm", "700"),
            *("--save", "", "--appendonly", "no", "--daemonize", "no"),
        ]
        with logfile.open("wb") as log_output:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(  # noqa: S603 - argv built here from a found binary
                argv,
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log_output,
                stderr=subprocess.STDOUT,
            )
        return cls(f"redis://{HOST}:{port}/0", process=process, workdir=workdir)

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        assert self._workdir is not None
        port = urlsplit(self._url).port
        assert port is not None
        deadline = time.monotonic() + _REDIS_START_TIMEOUT
        while _redis_process_id(port) != self._process.pid:
            code = self._process.poll()
            if code is not None or time.monotonic() > deadline:
                why = f"exited with code {code}" if code is not None else "did not answer"
                raise RuntimeError(
                    f"redis-server {why} on port {port}\n"
                    f"--- server log (tail) ---\n{_log_tail(self._workdir / 'log')}"
                )
            time.sleep(_REDIS_PING_INTERVAL)

    def _terminate(self) -> None:
        """End our redis-server: politely, then by force if it lingers."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=_REDIS_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=_REDIS_STOP_TIMEOUT)

    def stop(self) -> None:
        """Stop the server and delete its directory; safe to call twice, and never raises."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        try:
            self._terminate()
        except Exception:
            log.warning("could not stop redis-server %s", self._url, exc_info=True)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def throwaway_database(server: PostgresServer, name: str) -> Iterator[str]:
    """A fresh, empty database `name` on `server` (dropped first should a crashed run have
    left it), its URL, dropped afterwards."""
    drop_database(server, name)
    create_database(server, name)
    try:
        yield server.url(name)
    finally:
        drop_database(server, name)


@contextlib.contextmanager
def bench_postgres(database: str = "bench") -> Iterator[str]:
    """A PostgreSQL URL for benchmarks: `MOV_BENCH_POSTGRES_URL` when set, else a throwaway
    server with durable commits (what production would pay), stopped afterwards."""
    url = os.environ.get("MOV_BENCH_POSTGRES_URL")
    if url is not None:
        yield url
        return
    bindir = find_pg_bindir()
    if bindir is None:
        sys.exit("PostgreSQL binaries not found: install postgresql or set MOV_BENCH_POSTGRES_URL")
    server = PostgresServer.start(bindir, durable=True)
    try:
        create_database(server, database)
        yield server.url(database)
    finally:
        server.stop()


# --- nginx, the gateway ------------------------------------------------------------------------

NGINX_CONF = Path(__file__).resolve().parents[1] / "deploy" / "nginx.conf"
GATEWAY_SERVICES = ("auth", "events", "enrollments", "chat", "notifications", "web")


def upstreams_conf(upstreams: dict[str, list[str]]) -> str:
    """deploy/nginx.conf's upstream blocks for these addresses (`host:port`) of each service.

    Replicas are balanced to the one with the fewest requests in flight; a replica that
    refused a connection is left alone for 2 s. `chat_sockets` (Socket.IO) keeps a client on
    one replica (hash of its address): Engine.IO's long-polling needs every request of a
    session on the process that holds it."""
    blocks = []
    for name in GATEWAY_SERVICES:
        servers = "".join(
            f"    server {address} max_fails=1 fail_timeout=2s;\n" for address in upstreams[name]
        )
        blocks.append(f"upstream {name} {{\n    least_conn;\n{servers}    keepalive 32;\n}}\n")
    servers = "".join(f"    server {address};\n" for address in upstreams["chat"])
    blocks.append(f"upstream chat_sockets {{\n    hash $remote_addr consistent;\n{servers}}}\n")
    return "\n".join(blocks)


class NginxGateway:
    """deploy/nginx.conf run by Debian's nginx on a free port of 127.0.0.1, in a folder of its
    own, with the given upstreams."""

    def __init__(self, process: subprocess.Popen[bytes], prefix: Path, port: int) -> None:
        self._process = process
        self.prefix = prefix
        self.port = port
        self.url = f"http://{HOST}:{port}"

    @property
    def pid(self) -> int:
        """The nginx master's pid (its workers are its children)."""
        return self._process.pid

    @staticmethod
    def binary() -> Path | None:
        found = shutil.which("nginx") or (
            "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
        )
        return Path(found) if found else None

    @classmethod
    def start(cls, upstreams: dict[str, list[str]], *, port: int | None = None) -> NginxGateway:
        binary = cls.binary()
        if binary is None:
            raise RuntimeError("nginx not found (apt-get install -y nginx)")
        port = port or free_port()
        prefix = cls.prepare(upstreams, port)
        log = (prefix / "nginx.log").open("wb")
        process = subprocess.Popen(  # noqa: S603 - a found binary, fixed arguments
            cls.argv(binary, prefix), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        gateway = cls(process, prefix, port)
        atexit.register(gateway.stop)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if process.poll() is not None:
                text = (prefix / "nginx.log").read_text(errors="replace")
                raise RuntimeError(f"nginx did not start:\n{text}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
                return gateway
            time.sleep(0.05)
        gateway.stop()
        raise RuntimeError("nginx did not listen within 15 s")

    @staticmethod
    def prepare(upstreams: dict[str, list[str]], port: int) -> Path:
        """A fresh folder holding deploy/nginx.conf with these upstreams, listening on `port`."""
        prefix = Path(tempfile.mkdtemp(prefix="mov-nginx-"))
        prefix.chmod(0o755)
        for name in ("client", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / "tmp" / name).mkdir(parents=True)
            (prefix / "tmp" / name).chmod(0o777)  # nginx's workers run as nobody under root
        shutil.copy(NGINX_CONF, prefix / "nginx.conf")
        (prefix / "listen.conf").write_text(f"listen {HOST}:{port};\n")
        (prefix / "upstreams.conf").write_text(upstreams_conf(upstreams))
        return prefix

    @staticmethod
    def argv(binary: Path, prefix: Path) -> list[str]:
        """nginx in the foreground on the folder `prepare` made."""
        return [str(binary), "-p", str(prefix), "-c", "nginx.conf", "-e", "stderr"]

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.prefix, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


FERRETDB_ENV = "MOV_FERRETDB"  # the ferretdb binary to run
MONGO_URL_ENV = "MOV_TEST_MONGO_URL"  # an existing MongoDB-wire server instead
FERRETDB_VERSION = "v1.24.2"
_FERRETDB_SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "ferretdb"
_FERRETDB_START_TIMEOUT = 30.0


def find_ferretdb() -> Path | None:
    """The ferretdb binary: MOV_FERRETDB when set, else the one `.ci/ferretdb` built into the
    cache, else one on PATH, else None."""
    override = os.environ.get(FERRETDB_ENV)
    if override:
        return Path(override)
    cache = Path(os.environ.get("MOV_CACHE_DIR") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mov")  # fmt: skip
    built = cache / f"ferretdb-{FERRETDB_VERSION}" / "ferretdb"
    if built.is_file():
        return built
    found = shutil.which("ferretdb")
    return Path(found) if found else None


def build_ferretdb() -> Path | None:
    """Run `.ci/ferretdb` (Go and the module proxy needed): the binary, or None without Go."""
    if shutil.which("go") is None:
        return None
    done = subprocess.run(  # noqa: S603 - our own script
        [str(_FERRETDB_SCRIPT)], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"FerretDB could not be built:\n{done.stderr[-3000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def _mongo_answers(url: str) -> bool:
    from pymongo import MongoClient  # noqa: PLC0415 - only Mongo tests need the driver
    from pymongo.errors import PyMongoError  # noqa: PLC0415

    client: MongoClient[dict[str, object]] = MongoClient(
        url, serverSelectionTimeoutMS=500, connectTimeoutMS=500
    )
    try:
        client.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        client.close()
    return True


class FerretServer:
    """FerretDB (MongoDB's wire protocol over SQLite) for tests: a child process on a free port
    of 127.0.0.1, its SQLite files in a temporary folder, no telemetry, no debug listener.

    `halt()` kills it as a crash would; `resume()` starts it again on the same port and files.
    """

    def __init__(self, binary: Path, workdir: Path, port: int) -> None:
        self.binary = binary
        self._workdir = workdir
        self.port = port
        self.url = f"mongodb://{HOST}:{port}/"
        self._process: subprocess.Popen[bytes] | None = None

    @classmethod
    def start(cls, binary: Path) -> FerretServer:
        if not binary.is_file():
            raise RuntimeError(f"no ferretdb at {binary} (check {FERRETDB_ENV})")
        workdir = Path(tempfile.mkdtemp(prefix="mov-ferretdb-"))
        (workdir / "data").mkdir()
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            server = cls(binary, workdir, free_port())
            try:
                server.resume()
            except RuntimeError as error:
                if attempt < _PORT_ATTEMPTS and "address already in use" in str(error):
                    continue
                shutil.rmtree(workdir, ignore_errors=True)
                raise
            atexit.register(server.stop)
            return server
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def argv(self) -> list[str]:
        return [
            str(self.binary),
            "--handler=sqlite",
            f"--sqlite-url=file:{self._workdir / 'data'}/",
            f"--listen-addr={HOST}:{self.port}",
            f"--state-dir={self._workdir}",
            "--debug-addr=-",
            "--telemetry=disable",
            "--log-level=warn",
        ]

    def resume(self) -> None:
        """Start the server (again) and return once it answers a ping."""
        logfile = self._workdir / "log"
        with logfile.open("ab") as output:
            self._process = subprocess.Popen(  # noqa: S603 - a found binary, our arguments
                self.argv(), cwd=self._workdir, stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + _FERRETDB_START_TIMEOUT
        while not _mongo_answers(self.url):
            code = self._process.poll()
            if code is not None or time.monotonic() > deadline:
                self._terminate()
                why = f"exited with code {code}" if code is not None else "did not answer"
                raise RuntimeError(
                    f"ferretdb {why} on port {self.port}\n"
                    f"--- server log (tail) ---\n{_log_tail(logfile)}"
                )
            time.sleep(0.05)

    def halt(self) -> None:
        """Kill the server (SIGKILL: no goodbye to its clients); its files stay."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)

    def _terminate(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the server and delete its folder; safe to call twice."""
        atexit.unregister(self.stop)
        try:
            self._terminate()
        except Exception:
            log.warning("could not stop ferretdb on port %d", self.port, exc_info=True)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
