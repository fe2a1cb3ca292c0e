"""Settings: read once from `MOV_*` environment variables (CLI flags override), then passed in.

Nothing reads the environment at import time; secrets never have defaults in code.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from email.utils import parseaddr
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from attrs import evolve, frozen

from mov_adapters.sql.engine import DEFAULT_MAX_OVERFLOW, DEFAULT_POOL_SIZE, PoolSettings
from mov_core.ports.infra import RateLimit

JWT_SECRET_FILE = "jwt-secret"  # noqa: S105 - a file name, not a secret
SESSION_COOKIE = "mov_session"
"""The web UI's session cookie (the JWT): Socket.IO handshakes accept it too."""
MIN_SECRET_BYTES = 32


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


DEFAULT_MAIL_FROM = "MOV <no-reply@mov.localhost>"
DEFAULT_CORS = "http://localhost:3000,http://localhost:5173"
DEFAULT_LIMIT = RateLimit(100, timedelta(minutes=15))
AUTH_LIMIT = RateLimit(10, timedelta(minutes=1))


SERVICES = ("auth", "events", "enrollments", "chat", "notifications", "web")
"""What one `mov serve` process can serve (`MOV_SERVICES`, `--services`): the API's route groups
(`chat` includes Socket.IO) and the web UI's pages (`web`). Every process also answers
`/health*` and `/metrics`."""


@frozen
class Settings:
    data_dir: Path
    database_url: str
    pool: PoolSettings
    per_event_concurrency: int
    jwt_secret: str | None  # None: generated into (and read from) the data folder
    jwt_ttl: timedelta = timedelta(hours=24)
    redis_url: str | None = None
    cors_origins: tuple[str, ...] = tuple(DEFAULT_CORS.split(","))
    rate_limit_enabled: bool = True
    rate_limit_default: RateLimit = DEFAULT_LIMIT
    rate_limit_auth: RateLimit = AUTH_LIMIT
    log_level: str = "info"
    log_format: str = "json"
    migrate_on_start: bool = True
    chat_store: str = "sql"
    mongo_url: str | None = None
    notification_store: str = "sql"
    smtp_url: str | None = None
    """None: e-mails are written as .eml files under `<data_dir>/outbox-mail/`."""
    mail_from: str = DEFAULT_MAIL_FROM
    public_url: str = "http://127.0.0.1:8000"
    """Where people reach the server: the base of links in e-mails (unsubscribe)."""
    worker_in_server: bool = True
    """Drain the outbox, send e-mails and tick the clock inside `mov serve` (turn off when
    `mov worker` processes do it)."""
    reminder_lead: timedelta = timedelta(hours=24)
    default_event_duration: timedelta = timedelta(hours=2)
    clock_interval: timedelta = timedelta(seconds=30)
    mail_max_attempts: int = 6
    outbox_lease: timedelta = timedelta(seconds=60)
    """How long a worker holds the outbox records it took (a dead worker's wait this long)."""
    mail_lease: timedelta = timedelta(minutes=2)
    """How long a worker holds the e-mails it took before another may send them: after a
    worker dies, its unsent ones wait this long. Longer than a send can take."""
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    """Networks whose `X-Forwarded-For` / `Forwarded` are believed (the load balancer's)."""
    services: tuple[str, ...] = SERVICES
    metrics_token: str | None = None
    """The bearer token `/metrics` asks for (`MOV_METRICS_TOKEN`); unset: no `/metrics`."""
    """The route groups this process serves (`SERVICES` order)."""
    insecure_fast_hashing: bool = False
    """Tests only: the cheapest argon2 parameters, so a server under test does not spend its
    time hashing (`MOV_INSECURE_FAST_HASHING`). Never in production: hashes become cheap to
    crack."""

    @property
    def mail_folder(self) -> Path:
        return self.data_dir / "outbox-mail"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("MOV_DATA_DIR", "./mov-data"))
        return cls(
            data_dir=data_dir,
            database_url=env.get("MOV_DATABASE_URL") or default_database_url(data_dir),
            pool=PoolSettings(
                size=_int(env, "MOV_DB_POOL_SIZE", DEFAULT_POOL_SIZE, minimum=1),
                max_overflow=_int(env, "MOV_DB_MAX_OVERFLOW", DEFAULT_MAX_OVERFLOW, minimum=0),
                timeout_s=_int(env, "MOV_DB_POOL_TIMEOUT", 30, minimum=1),
            ),
            per_event_concurrency=_int(env, "MOV_DB_PER_EVENT_CONCURRENCY", 4, minimum=1),
            jwt_secret=env.get("MOV_JWT_SECRET") or None,
            jwt_ttl=_duration(env, "MOV_JWT_TTL", timedelta(hours=24)),
            redis_url=env.get("MOV_REDIS_URL") or None,
            cors_origins=tuple(
                o.strip() for o in env.get("MOV_CORS_ORIGINS", DEFAULT_CORS).split(",") if o.strip()
            ),
            rate_limit_enabled=_bool(env, "MOV_RATE_LIMIT_ENABLED", default=True),
            rate_limit_default=_limit(env, "MOV_RATE_LIMIT_DEFAULT", "100/15minutes"),
            rate_limit_auth=_limit(env, "MOV_RATE_LIMIT_AUTH", "10/minute"),
            log_level=_choice(env, "MOV_LOG_LEVEL", "info", ("debug", "info", "warning", "error")),
            log_format=_choice(env, "MOV_LOG_FORMAT", "json", ("json", "console")),
            migrate_on_start=_bool(env, "MOV_MIGRATE_ON_START", default=True),
            chat_store=_choice(env, "MOV_CHAT_STORE", "sql", ("sql", "mongo", "memory")),
            mongo_url=env.get("MOV_MONGO_URL") or None,
            notification_store=_choice(
                env, "MOV_NOTIFICATION_STORE", "sql", ("sql", "mongo", "memory")
            ),
            smtp_url=env.get("MOV_SMTP_URL") or None,
            mail_from=_address(env, "MOV_MAIL_FROM", DEFAULT_MAIL_FROM),
            public_url=_http_url(env, "MOV_PUBLIC_URL", "http://127.0.0.1:8000"),
            worker_in_server=_bool(env, "MOV_WORKER_IN_SERVER", default=True),
            reminder_lead=_duration(env, "MOV_REMINDER_LEAD", timedelta(hours=24)),
            default_event_duration=_duration(env, "MOV_EVENT_DEFAULT_DURATION", timedelta(hours=2)),
            clock_interval=_duration(env, "MOV_CLOCK_INTERVAL", timedelta(seconds=30)),
            mail_lease=_duration(env, "MOV_MAIL_LEASE", timedelta(minutes=2)),
            outbox_lease=_duration(env, "MOV_OUTBOX_LEASE", timedelta(seconds=60)),
            mail_max_attempts=_int(env, "MOV_MAIL_MAX_ATTEMPTS", 6, minimum=1),
            trusted_proxies=_networks(env, "MOV_TRUSTED_PROXIES"),
            services=_services(env, "MOV_SERVICES"),
            metrics_token=env.get("MOV_METRICS_TOKEN") or None,
            insecure_fast_hashing=_bool(env, "MOV_INSECURE_FAST_HASHING", default=False),
        )

    def with_overrides(self, **changes: Any) -> Settings:  # noqa: ANN401 - any field's type
        """CLI flags win over the environment; `None` means "not given"."""
        return evolve(self, **{k: v for k, v in changes.items() if v is not None})

    def token_secret(self) -> str:
        """`MOV_JWT_SECRET`, or a secret generated once into the data folder (mode 600)."""
        if self.jwt_secret is not None:
            if len(self.jwt_secret.encode()) < MIN_SECRET_BYTES:
                raise SettingsError(
                    f"MOV_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes; generate one with "
                    "python -c 'import secrets; print(secrets.token_urlsafe(64))'"
                )
            return self.jwt_secret
        path = self.data_dir / JWT_SECRET_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(64))
        return path.read_text().strip()


