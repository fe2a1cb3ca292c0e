"""How fast the web UI's pages load in a browser, against a bare Litestar page in the same run.

Usage: nox -s bench -- web [--loads 5] [--messages 100]

Starts `mov serve --demo` on the embedded SQLite (one process, rate limiting off) and, in its
own process on the same uvicorn options, a bare Litestar app answering a small HTML page from
memory (the ceiling: what a request costs before MOV does anything). Through the API it posts
`--messages` chat messages into one demo event, then measures in Debian's headless Chromium
(Playwright), each load in a fresh browser context (a cold cache: every asset is fetched):

1. /                 the catalogue, anonymous
2. /events/{id}      the event page of a member: the history of the chat, the live script, the
                     Socket.IO connection (the page counts as loaded on the `load` event)
3. bare /            the ceiling

For each: time to first byte and full load (Navigation Timing: `responseStart` and
`loadEventEnd`, from `startTime`), the median of `--loads` after one warm-up load; then each
context loads the page once more, its files now from the browser's cache ("warm"); and the
server's CPU per load (utime + stime from /proc/<pid>/stat, over all the loads, divided by
their number: HTML, assets and the socket's requests included). The same pages fetched
without a browser (the HTML only, 20 times) give the server's own time per render.
Then the size of the browser files in the installed package (what the wheel carries).
The results are written to bench/results/web.json; the last line is
`ratio=<event page full load / bare full load>`.
"""
# ruff: noqa: E402 - the imports must come after the sys.path repair below

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds http.py, which would shadow the standard library's `http` package: drop bench/
# from the path, and add the project root instead (for tests.servers).
_BENCH = Path(__file__).resolve().parent
ROOT = _BENCH.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(ROOT))

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
import zlib
from collections.abc import Callable
from typing import Any, NamedTuple

import httpx
from playwright.sync_api import Browser, Page, sync_playwright
from tests.server_process import ServerProcess
from tests.servers import HOST, free_port

CHROMIUM = "/usr/lib/chromium/chromium"
PASSWORD = "demo-password"  # noqa: S105 - the demo's printed password
MEMBER = "pat1@demo.mov"
EVENT_TITLE = "Jazz Night"
EVENT_PAGE = "event page ({} msgs)"
BARE = "bare Litestar /"
RESULTS = ROOT / "bench" / "results" / "web.json"
TICKS = os.sysconf("SC_CLK_TCK")
BARE_PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Hello</title></head>"
    "<body><main><h1>Hello</h1><p>A bare Litestar page.</p></main></body></html>"
)
NAVIGATION = """() => {
  const [entry] = performance.getEntriesByType("navigation");
  return {ttfb: entry.responseStart - entry.startTime, load: entry.loadEventEnd - entry.startTime};
}"""


# --- the servers ----------------------------------------------------------------------------


def serve_bare(port: int) -> None:
    """The ceiling: one Litestar route answering a fixed HTML page (runs in its own process)."""
    import uvicorn  # noqa: PLC0415 - imported in the server's process only
    from litestar import Litestar, MediaType, get  # noqa: PLC0415

    @get("/", media_type=MediaType.HTML)
    async def hello() -> str:
        return BARE_PAGE

    uvicorn.run(
        Litestar([hello], logging_config=None),
        host=HOST,
        port=port,
        access_log=False,
        log_level="warning",
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )


