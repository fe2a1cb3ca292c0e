"""The catalogue, an event's page, enrolling, the waitlist, my enrollments, notifications."""

from __future__ import annotations

import re

from tests.web.conftest import eventually


def _status(page: str, name: str) -> str:
    found = re.search(rf'role="status" aria-label="{name}"[^>]*>([^<]*)<', page)
    assert found, f"no status {name!r}"
    return found.group(1)


def test_the_catalogue_lists_published_public_events_with_their_seats(site):
    site.as_user("olga@example.com", "ORGANIZER")
    shown = site.new_event(title="Jazz Night", maxParticipants="3")
    site.new_event(title="Still Planning", publish=False)
    site.new_event(title="Secret Dinner", visibility="PRIVATE")
    site.client.cookies.clear()
    page = site.get("/")
    assert page.status_code == 200
    assert f'<a href="/events/{shown}">Jazz Night</a>' in page.text
    assert "3 of 3 seats left" in page.text
    assert "Still Planning" not in page.text
    assert "Secret Dinner" not in page.text
    assert 'type="search"' in page.text
    assert '<label for="q">Search events</label>' in page.text


def test_search_and_category_filter_the_catalogue(site):
    site.as_user("olga@example.com", "ORGANIZER")
    site.new_event(title="Jazz Night", category="music")
    site.new_event(title="Python Meetup", category="tech")
    assert "Python Meetup" not in site.get("/?q=jazz").text
    assert "Jazz Night" in site.get("/?q=jazz").text
    by_category = site.get("/?category=tech").text
    assert "Python Meetup" in by_category
    assert "Jazz Night" not in by_category
    assert "No events match your search" in site.get("/?q=nothing-like-this").text


def test_more_events_continues_after_the_last_one_shown(site):
    site.as_user("olga@example.com", "ORGANIZER")
    for day in range(1, 15):
        site.new_event(title=f"Event number {day:02d}", date=f"2030-03-{day:02d}T09:00")
    first = site.get("/").text
    titles = re.findall(r"Event number (\d\d)", first)
    assert titles == [f"{d:02d}" for d in range(1, 13)]
    more = re.search(r'href="(/\?[^"]*cursor=[^"]+)">More events', first)
    assert more
    rest = site.get(more.group(1).replace("&amp;", "&")).text
    assert re.findall(r"Event number (\d\d)", rest) == ["13", "14"]
    assert "More events" not in rest
    assert site.get("/?cursor=not-a-cursor").status_code == 200  # a mangled one starts over


def test_two_participants_into_one_seat_and_the_waitlist_moves_up(site):
    site.as_user("olga@example.com", "ORGANIZER")
    event = site.new_event(title="Tiny Workshop", maxParticipants="1")
    site.as_user("ann@example.com")
    page = site.get(f"/events/{event}").text
    assert "<h1>Tiny Workshop</h1>" in page
    assert _status(page, "Availability") == "1 of 1 seats left"
    assert ">Enroll</button>" in page
    assert site.post(f"/events/{event}/enroll", form_of=f"/events/{event}").status_code == 303
    page = site.get(f"/events/{event}").text
    assert _status(page, "Your place") == "Enrolled"
    assert ">Cancel enrollment</button>" in page
    assert _status(page, "Availability") == "Full"

    site.as_user("bob@example.com")
    page = site.get(f"/events/{event}").text
    assert ">Join waitlist</button>" in page
    assert ">Enroll</button>" not in page
    site.post(f"/events/{event}/enroll", form_of=f"/events/{event}")
    page = site.get(f"/events/{event}").text
    assert _status(page, "Your place") == "Waitlisted, position 1"
    assert ">Leave waitlist</button>" in page
    assert _status(page, "Availability") == "Full, 1 on the waitlist"

    site.as_user("ann@example.com")
    site.post(f"/events/{event}/cancel", form_of=f"/events/{event}")
    site.as_user("bob@example.com")
    fragment = site.get(f"/events/{event}/status").text  # what the page's script fetches live
    assert _status(fragment, "Your place") == "Enrolled"
    mine = site.get("/me/enrollments").text
    assert "Tiny Workshop" in mine
    assert "Enrolled" in mine


