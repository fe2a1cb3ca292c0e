"""`mov notifications failed|retry` and the notification settings and wiring, on a temporary
SQLite file through the same composition root as the server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.unit.test_admin_cli import (
    embedded,  # noqa: F401 - the autouse fixture
    make_event,
    make_user,
    mov,
    ok,
    with_runtime,
)

from mov_adapters.bootstrap import Runtime, build_runtime
from mov_adapters.mail.files import FileMailer
from mov_adapters.mail.smtp import SmtpMailer
from mov_adapters.memory.mail import MemoryMailer
from mov_adapters.settings import Settings, SettingsError
from mov_core.domain.notifications import RetryPolicy
from mov_core.domain.users import Role
from mov_core.services.worker import WorkerSettings

pytestmark = pytest.mark.usefixtures("embedded")


def failed_delivery() -> str:
    """An enrollment whose e-mail failed for good; returns its notification id."""
    organizer = make_user("olga@example.com", Role.ORGANIZER)
    participant = make_user("pia@example.com")
    event_id = make_event(organizer)

    async def enroll_and_fail(runtime: Runtime) -> str:
        await runtime.services.enroll(participant, event_id)
        mailer = MemoryMailer()
        mailer.fail_next(1, "550 mailbox unavailable")
        runtime.mailer = mailer
        worker = runtime.worker(
            settings=WorkerSettings(tick_interval=0, retry=RetryPolicy(max_attempts=1))
        )
        await worker.drain_once()
        assert (await worker.deliver_once()).failed == 1
        (failed,) = await runtime.services.notification_store.failed_deliveries()
        return failed.notification_id

    return with_runtime(enroll_and_fail)


def test_failed_deliveries_are_listed_with_their_error_and_retried_by_id() -> None:
    notification_id = failed_delivery()
    listed = ok("notifications", "failed")
    assert notification_id in listed
    assert "550 mailbox unavailable" in listed
    assert "EMAIL" in listed

    assert "1 deliveries queued again" in ok("notifications", "retry", notification_id)
    assert "0 failed deliveries" in ok("notifications", "failed")

    async def send(runtime: Runtime) -> int:
        runtime.mailer = mailer = MemoryMailer()
        report = await runtime.worker().deliver_once()
        assert [m.to for m in mailer.outbox] == ["pia@example.com"]
        return report.sent

    assert with_runtime(send) == 1


def test_retry_all_and_retry_needs_a_choice() -> None:
    failed_delivery()
    refused = mov("notifications", "retry")
    assert refused.exit_code == 2
    assert "--all" in refused.output
    assert "1 deliveries queued again" in ok("notifications", "retry", "--all")
    assert "0 deliveries queued again" in ok("notifications", "retry", "no-such-id")


def test_the_embedded_default_writes_emails_into_the_data_folder(tmp_path) -> None:
    settings = Settings.from_env({"MOV_DATA_DIR": str(tmp_path)})
    runtime = build_runtime(settings)
    assert isinstance(runtime.mailer, FileMailer)
    assert settings.mail_folder == tmp_path / "outbox-mail"
    assert settings.worker_in_server
    assert "mail" not in runtime.checks


def test_an_smtp_url_selects_the_smtp_mailer_and_its_health_check(tmp_path) -> None:
    settings = Settings.from_env({
        "MOV_DATA_DIR": str(tmp_path),
        "MOV_SMTP_URL": "smtp://user:secret@127.0.0.1:2525?starttls=true",
        "MOV_MAIL_FROM": "Events <events@example.org>",
    })  # fmt: skip
    runtime = build_runtime(settings)
    assert isinstance(runtime.mailer, SmtpMailer)
    assert "mail" in runtime.checks


def test_the_clock_and_retry_settings_reach_the_worker(tmp_path) -> None:
    settings = Settings.from_env({
        "MOV_DATA_DIR": str(tmp_path),
        "MOV_REMINDER_LEAD": "2h",
        "MOV_EVENT_DEFAULT_DURATION": "90m",
        "MOV_CLOCK_INTERVAL": "5s",
        "MOV_MAIL_MAX_ATTEMPTS": "4",
        "MOV_MAIL_LEASE": "45s",
        "MOV_OUTBOX_LEASE": "20s",
    })  # fmt: skip
    worker_settings = build_runtime(settings).worker_settings()
    assert worker_settings.clock_rules.reminder_lead == timedelta(hours=2)
    assert worker_settings.clock_rules.default_duration == timedelta(minutes=90)
    assert worker_settings.tick_interval == 5
    assert worker_settings.retry.max_attempts == 4
    assert worker_settings.mail_lease == timedelta(seconds=45)
    assert worker_settings.outbox_lease == timedelta(seconds=20)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MOV_SMTP_URL", "http://mail.example.org"),
        ("MOV_MAIL_FROM", "not an address"),
        ("MOV_PUBLIC_URL", "ftp://example.org"),
        ("MOV_NOTIFICATION_STORE", "cassandra"),
        ("MOV_REMINDER_LEAD", "soon"),
        ("MOV_MAIL_MAX_ATTEMPTS", "0"),
        ("MOV_MAIL_LEASE", "a while"),
        ("MOV_WORKER_IN_SERVER", "maybe"),
    ],
)
def test_a_malformed_notification_setting_names_itself(tmp_path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        build_runtime(Settings.from_env({"MOV_DATA_DIR": str(tmp_path), name: value}))


def test_the_mongo_store_needs_its_url(tmp_path) -> None:
    settings = Settings.from_env({"MOV_DATA_DIR": str(tmp_path), "MOV_NOTIFICATION_STORE": "mongo"})
    with pytest.raises(SettingsError, match="MOV_MONGO_URL"):
        build_runtime(settings)
