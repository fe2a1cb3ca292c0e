"""The seed's topology on one machine: `nox -s cluster [-- --replicas 2 --split --workers 1]`.

Starts a throwaway PostgreSQL (durable commits) and Redis, migrates once, then, under
supervisord (which restarts any process that dies, `kill -9` included):

- without `--split`: N replicas of the whole server (`mov serve --services all`);
- with `--split`: N replicas of each service (`mov serve --services auth`, events,
  enrollments, chat, notifications, web);
- `--workers` × `mov worker`;
- nginx with deploy/nginx.conf, whose upstreams list the replicas.

Every server trusts X-Forwarded-For from nginx only (MOV_TRUSTED_PROXIES=127.0.0.1), runs one
uvicorn process and no worker of its own. When `/health/ready` answers 200 through nginx, one
line says `MOV gateway at http://127.0.0.1:PORT`; then where the logs, the supervisord socket
(`supervisorctl -c <folder>/supervisord.conf status`) and the metrics token are. Ctrl-C or
SIGTERM stops everything and removes the folder (`--keep` leaves it).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.servers

import argparse
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Any

import httpx
from tests.servers import (
    GATEWAY_SERVICES,
    HOST,
    NginxGateway,
    PostgresServer,
    RedisServer,
    create_database,
    find_pg_bindir,
    free_port,
)

from mov_adapters.sql import migrate

BIN = Path(sys.executable).parent
READY_TIMEOUT = 120.0


def _program(name: str, argv: list[str], env: dict[str, str], logs: Path) -> str:
    environment = ",".join(f'{k}="{v}"' for k, v in sorted(env.items()))
    return (
        f"[program:{name}]\ncommand={' '.join(argv)}\nenvironment={environment}\n"
        "autorestart=true\nstartsecs=1\nstartretries=100\nstopsignal=TERM\nstopwaitsecs=15\n"
        f"stopasgroup=true\nkillasgroup=true\nredirect_stderr=true\n"
        f"stdout_logfile={logs / name}.log\n\n"
    )


def plan(
    args: argparse.Namespace, folder: Path, env: dict[str, str]
) -> tuple[str, int, dict[str, str]]:
    """supervisord's configuration for the topology, the gateway's port, and each server
    program's address (`all-1`: `127.0.0.1:PORT`)."""
    logs = folder / "logs"
    logs.mkdir()
    groups = list(GATEWAY_SERVICES) if args.split else ["all"]
    upstreams: dict[str, list[str]] = {service: [] for service in GATEWAY_SERVICES}
    programs = []
    addresses: dict[str, str] = {}
    for group in groups:
        for replica in range(1, args.replicas + 1):
            port, name = free_port(), f"{group}-{replica}"
            addresses[name] = f"{HOST}:{port}"
            served = GATEWAY_SERVICES if group == "all" else (group,)
            for service in served:
                upstreams[service].append(f"{HOST}:{port}")
            argv = [str(BIN / "mov"), "serve", "--host", HOST, "--port", str(port),
                    "--workers", "1", "--services", group]  # fmt: skip
            data = folder / "data" / name
            data.mkdir(parents=True)
            programs.append(_program(name, argv, {**env, "MOV_DATA_DIR": str(data)}, logs))
    for worker in range(1, args.workers + 1):
        data = folder / "data" / f"worker-{worker}"
        data.mkdir(parents=True)
        argv = [str(BIN / "mov"), "worker"]
        programs.append(
            _program(f"worker-{worker}", argv, {**env, "MOV_DATA_DIR": str(data)}, logs)
        )
    binary = NginxGateway.binary()
    if binary is None:
        sys.exit("nginx not found: apt-get install -y nginx")
    gateway_port = args.port or free_port()
    prefix = NginxGateway.prepare(upstreams, gateway_port)
    programs.append(_program("nginx", NginxGateway.argv(binary, prefix), {}, logs))
    head = (
        f"[supervisord]\nnodaemon=true\nlogfile={logs / 'supervisord.log'}\n"
        f"pidfile={folder / 'supervisord.pid'}\nchildlogdir={logs}\n\n"
        f"[unix_http_server]\nfile={folder / 'supervisor.sock'}\n\n"
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
        f"[supervisorctl]\nserverurl=unix://{folder / 'supervisor.sock'}\n\n"
    )
    return head + "".join(programs), gateway_port, addresses