def default_database_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'mov.db'}"


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(env: Mapping[str, str], name: str, default: timedelta) -> timedelta:
    """`90s`, `15m`, `24h`, `7d`, or plain seconds."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    unit = raw[-1] if raw[-1] in _UNITS else "s"
    number = raw[:-1] if raw[-1] in _UNITS else raw
    try:
        seconds = int(number) * _UNITS[unit]
    except ValueError:
        raise SettingsError(f"{name} must be a duration such as 24h or 90m, not {raw!r}") from None
    if seconds < 1:
        raise SettingsError(f"{name} must be positive, not {raw!r}")
    return timedelta(seconds=seconds)


def _services(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma list of `SERVICES` (`auth,events`), or `all`; unset or empty: all."""
    raw = env.get(name, "").strip()
    if raw in {"", "all"}:
        return SERVICES
    chosen = {item.strip() for item in raw.split(",") if item.strip()}
    unknown = sorted(chosen - set(SERVICES))
    if unknown:
        raise SettingsError(
            f"{name}: unknown service {unknown[0]!r} (choose from {', '.join(SERVICES)}, or all)"
        )
    return tuple(service for service in SERVICES if service in chosen)


def _networks(env: Mapping[str, str], name: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """A comma list of CIDRs (`10.0.0.0/8, 127.0.0.1`); a bare address is its own network."""
    found = []
    for item in env.get(name, "").split(","):
        if not item.strip():
            continue
        try:
            found.append(ip_network(item.strip(), strict=False))
        except ValueError:
            raise SettingsError(f"{name}: {item.strip()!r} is not an IP network") from None
    return tuple(found)


def _bool(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _limit(env: Mapping[str, str], name: str, default: str) -> RateLimit:
    raw = env.get(name) or default
    try:
        return RateLimit.parse(raw)
    except ValueError:
        raise SettingsError(f"{name} must look like 100/15minutes, not {raw!r}") from None


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = (env.get(name) or default).strip().lower()
    if raw not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, not {raw!r}")
    return raw


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, not {value}")
    return value


def _address(env: Mapping[str, str], name: str, default: str) -> str:
    """`Name <user@host>` or `user@host`."""
    raw = (env.get(name) or default).strip()
    _, address = parseaddr(raw)
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise SettingsError(f"{name} must be an e-mail address such as {default!r}, not {raw!r}")
    return raw


def _http_url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = (env.get(name) or default).strip().rstrip("/")
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise SettingsError(f"{name} must be an http(s) URL such as {default!r}, not {raw!r}")
    return raw
