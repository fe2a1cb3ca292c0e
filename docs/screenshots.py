"""`nox -s screenshots`: the README's pictures of the web UI, from `mov serve --demo`.

Starts a demo server on a free port of 127.0.0.1, adds a few chat messages and waiting
participants through the API, and photographs the catalogue, an event page with its chat and
an organizer's roster in Debian's Chromium (1280x800) into docs/*.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.server_process import ServerProcess  # noqa: E402

CHROMIUM = "/usr/lib/chromium/chromium"
PASSWORD = "demo-password"  # noqa: S105 - the demo's printed password
SIZE = {"width": 1280, "height": 800}


def token(base: str, email: str) -> str:
    answer = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    answer.raise_for_status()
    return str(answer.json()["data"]["token"])


def event_id(base: str, title: str) -> int:
    events = httpx.get(f"{base}/api/v1/events", params={"limit": 50}).json()["data"]["events"]
    return int(next(e["id"] for e in events if e["title"] == title))


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as data,
        ServerProcess(
            {"MOV_DATA_DIR": data, "MOV_RATE_LIMIT_ENABLED": "false"}, args=("--demo",)
        ) as server,
    ):
        base = server.base_url
        jazz = event_id(base, "Jazz Night")
        for email in ("pat4@demo.mov", "pat5@demo.mov"):  # the last seats went: they wait
            auth = {"Authorization": f"Bearer {token(base, email)}"}
            httpx.post(f"{base}/api/v1/enrollments", json={"eventId": jazz}, headers=auth)
        for email, text in (
            ("pat1@demo.mov", "Who else is coming by train?"),
            ("pat2@demo.mov", "Me! The 18:40 from the central station."),
            ("oscar@demo.mov", "Doors open at 19:30, the quartet starts at 20:00."),
            ("pat3@demo.mov", "See you there 🎷"),
        ):
            auth = {"Authorization": f"Bearer {token(base, email)}"}
            httpx.post(
                f"{base}/api/v1/chat/events/{jazz}/messages", json={"body": text}, headers=auth
            ).raise_for_status()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            shots = [
                (None, "/", "catalogue.png"),
                ("pat1@demo.mov", f"/events/{jazz}", "event-chat.png"),
                ("oscar@demo.mov", f"/organize/events/{jazz}", "organizer-roster.png"),
            ]
            for who, path, name in shots:
                context = browser.new_context(base_url=base, viewport=SIZE)
                if who is not None:
                    context.add_cookies(
                        [{"name": "mov_session", "value": token(base, who), "url": base}]
                    )
                page = context.new_page()
                page.goto(path)
                if path.startswith("/events/"):
                    page.locator('body[data-live="joined"]').wait_for()
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(ROOT / "docs" / name))
                print(f"wrote docs/{name}")
                context.close()
            browser.close()


if __name__ == "__main__":
    main()
