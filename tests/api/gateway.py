"""The API suite's black-box half, through nginx (deploy/nginx.conf) in both modes of issue 16:
two full replicas (`all`) and one process per service (`split`), on PostgreSQL and Redis, with
one `mov worker` beside them.

The `api` fixture (tests/api/conftest.py) hands the same tests an `Api` whose client is an
httpx client of the gateway. Tests that reach into the process (its backend, its frozen
clock) cannot run there: they are marked `in_process` and left out of the gateway runs
(deselected, not skipped). Before each test every table is emptied and Redis flushed, so each
starts from nothing, as on the in-process backends; identities are not restarted, so no
process's short-lived cache of an account can stand for a new one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import redis
from tests.server_process import ServerProcess, WorkerProcess
from tests.servers import (
    DEFAULT_DRIVER,
    GATEWAY_SERVICES,
    HOST,
    LIBPQ_DRIVER,
    NginxGateway,
    PostgresServer,
    RedisServer,
    create_database,
    drop_database,
)

MODES = ("all", "split")


@contextlib.contextmanager
def deployment(
    mode: str, postgres: PostgresServer, redis_server: RedisServer, folder: Path
) -> Iterator[Gateway]:
    database = f"mov_gateway_{mode}"
    drop_database(postgres, database)
    create_database(postgres, database)
    url = postgres.url(database)
    redis_url = redis_server.url.rsplit("/", 1)[0] + ("/1" if mode == "all" else "/2")
    env = {"MOV_DATABASE_URL": url, "MOV_REDIS_URL": redis_url, "MOV_TRUSTED_PROXIES": HOST,
           "MOV_RATE_LIMIT_ENABLED": "false", "MOV_WORKER_IN_SERVER": "false"}  # fmt: skip
    groups = ["all", "all"] if mode == "all" else list(GATEWAY_SERVICES)
    processes: list[ServerProcess] = []
    worker: WorkerProcess | None = None
    try:
        for n, group in enumerate(groups):
            extra = {} if n == 0 else {"MOV_MIGRATE_ON_START": "false"}
            process = ServerProcess({**env, **extra, "MOV_DATA_DIR": str(folder / f"{n}")},
                                    args=("--services", group))  # fmt: skip
            process.start()  # the first migrates the database before the others start
            processes.append(process)
        worker = WorkerProcess({**env, "MOV_DATA_DIR": str(folder / "worker")})
        upstreams: dict[str, list[str]] = {service: [] for service in GATEWAY_SERVICES}
        for group, process in zip(groups, processes, strict=True):
            for service in GATEWAY_SERVICES if group == "all" else (group,):
                upstreams[service].append(f"{HOST}:{process.port}")
        with NginxGateway.start(upstreams) as nginx:
            yield Gateway(mode, nginx.url, url, redis_url)
    finally:
        if worker is not None:
            worker.stop()
        for process in processes:
            process.stop()
        drop_database(postgres, database)


class Gateway:
    def __init__(self, mode: str, url: str, database_url: str, redis_url: str) -> None:
        self.mode, self.url = mode, url
        self._database = database_url.replace(DEFAULT_DRIVER, LIBPQ_DRIVER)
        self._redis = redis_url

    def reset(self) -> None:
        """Every table empty (but the migrations' own), Redis flushed."""
        with psycopg.connect(self._database, autocommit=True) as db:
            tables = [row[0] for row in db.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )]  # fmt: skip
            for attempt in range(20):  # the worker's claims may hold a lock a moment
                try:
                    db.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
                    break
                except psycopg.errors.DeadlockDetected:
                    if attempt == 19:
                        raise
                    time.sleep(0.05)
        with redis.Redis.from_url(self._redis) as client:
            client.flushdb()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, trust_env=False, timeout=30)
