"""Organizers' pages: the dashboard, the event form with the core's errors, the lifecycle
buttons of the state table, the roster, removing, resizing, announcing, the CSV."""

from __future__ import annotations

import csv
import io
import re

from tests.web.conftest import eventually


def _buttons(page: str) -> list[str]:
    return re.findall(r'<button type="submit" class="(?:primary|danger)">([^<]+)</button>', page)


def test_a_participant_gets_the_403_page_on_organizer_pages(site):
    site.as_user("olga@example.com", "ORGANIZER")
    event = site.new_event()
    site.as_user("ann@example.com")
    for path in (
        "/organize",
        "/organize/events/new",
        f"/organize/events/{event}",
        f"/organize/events/{event}/edit",
        f"/organize/events/{event}/roster.csv",
    ):
        page = site.get(path)
        assert page.status_code == 403, path
        assert "<h1>Not allowed</h1>" in page.text
    assert (
        site.post(
            f"/organize/events/{event}/status",
            {"status": "Canceled", "confirm": "yes"},
            form_of="/",
        ).status_code
        == 403
    )


def test_another_organizers_event_is_not_yours_to_manage(site):
    site.as_user("olga@example.com", "ORGANIZER")
    event = site.new_event()
    site.as_user("oscar@example.com", "ORGANIZER")
    assert site.get(f"/organize/events/{event}").status_code == 403
    planning = None
    site.as_user("olga@example.com", "ORGANIZER")
    planning = site.new_event(publish=False)
    site.as_user("oscar@example.com", "ORGANIZER")
    assert site.get(f"/organize/events/{planning}").status_code == 404


def test_the_form_shows_the_cores_errors_next_to_each_field(site):
    site.as_user("olga@example.com", "ORGANIZER")
    answer = site.post(
        "/organize/events/new",
        {
            "title": "ab",
            "date": "2020-01-01T10:00",
            "endDate": "2019-01-01T10:00",
            "location": "",
            "category": "tech",
            "maxParticipants": "0",
            "visibility": "PUBLIC",
            "tz": "UTC",
        },
        form_of="/organize/events/new",
    )
    assert answer.status_code == 400
    for name in ("title", "date", "location", "maxParticipants"):
        assert re.search(
            rf'id="f-{name}"[^>]*aria-invalid="true" aria-describedby="e-{name}"', answer.text
        ), name
    assert "Event date must be in the future" in answer.text
    assert 'value="ab"' in answer.text
    assert "Create event" in answer.text
    not_a_number = site.post(
        "/organize/events/new",
        {"title": "Fine title", "maxParticipants": "lots"},
        form_of="/organize/events/new",
    )
    assert "Capacity must be a whole number" in not_a_number.text
    assert "Starts is required" in not_a_number.text
    assert "Tech" not in site.get("/organize").text  # nothing was created


def test_the_form_means_the_zone_it_names(site):
    site.as_user("olga@example.com", "ORGANIZER")
    event = site.new_event(date="2030-03-15T18:00", tz="Europe/Berlin", publish=False)
    edit = site.get(f"/organize/events/{event}/edit").text
    assert 'value="2030-03-15T17:00"' in edit  # shown in UTC, the script turns it local
    assert "Save changes" in edit
    saved = site.post(
        f"/organize/events/{event}/edit",
        {
            "title": "Renamed meetup",
            "date": "2030-03-15T17:00",
            "location": "Berlin",
            "category": "tech",
            "maxParticipants": "7",
            "visibility": "PUBLIC",
            "tz": "UTC",
        },
        form_of=f"/organize/events/{event}/edit",
    )
    assert saved.status_code == 303
    page = site.get(f"/organize/events/{event}").text
    assert "Renamed meetup" in page
    assert 'datetime="2030-03-15T17:00:00.000Z"' in page


def test_create_leads_to_the_organizer_page_with_the_lifecycle_of_the_state_table(site):
    site.as_user("olga@example.com", "ORGANIZER")
    created = site.post(
        "/organize/events/new",
        {
            "title": "Jazz Night",
            "date": "2030-03-15T18:00",
            "location": "Vienna",
            "category": "music",
            "maxParticipants": "3",
            "visibility": "PUBLIC",
            "waitlistEnabled": "on",
            "tz": "UTC",
        },
        form_of="/organize/events/new",
    )
    path = created.headers["location"]
    assert re.fullmatch(r"/organize/events/\d+", path)
    event = int(path.rsplit("/", 1)[1])
    assert _buttons(site.get(path).text) == ["Publish", "Cancel event"]
    site.post(f"{path}/status", {"status": "Published"}, form_of=path)
    assert _buttons(site.get(path).text) == ["Start", "Cancel event"]
    assert "Jazz Night" in site.get("/organize").text
    confirm = site.post(f"{path}/status", {"status": "Canceled"}, form_of=path)
    assert confirm.status_code == 200
    assert "Yes, cancel the event" in confirm.text
    assert "Published" in site.get(path).text  # asking did not cancel
    site.post(f"{path}/status", {"status": "Canceled", "confirm": "yes"}, form_of=path)
    page = site.get(path).text
    assert _buttons(page) == []
    assert "Canceled" in page
    wrong = site.post(f"/organize/events/{event}/status", {"status": "Running"}, form_of=path)
    assert wrong.status_code == 409
    assert 'role="alert"' in wrong.text


