"""Settings: read once from `MOV_*` environment variables (CLI flags override), then passed in.

Nothing reads the environment at import time; secrets never have defaults in code.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from attrs import evolve, frozen

from mov_adapters.sql.engine import PoolSettings

JWT_SECRET_FILE = "jwt-secret"  # noqa: S105 - a file name, not a secret
MIN_SECRET_BYTES = 32


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@frozen
class Settings:
    data_dir: Path
    database_url: str
    pool: PoolSettings
    per_event_concurrency: int
    jwt_secret: str | None  # None: generated into (and read from) the data folder

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("MOV_DATA_DIR", "./mov-data"))
        return cls(
            data_dir=data_dir,
            database_url=env.get("MOV_DATABASE_URL") or default_database_url(data_dir),
            pool=PoolSettings(
                size=_int(env, "MOV_DB_POOL_SIZE", 10, minimum=1),
                max_overflow=_int(env, "MOV_DB_MAX_OVERFLOW", 10, minimum=0),
                timeout_s=_int(env, "MOV_DB_POOL_TIMEOUT", 30, minimum=1),
            ),
            per_event_concurrency=_int(env, "MOV_DB_PER_EVENT_CONCURRENCY", 4, minimum=1),
            jwt_secret=env.get("MOV_JWT_SECRET") or None,
        )

    def with_overrides(self, **changes: object) -> Settings:
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
