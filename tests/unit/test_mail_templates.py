"""E-mail templates: every notification type reads right in text and HTML, user text cannot
inject HTML, the unsubscribe link works, and confirmations carry a calendar invitation."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from attrs import evolve
from icalendar import Calendar as ICalendar

from mov_adapters.mail.ics import IcsCalendar
from mov_adapters.mail.message import WIRE_POLICY, to_email
from mov_adapters.mail.templates import WORDING, MailTemplates, when
from mov_adapters.security.unsubscribe import SignedUnsubscribeLinks
from mov_core.domain.events import Event, Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.notifications import Notification, NotificationType
from mov_core.domain.users import Role, User

T = NotificationType
NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
START = datetime(2030, 3, 16, 9, 0, tzinfo=UTC)  # a Saturday
DOMAIN = "mov.example.org"
INVITING = {T.ENROLLMENT_CONFIRMED, T.PROMOTED_FROM_WAITLIST}
LINKS = SignedUnsubscribeLinks("a-test-secret-that-is-32-bytes-or-more", f"https://{DOMAIN}")


def make_event(**overrides: object) -> Event:
    fields: dict[str, object] = {
        "id": 12,
        "organizer_id": 3,
        "title": "Spring Hackathon",
        "description": "Bring a laptop",
        "starts_at": START,
        "ends_at": START + timedelta(hours=8),
        "location": "Main Hall, Building 4",
        "category": "tech",
        "capacity": 50,
        "visibility": Visibility.PUBLIC,
        "waitlist_enabled": True,
        "status": EventStatus.PUBLISHED,
        "created_at": NOW,
        "updated_at": NOW,
        "version": 3,
    }
    return Event(**{**fields, **overrides})


def make_user(first_name: str | None = "Ada", email: str = "ada.lovelace@example.com") -> User:
    return User(
        id=41, email=email, role=Role.PARTICIPANT, first_name=first_name, last_name="Lovelace",
        password_hash="hash", is_active=True, created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def make_notification(kind: T, *, event_id: int | None = 12) -> Notification:
    return Notification(
        "n0tif1cat10n", 41, kind, "Something happened", "Here is what.", event_id, NOW
    )


def templates() -> MailTemplates:
    return MailTemplates(IcsCalendar(DOMAIN), LINKS, DOMAIN, app_url=f"https://{DOMAIN}/")


class _Text(HTMLParser):
    """The text a reader sees in an HTML body, and the links in it."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links += [value or "" for name, value in attrs if name == "href"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def read_html(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


def test_every_notification_type_has_wording():
    assert set(WORDING) == set(NotificationType)


@pytest.mark.parametrize("kind", list(NotificationType))
def test_each_type_names_the_person_the_event_its_date_and_place(kind: T):
    mail = templates().compose(make_notification(kind), make_user(), make_event())

    seen = " ".join(read_html(mail.html or "").text)
    for body in (mail.text, seen):
        assert "Hello Ada," in body
        assert "Spring Hackathon" in body
        assert "Sat 16 Mar 2030, 09:00–17:00 UTC" in body
        assert "Main Hall, Building 4" in body
        assert "Something happened" in body
        assert "Here is what." in body
        assert WORDING[kind].closing in body
    assert "Spring Hackathon" in mail.subject
    assert mail.to == "ada.lovelace@example.com"
    assert mail.message_id == f"<notification.n0tif1cat10n@{DOMAIN}>"
    assert f"https://{DOMAIN}/events/12" in mail.text


def test_subjects_differ_between_types():
    subjects = {
        templates().compose(make_notification(kind), make_user(), make_event()).subject
        for kind in NotificationType
    }

    assert len(subjects) == len(NotificationType)


def test_without_a_first_name_the_mail_greets_the_address_local_part():
    mail = templates().compose(
        make_notification(T.WAITLISTED), make_user(first_name=None), make_event()
    )

    assert "Hello ada.lovelace," in mail.text


def test_without_an_event_the_subject_uses_the_notification_title():
    mail = templates().compose(make_notification(T.ANNOUNCEMENT, event_id=None), make_user(), None)

    assert mail.subject == "Announcement: Something happened"
    assert "When:" not in mail.text
    assert mail.attachments == ()


def test_user_text_is_escaped_in_html_and_kept_in_plain_text():
    evil = '<script>alert("x")</script> & <b>bold</b>'
    event = make_event(title=evil, location='"><img src=x onerror=alert(1)>')
    notification = evolve(make_notification(T.EVENT_UPDATED), title=evil, body=evil)
    user = make_user(first_name="<i>Ada</i>")

    mail = templates().compose(notification, user, event)

    html = mail.html or ""
    assert "<script>" not in html
    assert "<img" not in html
    assert "<i>Ada" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold" in html
    assert set(read_html(html).tags) <= {"html", "head", "meta", "body", "p", "h2", "table",
                                         "tr", "th", "td", "a", "hr", "br"}  # fmt: skip
    assert evil in mail.text