def test_a_full_event_without_waitlist_offers_nothing_and_refuses_politely(site):
    site.as_user("olga@example.com", "ORGANIZER")
    event = site.new_event(maxParticipants="1", waitlistEnabled="")
    site.as_user("ann@example.com")
    site.post(f"/events/{event}/enroll", form_of=f"/events/{event}")
    site.as_user("bob@example.com")
    page = site.get(f"/events/{event}").text
    assert "Join waitlist" not in page
    assert ">Enroll</button>" not in page
    refused = site.post(f"/events/{event}/enroll", form_of=f"/events/{event}")
    assert refused.status_code == 409
    assert 'role="alert"' in refused.text


def test_markup_in_titles_and_chat_renders_as_text(site):
    site.as_user("olga@example.com", "ORGANIZER")
    event = site.new_event(title="<script>alert(1)</script>")
    site.as_user("ann@example.com")
    site.post(f"/events/{event}/enroll", form_of=f"/events/{event}")
    posted = site.post(
        f"/events/{event}/messages",
        {"body": "<img src=x onerror=alert(1)>"},
        form_of=f"/events/{event}",
    )
    assert posted.status_code == 303
    page = site.get(f"/events/{event}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;script&gt;" in site.get("/").text


def test_members_see_the_chat_and_others_do_not(site):
    site.as_user("olga@example.com", "ORGANIZER")
    event = site.new_event()
    site.as_user("ann@example.com", firstName="Ann")
    assert 'aria-label="Chat"' not in site.get(f"/events/{event}").text
    site.post(f"/events/{event}/enroll", form_of=f"/events/{event}")
    site.post(f"/events/{event}/messages", {"body": "Hello all"}, form_of=f"/events/{event}")
    page = site.get(f"/events/{event}").text
    assert 'aria-label="Chat"' in page
    assert 'role="log" aria-label="Messages"' in page
    assert "Hello all" in page
    assert ">Ann<" in page
    history = site.client.get(f"/events/{event}/messages", headers={"Accept": "application/json"})
    assert [m["body"] for m in history.json()] == ["Hello all"]
    site.as_user("bob@example.com")
    assert site.get(f"/events/{event}/messages").status_code == 403


def test_an_event_one_may_not_see_is_the_404_page(site):
    site.as_user("olga@example.com", "ORGANIZER")
    planning = site.new_event(publish=False)
    private = site.new_event(visibility="PRIVATE")
    site.as_user("ann@example.com")
    for path in (
        f"/events/{planning}",
        f"/events/{private}",
        "/events/999999",
        "/events/abc",
        f"/events/{private}?invite=wrong",
        "/no/such/page",
    ):
        page = site.get(path)
        assert page.status_code == 404, path
        assert "<h1>Page not found</h1>" in page.text
        assert "<title>" in page.text


def test_a_private_event_opens_with_its_invite_link(site):
    site.as_user("olga@example.com", "ORGANIZER")
    private = site.new_event(title="Secret Dinner", visibility="PRIVATE")
    manage = site.get(f"/organize/events/{private}").text
    code = re.search(r"\?invite=([A-Za-z0-9_-]+)", manage).group(1)
    site.as_user("ann@example.com")
    page = site.get(f"/events/{private}?invite={code}")
    assert page.status_code == 200
    assert "Secret Dinner" in page.text
    enrolled = site.post(
        f"/events/{private}/enroll", {"invite": code}, form_of=f"/events/{private}?invite={code}"
    )
    assert enrolled.status_code == 303
    assert site.get(f"/events/{private}").status_code == 200  # a member needs no code


def test_add_to_calendar_downloads_the_event(site):
    site.as_user("olga@example.com", "ORGANIZER")
    event = site.new_event(title="Jazz Night")
    assert "Add to calendar" in site.get(f"/events/{event}").text
    ics = site.get(f"/events/{event}/calendar.ics")
    assert ics.status_code == 200
    assert ics.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "SUMMARY:Jazz Night" in ics.text


def test_notifications_list_mark_read_and_badge(site):
    site.as_user("olga@example.com", "ORGANIZER")
    event = site.new_event(title="Jazz Night")
    site.as_user("ann@example.com")
    site.post(f"/events/{event}/enroll", form_of=f"/events/{event}")
    badge = eventually(lambda: "(1 unread)" in site.get("/notifications/badge").text)
    assert badge
    assert 'Notifications<span class="badge"> (1 unread)</span>' in site.get("/").text
    listed = site.get("/notifications").text
    assert "Jazz Night" in listed
    notification_id = re.search(r'action="/notifications/([^/"]+)/read"', listed).group(1)
    assert (
        site.post(f"/notifications/{notification_id}/read", form_of="/notifications").status_code
        == 303
    )
    assert "unread" not in site.get("/notifications/badge").text


def test_preferences_are_saved_from_the_grid(site):
    site.as_user("ann@example.com")
    page = site.get("/notifications").text
    assert 'name="ANNOUNCEMENT:EMAIL"' in page
    site.post("/notifications/preferences", {"ANNOUNCEMENT:IN_APP": "on"}, form_of="/notifications")
    page = site.get("/notifications").text
    assert re.search(r'name="ANNOUNCEMENT:IN_APP"[^>]*checked', page)
    assert not re.search(r'name="ANNOUNCEMENT:EMAIL"[^>]*checked', page)


def test_every_page_has_a_title_lang_landmarks_a_skip_link_and_security_headers(site):
    site.as_user("olga@example.com", "ORGANIZER")
    event = site.new_event()
    pages = [
        "/",
        f"/events/{event}",
        "/organize",
        "/organize/events/new",
        f"/organize/events/{event}",
        f"/organize/events/{event}/edit",
        "/notifications",
        "/nothing-here",
    ]
    site.client.cookies.clear()
    pages += ["/login", "/register"]
    site.as_user("ann@example.com")
    pages += ["/me/enrollments"]
    for path in pages:
        if path.startswith("/organize"):
            site.as_user("olga@example.com", "ORGANIZER")
        page = site.get(path)
        assert page.status_code in (200, 404), path
        html = page.text
        assert '<html lang="en">' in html
        assert re.search(r"<title>[^<]+</title>", html)
        assert '<main id="main"' in html
        assert 'href="#main">Skip to content' in html
        assert '<nav aria-label="Main">' in html
        csp = page.headers["content-security-policy"]
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        assert "script-src 'self'" in csp
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
    assert site.get("/static/app.css").headers["content-security-policy"]
    assert site.get("/static/favicon.svg").status_code == 200


def test_browser_files_are_linked_by_version_and_cached_for_good_only_at_it(site):
    page = site.get("/").text
    links = re.findall(r'(?:href|src)="(/static/[^"?]+)\?v=([0-9a-f]{8})"', page)
    assert {path for path, _ in links} >= {
        "/static/app.css",
        "/static/live.js",
        "/static/vendor/htmx.min.js",
        "/static/vendor/socket.io.min.js",
    }
    for path, version in links:
        current = site.get(f"{path}?v={version}")
        assert current.status_code == 200, path
        assert current.headers["cache-control"] == "public, max-age=31536000, immutable"
        # no version, or another one: the browser must ask again (an upgrade is never missed)
        assert site.get(path).headers["cache-control"] == "no-cache"
        assert site.get(f"{path}?v=00000000").headers["cache-control"] == "no-cache"
    missing = site.get("/static/nothing.js?v=00000000")
    assert missing.status_code == 404
    assert "immutable" not in missing.headers["cache-control"]
    # pages themselves are never kept by a shared cache
    assert site.get("/").headers["cache-control"] == "private, no-cache"