def wait_ready(url: str, supervisor: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if supervisor.poll() is not None:
            sys.exit("supervisord ended before the gateway was ready (see its logs)")
        try:
            if httpx.get(f"{url}/health/ready", timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    sys.exit(f"the gateway was not ready within {READY_TIMEOUT:.0f} s")


def run(args: argparse.Namespace) -> None:
    bindir = find_pg_bindir()
    if bindir is None:
        sys.exit("PostgreSQL binaries not found: apt-get install -y postgresql")
    folder = Path(tempfile.mkdtemp(prefix="mov-cluster-"))
    postgres = PostgresServer.start(bindir, durable=True)
    redis = RedisServer.start()
    supervisor: subprocess.Popen[bytes] | None = None
    stopping = False

    def stop(_signum: int, _frame: Any) -> None:  # noqa: ANN401 - a signal handler's frame
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        create_database(postgres, "mov")
        database = postgres.url("mov")
        migrate.upgrade(database)
        token = secrets.token_urlsafe(24)
        env = {
            "MOV_DATABASE_URL": database,
            "MOV_REDIS_URL": redis.url,
            "MOV_JWT_SECRET": secrets.token_urlsafe(48),
            "MOV_TRUSTED_PROXIES": HOST,
            "MOV_WORKER_IN_SERVER": "false",
            "MOV_MIGRATE_ON_START": "false",
            "MOV_METRICS_TOKEN": token,
            "MOV_LOG_LEVEL": "warning",
            "MOV_RATE_LIMIT_ENABLED": "false" if args.no_limits else "true",
            "MOV_INSECURE_FAST_HASHING": "true" if args.insecure_fast_hashing else "false",
            "MOV_MAIL_LEASE": args.mail_lease,
            "MOV_OUTBOX_LEASE": args.outbox_lease,
        }
        if args.smtp:
            env["MOV_SMTP_URL"] = args.smtp
        config, port, addresses = plan(args, folder, env)
        (folder / "supervisord.conf").write_text(config)
        supervisor = subprocess.Popen(  # noqa: S603 - the installed supervisord, our config
            [str(BIN / "supervisord"), "-c", str(folder / "supervisord.conf")],
            stdin=subprocess.DEVNULL,
        )
        url = f"http://{HOST}:{port}"
        wait_ready(url, supervisor)
        print(f"MOV gateway at {url}", flush=True)
        print(
            f"logs: {folder / 'logs'}; control: {BIN / 'supervisorctl'} -c "
            f"{folder / 'supervisord.conf'} status; metrics token: {token}",
            flush=True,
        )
        listed = " ".join(f"{name}={address}" for name, address in addresses.items())
        print(f"replicas: {listed}", flush=True)
        print(f"postgres: {postgres.url()} data {postgres.datadir}; redis: {redis.url} pid "
              f"{redis.pid}", flush=True)  # fmt: skip
        while not stopping and supervisor.poll() is None:
            time.sleep(0.2)
    finally:
        if supervisor is not None and supervisor.poll() is None:
            supervisor.terminate()  # supervisord stops every program, then itself
            try:
                supervisor.wait(timeout=60)
            except subprocess.TimeoutExpired:
                supervisor.kill()
        redis.stop()
        postgres.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        print("cluster stopped", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2, help="processes per service")
    parser.add_argument("--split", action="store_true", help="one process per service")
    parser.add_argument("--workers", type=int, default=1, help="`mov worker` processes")
    parser.add_argument("--port", type=int, default=0, help="the gateway's port (default: free)")
    parser.add_argument("--no-limits", action="store_true", help="MOV_RATE_LIMIT_ENABLED=false")
    parser.add_argument(
        "--insecure-fast-hashing", action="store_true", help="tests only: cheap argon2"
    )
    parser.add_argument("--smtp", default="", help="MOV_SMTP_URL (default: .eml files)")
    parser.add_argument("--mail-lease", default="2m", help="MOV_MAIL_LEASE (default: 2m)")
    parser.add_argument("--outbox-lease", default="60s", help="MOV_OUTBOX_LEASE (default: 60s)")
    parser.add_argument("--keep", action="store_true", help="leave the folder (logs) behind")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