def wait_ready(url: str, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not alive():
            raise SystemExit(f"the server behind {url} exited before answering")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within 30 s")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


# --- the data -------------------------------------------------------------------------------


def login(base: str, email: str) -> str:
    answer = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    answer.raise_for_status()
    return str(answer.json()["data"]["token"])


def prepare(base: str, messages: int) -> tuple[int, str]:
    """The demo event and a member's token, with `messages` chat messages in its room."""
    events = httpx.get(f"{base}/api/v1/events", params={"limit": 50}).json()["data"]["events"]
    event = int(next(e["id"] for e in events if e["title"] == EVENT_TITLE))
    token = login(base, MEMBER)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        for number in range(messages):
            client.post(
                f"/api/v1/chat/events/{event}/messages",
                json={"body": f"Message {number}: who else is coming by train at 18:40?"},
            ).raise_for_status()
    return event, token


# --- the measurements -----------------------------------------------------------------------


class Target(NamedTuple):
    """One page to load: the server's URL and process, the path, and whose cookie (if any)."""

    name: str
    base: str
    path: str
    pid: int
    token: str | None


def browser_loads(browser: Browser, target: Target, loads: int) -> dict[str, float]:
    """Median TTFB and full load over `loads` cold loads (then one warm load each, from the
    browser's cache), and the server's CPU per load (cold and warm loads together)."""

    base, path, token = target.base, target.path, target.token

    def visit(page: Page) -> dict[str, float]:
        answer = page.goto(path, wait_until="load")
        if answer is None or answer.status != 200:
            raise SystemExit(f"{base}{path} answered {answer and answer.status}")
        timing: dict[str, float] = page.evaluate(NAVIGATION)
        return timing

    def one() -> tuple[dict[str, float], dict[str, float]]:
        context = browser.new_context(base_url=base)
        if token is not None:
            context.add_cookies([{"name": "mov_session", "value": token, "url": base}])
        page = context.new_page()
        cold = visit(page)
        page.goto("about:blank")
        warm = visit(page)
        context.close()
        return cold, warm

    one()  # warm-up: first imports, template compilation, the database's caches
    before = cpu_seconds(target.pid)
    timings = [one() for _ in range(loads)]
    cpu = cpu_seconds(target.pid) - before
    return {
        "ttfb_ms": round(statistics.median(cold["ttfb"] for cold, _ in timings), 1),
        "load_ms": round(statistics.median(cold["load"] for cold, _ in timings), 1),
        "warm_load_ms": round(statistics.median(warm["load"] for _, warm in timings), 1),
        "cpu_ms_per_load": round(cpu * 1000 / (2 * loads), 2),
    }


def html_renders(target: Target) -> dict[str, float]:
    """The HTML alone, 20 times over one connection: the server's own time per render."""
    base, path, pid, token = target.base, target.path, target.pid, target.token
    cookies = {"mov_session": token} if token is not None else {}
    with httpx.Client(base_url=base, cookies=cookies) as client:
        client.get(path).raise_for_status()
        before, times = cpu_seconds(pid), []
        for _ in range(20):
            started = time.perf_counter()
            client.get(path).raise_for_status()
            times.append(time.perf_counter() - started)
        cpu = cpu_seconds(pid) - before
    return {
        "html_p50_ms": round(statistics.median(times) * 1000, 2),
        "html_cpu_ms": round(cpu * 1000 / 20, 2),
    }


def asset_sizes() -> dict[str, int]:
    """The browser files the package carries: bytes as installed and deflated (as in a wheel)."""
    import mov_api  # noqa: PLC0415 - only to find the installed package's folders
    import mov_web  # noqa: PLC0415

    folders = [
        Path(mov_web.__file__).parent / "static",
        Path(mov_api.__file__).parent / "static",
    ]
    files = [f for folder in folders if folder.is_dir() for f in folder.rglob("*") if f.is_file()]
    raw = sum(f.stat().st_size for f in files)
    deflated = sum(len(zlib.compress(f.read_bytes(), 6)) for f in files)
    return {"files": len(files), "bytes": raw, "deflated_bytes": deflated}


def row(name: str, figures: dict[str, float]) -> str:
    return (
        f"{name:<22} ttfb {figures['ttfb_ms']:6.1f} ms  load {figures['load_ms']:6.1f} ms  "
        f"warm {figures['warm_load_ms']:6.1f} ms  "
        f"cpu {figures['cpu_ms_per_load']:6.2f} ms/load   html p50 "
        f"{figures.get('html_p50_ms', float('nan')):6.2f} ms   html cpu "
        f"{figures.get('html_cpu_ms', float('nan')):6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--messages", type=int, default=100)
    options = parser.parse_args()

    bare_port = free_port()
    bare = multiprocessing.get_context("spawn").Process(
        target=serve_bare, args=(bare_port,), daemon=True
    )
    bare.start()
    bare_base = f"http://{HOST}:{bare_port}"
    results: dict[str, Any] = {"loads": options.loads, "messages": options.messages}
    try:
        wait_ready(bare_base + "/", bare.is_alive)
        with (
            tempfile.TemporaryDirectory() as data,
            ServerProcess(
                {"MOV_DATA_DIR": data, "MOV_RATE_LIMIT_ENABLED": "false"},
                args=("--demo", "--workers", "1"),
            ) as server,
        ):
            base, pid = server.base_url, server.pid
            assert pid is not None  # noqa: S101 - started by the context manager
            event, token = prepare(base, options.messages)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM)
                assert bare.pid is not None  # noqa: S101 - started above
                event_page = EVENT_PAGE.format(options.messages)
                targets = [
                    Target("catalogue /", base, "/", pid, None),
                    Target(event_page, base, f"/events/{event}", pid, token),
                    Target(BARE, bare_base, "/", bare.pid, None),
                ]
                for target in targets:
                    figures = browser_loads(browser, target, options.loads)
                    figures |= html_renders(target)
                    results[target.name] = figures
                    print(row(target.name, figures), flush=True)
                browser.close()
    finally:
        bare.terminate()
        bare.join(10)
    results["assets"] = asset_sizes()
    assets = results["assets"]
    print(
        f"browser files: {assets['files']} files, {assets['bytes']:,} bytes "
        f"({assets['deflated_bytes']:,} deflated)"
    )
    event_page = results[EVENT_PAGE.format(options.messages)]
    ceiling = results[BARE]
    results["ratio_event_load_vs_bare"] = round(event_page["load_ms"] / ceiling["load_ms"], 2)
    results["ratio_catalogue_html_cpu_vs_bare"] = round(
        results["catalogue /"]["html_cpu_ms"] / max(ceiling["html_cpu_ms"], 0.01), 1
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    print(f"ratio={results['ratio_event_load_vs_bare']}")


if __name__ == "__main__":
    main()
