"""UI.md's journeys in headless Chromium: live places, chat, the badge, and without script."""

from __future__ import annotations

import re
from itertools import count

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import PASSWORD, account, enroll, published_event

_n = count()


def _email(name: str) -> str:
    return f"{name}{next(_n)}@example.com"


def test_an_organizer_registers_creates_and_publishes(server, watched):
    organizer = watched(server.base_url)
    page = organizer.page
    page.goto("/register")
    page.get_by_role("textbox", name="Email").fill(_email("olga"))
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("textbox", name="First name").fill("Olga")
    page.get_by_role("radio", name="Organizer").check()
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("link", name="Organize").click()
    page.get_by_role("link", name="New event").click()
    page.get_by_role("textbox", name="Title").fill("Browser Launch Party")
    page.get_by_label("Starts").fill("2031-06-01T19:00")
    page.get_by_role("textbox", name="Location").fill("Lisbon")
    page.get_by_role("combobox", name="Category").fill("social")
    page.get_by_role("spinbutton", name="Capacity").fill("1")
    page.get_by_role("button", name="Create event").click()
    expect(page).to_have_url(re.compile(r"/organize/events/\d+$"))
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published", exact=True)).to_be_visible()
    page.get_by_role("link", name="Events").click()
    expect(page.get_by_role("link", name="Browser Launch Party")).to_be_visible()


def _into_one_seat(base_first: str, base_second: str, watched) -> None:
    owner = account(base_first, _email("host"), "ORGANIZER")
    event_id = published_event(base_first, owner, title="One Seat Only", maxParticipants=1)
    first_email, second_email = _email("ann"), _email("bob")
    account(base_first, first_email)
    account(base_first, second_email)
    first, second = watched(base_first), watched(base_second)
    first.login(first_email)
    first.page.goto(f"/events/{event_id}")
    first.page.get_by_role("button", name="Enroll").click()
    expect(first.page.get_by_role("status", name="Your place")).to_have_text("Enrolled")
    second.login(second_email)
    second.page.goto(f"/events/{event_id}")
    second.page.get_by_role("button", name="Join waitlist").click()
    place = second.page.get_by_role("status", name="Your place")
    expect(place).to_have_text("Waitlisted, position 1")
    second.page.locator('body[data-live="joined"]').wait_for()
    first.page.get_by_role("button", name="Cancel enrollment").click()
    expect(first.page.get_by_role("button", name="Enroll")).to_be_hidden()  # the seat went on
    expect(place).to_have_text("Enrolled")  # live, without a reload
    expect(second.page.get_by_role("status", name="Availability")).to_have_text("Full")
    expect(second.page.get_by_role("button", name="Cancel enrollment")).to_be_visible()


def test_the_waitlisted_participant_sees_the_seat_come_live(server, watched):
    _into_one_seat(server.base_url, server.base_url, watched)


@pytest.mark.integration
def test_the_seat_comes_live_across_two_processes(pair, watched):
    first, second = pair
    _into_one_seat(first.base_url, second.base_url, watched)


def test_two_members_chat_with_typing_and_presence(server, watched):
    base = server.base_url
    owner = account(base, _email("host"), "ORGANIZER")
    event_id = published_event(base, owner, title="Chatty Evening")
    ann, bob = _email("ann"), _email("bob")
    for email, name in ((ann, "Ann"), (bob, "Bob")):
        enroll(base, account(base, email, firstName=name), event_id)
    one, two = watched(base), watched(base)
    for context, email in ((one, ann), (two, bob)):
        context.login(email)
        context.page.goto(f"/events/{event_id}")
        context.page.locator('body[data-live="joined"]').wait_for()
    chat = one.page.get_by_role("region", name="Chat")
    expect(chat.get_by_role("list", name="Online")).to_contain_text("Bob")
    message = two.page.get_by_role("textbox", name="Message")
    message.press_sequentially("Hi Ann")
    expect(one.page.get_by_role("status", name="Typing")).to_contain_text("Bob")
    two.page.get_by_role("button", name="Send").click()
    log = one.page.get_by_role("log", name="Messages")
    expect(log).to_contain_text("Hi Ann")
    expect(log).to_contain_text("Bob")
    expect(two.page.get_by_role("log", name="Messages").locator(".message")).to_have_count(1)
    # a reconnect catches up from the last seq, without duplicates
    one.page.context.set_offline(True)
    two.page.get_by_role("textbox", name="Message").fill("While you were away")
    two.page.get_by_role("button", name="Send").click()
    one.page.context.set_offline(False)
    expect(log).to_contain_text("While you were away", timeout=20_000)
    expect(log.locator(".message")).to_have_count(2)


def test_a_notification_raises_the_badge_live(server, watched):
    base = server.base_url
    owner = account(base, _email("host"), "ORGANIZER")
    event_id = published_event(base, owner, title="Badge Night")
    email = _email("pat")
    participant = watched(base)
    token = account(base, email)
    participant.login(email)
    participant.page.goto("/notifications")
    participant.page.locator('body[data-live="connected"]').wait_for()
    expect(participant.page.get_by_role("link", name="Notifications", exact=True)).to_be_visible()
    enroll(base, token, event_id)  # the worker tells them: confirmed
    expect(participant.page.get_by_role("link", name="Notifications (1 unread)")).to_be_visible()
    expect(participant.page.locator("#notification-list")).to_contain_text("Badge Night")


def test_the_core_journeys_work_without_javascript(server, watched):
    base = server.base_url
    owner_email, email = _email("host"), _email("pat")
    account(base, owner_email, "ORGANIZER")
    account(base, email)
    organizer = watched(base, java_script_enabled=False)
    organizer.login(owner_email)
    page = organizer.page
    page.goto("/organize/events/new")
    page.get_by_role("textbox", name="Title").fill("No Script Social")
    page.get_by_label("Starts").fill("2031-07-01T19:00")
    page.get_by_role("textbox", name="Location").fill("Porto")
    page.get_by_role("combobox", name="Category").fill("social")
    page.get_by_role("spinbutton", name="Capacity").fill("5")
    page.get_by_role("button", name="Create event").click()
    page.get_by_role("button", name="Publish").click()
    participant = watched(base, java_script_enabled=False)
    participant.login(email)
    p = participant.page
    p.goto("/")
    p.get_by_role("link", name="No Script Social").click()
    p.get_by_role("button", name="Enroll").click()
    expect(p.get_by_role("status", name="Your place")).to_have_text("Enrolled")
    p.get_by_role("textbox", name="Message").fill("Hello without script")
    p.get_by_role("button", name="Send").click()
    expect(p.get_by_role("log", name="Messages")).to_contain_text("Hello without script")
    p.get_by_role("button", name="Cancel enrollment").click()
    expect(p.get_by_role("button", name="Enroll")).to_be_visible()
    p.get_by_role("link", name="My enrollments").click()
    expect(p.get_by_role("cell", name="No Script Social")).to_be_visible()


def test_keyboard_alone_logs_in_and_enrolls_with_visible_focus(server, watched):
    base = server.base_url
    owner = account(base, _email("host"), "ORGANIZER")
    event_id = published_event(base, owner, title="Keyboard Club")
    email = _email("kim")
    account(base, email)
    context = watched(base)
    page = context.page
    page.goto("/login")
    page.keyboard.press("Tab")  # the skip link first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "f-email":
            break
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Log out").wait_for()
    page.goto(f"/events/{event_id}")
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Enroll":
            break
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.get_by_role("status", name="Your place")).to_have_text("Enrolled")