def test_line_breaks_in_a_title_never_reach_the_subject_header():
    event = make_event(title="Line one\r\nBcc: victim@example.com")

    mail = templates().compose(make_notification(T.EVENT_REMINDER), make_user(), event)

    assert "\n" not in mail.subject
    assert "\r" not in mail.subject
    to_email(mail, "MOV <no-reply@mov.example.org>")  # would raise on a line break


@pytest.mark.parametrize("kind", list(NotificationType))
def test_the_unsubscribe_link_turns_off_this_type_for_this_user(kind: T):
    mail = templates().compose(make_notification(kind), make_user(), make_event())

    html_links = read_html(mail.html or "").links
    text_links = re.findall(r"https://\S+/unsubscribe\?token=\S+", mail.text)
    header_link = mail.headers["List-Unsubscribe"].strip("<>")
    assert text_links == [header_link]
    assert header_link in html_links
    token = parse_qs(urlsplit(header_link).query)["token"][0]
    assert LINKS.verify(token) == (41, kind)
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize("kind", list(NotificationType))
def test_a_calendar_invitation_is_attached_to_confirmations_and_promotions_only(kind: T):
    mail = templates().compose(make_notification(kind), make_user(), make_event())

    names = [(a.filename, a.content_type.split(";")[0]) for a in mail.attachments]
    assert names == ([("event.ics", "text/calendar")] if kind in INVITING else [])


@pytest.mark.parametrize("kind", sorted(INVITING, key=lambda k: k.value))
def test_the_invitation_parses_back_with_the_event_start_title_and_uid(kind: T):
    mail = templates().compose(make_notification(kind), make_user(), make_event())

    calendar = ICalendar.from_ical(mail.attachments[0].content)
    (vevent,) = calendar.walk("VEVENT")
    assert vevent.decoded("dtstart") == START
    assert vevent.decoded("dtend") == START + timedelta(hours=8)
    assert str(vevent["summary"]) == "Spring Hackathon"
    assert str(vevent["uid"]) == f"event-12@{DOMAIN}"
    assert str(vevent["status"]) == "CONFIRMED"
    assert str(calendar["method"]) == "PUBLISH"
    assert str(calendar["prodid"]) == "-//MOV//Events//EN"


def test_the_invitation_of_an_event_without_end_lasts_two_hours_and_escapes_text():
    event = make_event(ends_at=None, title="Talks, food; and\\more", version=1)

    (vevent,) = ICalendar.from_ical(IcsCalendar(DOMAIN).event_ics(event)).walk("VEVENT")

    assert vevent.decoded("dtend") - vevent.decoded("dtstart") == timedelta(hours=2)
    assert str(vevent["summary"]) == "Talks, food; and\\more"
    assert vevent.decoded("sequence") == 0


def test_a_canceled_event_is_cancelled_in_the_calendar_with_a_higher_sequence():
    ics = IcsCalendar(DOMAIN)
    before = make_event(version=2)
    after = before.transition(EventStatus.CANCELED, now=NOW + timedelta(days=1))

    (old,) = ICalendar.from_ical(ics.event_ics(before)).walk("VEVENT")
    (new,) = ICalendar.from_ical(ics.event_ics(after)).walk("VEVENT")

    assert str(new["status"]) == "CANCELLED"
    assert new.decoded("sequence") > old.decoded("sequence")
    assert new["uid"] == old["uid"]


def test_long_lines_in_the_invitation_are_folded_at_75_octets():
    event = make_event(description="word " * 200)

    document = IcsCalendar(DOMAIN).event_ics(event)

    assert max(len(line) for line in document.split(b"\r\n")) <= 75


@pytest.mark.parametrize(
    ("starts", "ends", "expected"),
    [
        (START, None, "Sat 16 Mar 2030, 09:00 UTC"),
        (START, START + timedelta(hours=2), "Sat 16 Mar 2030, 09:00–11:00 UTC"),
        (START, START + timedelta(days=1), "Sat 16 Mar 2030, 09:00 – Sun 17 Mar 2030, 09:00 UTC"),
        (START.astimezone(timezone(timedelta(hours=2))), None, "Sat 16 Mar 2030, 09:00 UTC"),
    ],
)
def test_dates_read_in_utc(starts: datetime, ends: datetime | None, expected: str):
    assert when(make_event(starts_at=starts, ends_at=ends)) == expected


def test_the_composed_mail_is_a_well_formed_message():
    mail = templates().compose(make_notification(T.ENROLLMENT_CONFIRMED), make_user(), make_event())

    raw = to_email(mail, "MOV <no-reply@mov.example.org>").as_bytes(policy=WIRE_POLICY)
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["List-Unsubscribe"] == mail.headers["List-Unsubscribe"]
    # verbatim on one line: providers do not decode a URL folded into encoded words
    header_line = f"List-Unsubscribe: {mail.headers['List-Unsubscribe']}\r\n".encode()
    assert header_line in raw
    assert [part.get_content_type() for part in parsed.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/calendar",
    ]  # fmt: skip
