"""The file mailer: each message is an `.eml` file a mail client opens, written whole, and a
resend of the same message replaces its file instead of adding a copy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from mov_adapters.clock import FrozenClock
from mov_adapters.mail.files import INDEX, FileMailer, slug
from mov_core.ports.errors import Unavailable
from mov_core.ports.infra import Attachment, MailMessage

NOW = datetime(2030, 3, 16, 9, 30, tzinfo=UTC)
FROM = "MOV <no-reply@mov.example.org>"
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


def message(message_id: str = "<notification.abc@mov.example.org>", **overrides) -> MailMessage:
    fields = {
        "to": "ada@example.com",
        "subject": "You're enrolled: Spring Hackathon",
        "text": "Hello Ada,\nSee you there.\n",
        "message_id": message_id,
        "html": "<p>Hello Ada,</p>",
        "attachments": (Attachment("event.ics", "text/calendar; method=PUBLISH", ICS),),
        "headers": {"List-Unsubscribe": "<https://mov.example.org/unsubscribe?token=t>"},
    }
    return MailMessage(**{**fields, **overrides})


def parse(path: Path) -> EmailMessage:
    # parsed with LF line ends, as a mail client reading the file shows it
    parsed = message_from_bytes(path.read_bytes().replace(b"\r\n", b"\n"), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def eml_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.eml"))


def everything_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_a_message_becomes_an_eml_file_that_parses_back(tmp_path: Path):
    folder = tmp_path / "deep" / "mail"  # created with its parents
    mailer = FileMailer(folder, FROM, clock=FrozenClock(NOW))

    await mailer.send(message())

    (path,) = eml_files(folder)
    assert path.name == f"20300316T093000Z_{slug('<notification.abc@mov.example.org>')}.eml"
    parsed = parse(path)
    assert parsed["From"] == FROM
    assert parsed["To"] == "ada@example.com"
    assert parsed["Subject"] == "You're enrolled: Spring Hackathon"
    assert parsed["Message-ID"] == "<notification.abc@mov.example.org>"
    assert parsed["Date"].datetime == NOW
    assert parsed["List-Unsubscribe"] == "<https://mov.example.org/unsubscribe?token=t>"
    assert parsed.get_body(("plain",)).get_content() == "Hello Ada,\nSee you there.\n"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Hello Ada,</p>"
    (ics,) = parsed.iter_attachments()
    assert ics.get_filename() == "event.ics"
    assert ics.get_content_type() == "text/calendar"
    assert ics.get_param("method") == "PUBLISH"
    assert ics.get_payload(decode=True) == ICS


async def test_lines_end_in_crlf_as_rfc_5322_asks(tmp_path: Path):
    mailer = FileMailer(tmp_path, FROM, clock=FrozenClock(NOW))

    await mailer.send(message())

    raw = eml_files(tmp_path)[0].read_bytes()
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")


async def test_a_resend_of_the_same_message_replaces_its_file(tmp_path: Path):
    clock = FrozenClock(NOW)
    mailer = FileMailer(tmp_path, FROM, clock=clock)
    await mailer.send(message(subject="first try"))
    (first,) = eml_files(tmp_path)

    clock.advance(timedelta(minutes=5))
    await mailer.send(message(subject="second try"))

    assert eml_files(tmp_path) == [first]
    assert parse(first)["Subject"] == "second try"
    assert mailer.path_for("<notification.abc@mov.example.org>") == first


async def test_different_messages_get_different_files_even_when_their_ids_read_alike(
    tmp_path: Path,
):
    mailer = FileMailer(tmp_path, FROM, clock=FrozenClock(NOW))

    await mailer.send(message("<a/b@x>"))
    await mailer.send(message("<a?b@x>"))

    assert len(eml_files(tmp_path)) == 2


async def test_no_temporary_file_is_left_behind(tmp_path: Path):
    mailer = FileMailer(tmp_path, FROM, clock=FrozenClock(NOW))

    await mailer.send(message())
    await mailer.ping()

    (written,) = eml_files(tmp_path)
    assert everything_in(tmp_path) == [INDEX, written.name]
    assert everything_in(tmp_path / INDEX) == [written.name.split("_", 1)[1].removesuffix(".eml")]


async def test_a_folder_written_before_the_index_is_indexed_and_its_messages_replaced(
    tmp_path: Path,
):
    key = slug("<notification.abc@mov.example.org>")
    older = tmp_path / f"20300101T000000Z_{key}.eml"
    older.write_bytes(b"Subject: from an older version\r\n\r\n")
    mailer = FileMailer(tmp_path, FROM, clock=FrozenClock(NOW))

    await mailer.send(message(subject="again"))
    await mailer.send(message(subject="and another", message_id="<other@mov.example.org>"))

    assert len(eml_files(tmp_path)) == 2
    assert parse(older)["Subject"] == "again"
    assert mailer.path_for("<notification.abc@mov.example.org>") == older
    assert FileMailer(tmp_path, FROM).path_for("<other@mov.example.org>") is not None


async def test_a_folder_that_cannot_be_created_makes_send_and_ping_unavailable(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    mailer = FileMailer(blocker / "mail", FROM, clock=FrozenClock(NOW))

    with pytest.raises(Unavailable, match="cannot write mail to"):
        await mailer.send(message())
    with pytest.raises(Unavailable, match="cannot write mail to"):
        await mailer.ping()


async def test_ping_creates_the_folder_and_passes_when_it_is_writable(tmp_path: Path):
    mailer = FileMailer(tmp_path / "new", FROM)

    await mailer.ping()

    assert (tmp_path / "new").is_dir()


def test_a_sender_that_is_not_an_address_is_refused():
    with pytest.raises(ValueError, match="not a sender address"):
        FileMailer(Path("mail"), "MOV")


def test_the_header_registry_makes_each_class_once_and_still_follows_its_mapping():
    from email.headerregistry import UnstructuredHeader  # noqa: PLC0415

    from mov_adapters.mail.message import POLICY  # noqa: PLC0415

    registry = POLICY.header_factory
    assert registry["Subject"] is registry["subject"]  # made once, whatever the case
    one_line = registry["List-Unsubscribe"]
    assert one_line.__name__ == "__OneLineHeader"
    assert issubclass(registry["X-Other"], UnstructuredHeader)
