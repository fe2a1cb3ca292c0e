import stat

import pytest
from typer.testing import CliRunner

from mov_adapters.settings import Settings, SettingsError
from mov_cli.main import app

runner = CliRunner()


def test_the_embedded_default_is_a_sqlite_file_in_the_data_folder(tmp_path):
    settings = Settings.from_env({"MOV_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'mov.db'}"
    assert (settings.pool.size, settings.pool.max_overflow, settings.per_event_concurrency) == (
        20, 0, 4,
    )  # fmt: skip


def test_the_environment_sets_the_database_and_pool():
    settings = Settings.from_env(
        {
            "MOV_DATABASE_URL": "postgresql+psycopg://mov@db/mov",
            "MOV_DB_POOL_SIZE": "30",
            "MOV_DB_MAX_OVERFLOW": "0",
        }
    )
    assert settings.database_url == "postgresql+psycopg://mov@db/mov"
    assert (settings.pool.size, settings.pool.max_overflow) == (30, 0)


@pytest.mark.parametrize(
    ("name", "value"), [("MOV_DB_POOL_SIZE", "many"), ("MOV_DB_POOL_SIZE", "0")]
)
def test_a_malformed_setting_names_itself(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_a_jwt_secret_is_generated_once_into_the_data_folder_and_kept_private(tmp_path):
    settings = Settings.from_env({"MOV_DATA_DIR": str(tmp_path / "data")})
    first = settings.token_secret()
    assert len(first) >= 64
    assert settings.token_secret() == first
    mode = (tmp_path / "data" / "jwt-secret").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_a_short_jwt_secret_is_refused():
    with pytest.raises(SettingsError, match="at least 32 bytes"):
        Settings.from_env({"MOV_JWT_SECRET": "short"}).token_secret()


def test_mov_version_prints_the_version():
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.output.startswith("mov ")


def test_mov_db_upgrade_then_current_on_the_embedded_default(tmp_path, monkeypatch):
    monkeypatch.setenv("MOV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MOV_DATABASE_URL", raising=False)
    pending = runner.invoke(app, ["db", "current"])
    assert pending.exit_code == 1
    assert "mov db upgrade" in " ".join(pending.output.split())  # however the console wraps
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert (tmp_path / "data" / "mov.db").exists()
    current = runner.invoke(app, ["db", "current"])
    assert current.exit_code == 0
    assert "up to date" in current.output


def test_mov_db_upgrade_reports_an_unreachable_database_without_a_traceback():
    url = "postgresql+psycopg://mov:hunter2@127.0.0.1:1/mov?connect_timeout=1"
    result = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 1
    assert "upgrade failed" in result.output
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output


def test_a_configuration_error_exits_2(monkeypatch):
    monkeypatch.setenv("MOV_DB_POOL_SIZE", "lots")
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 2
    assert "MOV_DB_POOL_SIZE" in result.output


def test_fast_hashing_is_off_unless_asked_for_and_then_cheap(tmp_path):
    from mov_adapters.bootstrap import build_runtime  # noqa: PLC0415
    from mov_adapters.security.passwords import FAST_COST  # noqa: PLC0415

    base = {"MOV_DATA_DIR": str(tmp_path), "MOV_DATABASE_URL": "memory://"}
    assert not Settings.from_env(base).insecure_fast_hashing
    default = build_runtime(Settings.from_env(base)).services.hasher
    fast = build_runtime(Settings.from_env({**base, "MOV_INSECURE_FAST_HASHING": "true"}))
    assert fast.services.hasher.cost == FAST_COST  # type: ignore[attr-defined]
    assert default.cost != FAST_COST  # type: ignore[attr-defined]


def test_serve_defaults_to_a_process_per_cpu_only_when_they_share_redis(tmp_path, monkeypatch):
    from mov_cli.serve import default_workers  # noqa: PLC0415 - the function under test

    monkeypatch.setattr("os.cpu_count", lambda: 6)
    alone = Settings.from_env({"MOV_DATA_DIR": str(tmp_path)})
    shared = Settings.from_env(
        {"MOV_DATA_DIR": str(tmp_path), "MOV_REDIS_URL": "redis://127.0.0.1:6379/0"}
    )
    assert default_workers(alone) == 1
    assert default_workers(shared) == 6