def test_the_roster_lists_seats_and_the_waitlist_in_order_and_removes(site):
    site.as_user("olga@example.com", "ORGANIZER")
    event = site.new_event(maxParticipants="1")
    for name in ("Ann", "Bob", "Cid"):
        site.as_user(f"{name.lower()}@example.com", firstName=name)
        site.post(f"/events/{event}/enroll", form_of=f"/events/{event}")
    site.as_user("olga@example.com", "ORGANIZER")
    page = site.get(f"/organize/events/{event}").text
    enrolled, waitlist = page.split('aria-label="Waitlist"')
    assert "Ann" in enrolled.split('aria-label="Enrolled"')[1]
    assert re.findall(r"<td>(\d)</td><td>(\w+)</td>", waitlist) == [("1", "Bob"), ("2", "Cid")]
    assert "Download CSV" in page
    ann = re.search(r'action="/organize/events/\d+/remove/(\d+)"', enrolled).group(1)
    site.post(f"/organize/events/{event}/remove/{ann}", form_of=f"/organize/events/{event}")
    page = site.get(f"/organize/events/{event}").text
    enrolled, waitlist = page.split('aria-label="Waitlist"')
    assert "Bob" in enrolled
    assert re.findall(r"<td>(\d)</td><td>(\w+)</td>", waitlist) == [("1", "Cid")]


def test_resize_promotes_and_refuses_below_the_enrolled(site):
    site.as_user("olga@example.com", "ORGANIZER")
    event = site.new_event(maxParticipants="1")
    for name in ("ann", "bob"):
        site.as_user(f"{name}@example.com")
        site.post(f"/events/{event}/enroll", form_of=f"/events/{event}")
    site.as_user("olga@example.com", "ORGANIZER")
    grown = site.post(
        f"/organize/events/{event}/resize",
        {"maxParticipants": "2"},
        form_of=f"/organize/events/{event}",
    )
    assert grown.status_code == 303
    assert "2 of 2 enrolled" in site.get(f"/organize/events/{event}").text
    shrunk = site.post(
        f"/organize/events/{event}/resize",
        {"maxParticipants": "1"},
        form_of=f"/organize/events/{event}",
    )
    assert shrunk.status_code == 409
    assert 'aria-describedby="e-maxParticipants"' in shrunk.text
    assert (
        site.post(
            f"/organize/events/{event}/resize",
            {"maxParticipants": "x"},
            form_of=f"/organize/events/{event}",
        ).status_code
        == 409
    )


def test_the_csv_escapes_cells_that_a_spreadsheet_would_run(site):
    site.as_user("olga@example.com", "ORGANIZER")
    event = site.new_event()
    site.as_user("eve@example.com", firstName='=HYPERLINK("http://x")', lastName="@SUM(A1)")
    site.post(f"/events/{event}/enroll", form_of=f"/events/{event}")
    site.as_user("olga@example.com", "ORGANIZER")
    answer = site.get(f"/organize/events/{event}/roster.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["status", "waitlist position", "name", "user id", "since"]
    assert rows[1][2].startswith("'=HYPERLINK")
    assert rows[1][0] == "ENROLLED"


def test_an_announcement_reaches_the_enrolled_as_a_notification(site):
    site.as_user("olga@example.com", "ORGANIZER")
    event = site.new_event(title="Jazz Night")
    site.as_user("ann@example.com")
    site.post(f"/events/{event}/enroll", form_of=f"/events/{event}")
    eventually(lambda: "(1 unread)" in site.get("/notifications/badge").text)
    site.post("/notifications/read-all", form_of="/notifications")
    site.as_user("olga@example.com", "ORGANIZER")
    empty = site.post(
        f"/organize/events/{event}/announce",
        {"announcement": ""},
        form_of=f"/organize/events/{event}",
    )
    assert empty.status_code == 409
    assert 'aria-describedby="e-announcement"' in empty.text
    sent = site.post(
        f"/organize/events/{event}/announce",
        {"announcement": "Doors open at 7"},
        form_of=f"/organize/events/{event}",
    )
    assert sent.status_code == 200
    assert "Announcement sent to 1 people." in sent.text
    site.as_user("ann@example.com")
    assert eventually(lambda: "(1 unread)" in site.get("/notifications/badge").text)
    assert "Doors open at 7" in site.get("/notifications").text
