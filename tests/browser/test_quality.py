"""UI.md's quality bars on every page: axe-core, 320 px, no foreign request, no console error
or CSP violation, markup as text, CSRF, 403 and 404."""

from __future__ import annotations

from itertools import count

import httpx
import pytest
from playwright.sync_api import expect
from tests.browser.conftest import AXE, account, enroll, published_event, require_or_skip

_n = count()
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def world(server):
    """An organizer with a published event holding a participant and a message, and a Planning
    event; their e-mails."""
    base = server.base_url
    olga, pat = f"olga{next(_n)}@example.com", f"pat{next(_n)}@example.com"
    owner = account(base, olga, "ORGANIZER", firstName="Olga")
    event_id = published_event(base, owner, title="<script>alert(1)</script> Night")
    planning = httpx.post(
        f"{base}/api/v1/events",
        json={"title": "Hidden Plans", "location": "Rome", "category": "tech",
              "date": "2031-05-01T10:00:00Z", "maxParticipants": 4},
        headers={"Authorization": f"Bearer {owner}"}, timeout=30,
    ).json()["data"]["event"]["id"]  # fmt: skip
    token = account(base, pat, firstName="Pat")
    enroll(base, token, event_id)
    return {"organizer": olga, "participant": pat, "event": event_id, "planning": planning}


def _pages(world: dict) -> dict[str, list[str]]:
    e = world["event"]
    return {
        "anonymous": ["/", "/login", "/register", f"/events/{e}", "/no-such-page", "/schema"],
        "participant": ["/", f"/events/{e}", "/me/enrollments", "/notifications"],
        "organizer": ["/organize", "/organize/events/new", f"/organize/events/{e}",
                      f"/organize/events/{e}/edit"],
    }  # fmt: skip


def _axe(page) -> list[str]:
    if not AXE.is_file():
        require_or_skip(f"axe-core not found at {AXE} (pip install -e . runs npm ci)")
    page.evaluate(AXE.read_text())  # through DevTools: the page's CSP rightly refuses inline code
    result = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))",
        AXE_TAGS,
    )
    return list(result)


@pytest.mark.parametrize("who", ["anonymous", "participant", "organizer"])
def test_every_page_is_accessible_narrow_and_clean(server, world, watched, who):
    context = watched(server.base_url, viewport={"width": 320, "height": 640})
    if who != "anonymous":
        context.login(world[who])
    for path in _pages(world)[who]:
        page = context.page
        page.goto(path)
        page.wait_for_load_state("networkidle")
        if path == "/schema":
            expect(page.locator(".opblock").first).to_be_visible()
            continue  # swagger-ui's own markup is not ours to judge with axe
        assert _axe(page) == [], path
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{path} scrolls sideways at 320 px ({width})"
        assert context.csp_violations() == [], path


def test_markup_in_a_title_and_a_message_renders_as_text(server, world, watched):
    context = watched(server.base_url)
    context.login(world["participant"])
    page = context.page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"/events/{world['event']}")
    page.locator('body[data-live="joined"]').wait_for()
    expect(page.get_by_role("heading", level=1)).to_have_text("<script>alert(1)</script> Night")
    page.get_by_role("textbox", name="Message").fill("<img src=x onerror=alert(1)>")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("log", name="Messages")).to_contain_text("<img src=x onerror=alert(1)>")
    page.reload()
    expect(page.get_by_role("log", name="Messages")).to_contain_text("<img src=x onerror=alert(1)>")
    assert dialogs == []
    assert page.locator("#messages img").count() == 0


def test_a_post_without_the_csrf_token_is_refused(server, world, watched):
    context = watched(server.base_url)
    context.login(world["participant"])
    answer = context.page.request.post("/logout", form={"nothing": "here"})
    assert answer.status == 403
    answer = context.page.request.post(f"/events/{world['event']}/cancel", form={})
    assert answer.status == 403
    context.page.goto("/")
    expect(context.page.get_by_role("button", name="Log out")).to_be_visible()


def test_a_participant_gets_403_on_organizer_pages_and_404_for_hidden_events(
    server, world, watched
):
    context = watched(server.base_url)
    context.login(world["participant"])
    page = context.page
    for path in ("/organize", f"/organize/events/{world['event']}"):
        answer = page.goto(path)
        assert answer.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    for path in (f"/events/{world['planning']}", "/events/987654"):
        answer = page.goto(path)
        assert answer.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
