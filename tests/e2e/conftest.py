"""Browser tests: a real server process on 127.0.0.1 and Debian's Chromium through Playwright."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import TEST_SECRET
from tests.helpers import REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = REPO / "screenshots"


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str
    workdir: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra GATHERING_* settings for the live server; modules override this fixture."""
    return {}


# Settings the ``demo`` command never reads (it writes the demo network from the database URL and
# the secret key alone): a module that changes only these shares the demo database of the others.
_NOT_READ_BY_DEMO = frozenset(
    {
        "GATHERING_SMTP_HOST",
        "GATHERING_SMTP_PORT",
        "GATHERING_SMTP_STARTTLS",
        "GATHERING_MAIL_FROM",
    }
)


def _live_env(database_url: str, port: int, server_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATHERING_")}
    env.update(
        GATHERING_DATABASE_URL=database_url,
        GATHERING_SECRET_KEY=TEST_SECRET,
        GATHERING_BASE_URL=f"http://127.0.0.1:{port}",
        GATHERING_LOG_LEVEL="warning",
        **server_env,
    )
    return env


@pytest.fixture(scope="session")
def demo_databases() -> dict[object, Path]:
    """SQLite files ``gathering demo`` wrote, one per demo day and server settings (per worker)."""
    return {}


def _demo_database(
    cache: dict[object, Path], tmp_path_factory: pytest.TempPathFactory, server_env: dict[str, str]
) -> Path:
    """``gathering demo`` run as a user runs it, once per day (the demo's next gathering and
    practice evening are placed from the day it is loaded) and per settings it may read; each
    server then starts on its own copy of that file."""
    today = dt.datetime.now(ZoneInfo("Europe/London")).date()
    key = (today, frozenset((k, v) for k, v in server_env.items() if k not in _NOT_READ_BY_DEMO))
    if key not in cache:
        workdir = tmp_path_factory.mktemp("demo")
        path = workdir / "demo.db"
        subprocess.run(
            [sys.executable, "-m", "gathering", "demo"],
            env=_live_env(f"sqlite+aiosqlite:///{path}", _free_port(), server_env),
            cwd=workdir,
            check=True,
            capture_output=True,
            timeout=120,
        )
        cache[key] = path
    return cache[key]


@pytest.fixture
def live_server(
    tmp_path: Path,
    server_env: dict[str, str],
    demo_databases: dict[object, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """``gathering demo`` then ``gathering serve`` on a fresh SQLite file, as a user runs them
    (the demo's file written once per worker and copied: see ``_demo_database``)."""
    port = _free_port()
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    env = _live_env(database_url, port, server_env)
    shutil.copyfile(
        _demo_database(demo_databases, tmp_path_factory, server_env), tmp_path / "live.db"
    )
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gathering", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "server.log").read_text()) from None
                time.sleep(0.05)
        yield LiveServer(url, database_url, tmp_path)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


# Module scope: Playwright's sync API holds an event loop on the main thread while it runs, which
# the async database fixtures of other test modules cannot share.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI is set but Chromium is missing: browser tests cannot be skipped")
        pytest.skip("Chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    tab = context.new_page()
    yield tab
    context.close()


def screenshot(tab: object, name: str, width: int) -> Path:
    """Save a full-page screenshot at ``width`` px and check nothing scrolls sideways."""
    SHOTS.mkdir(exist_ok=True)
    tab.set_viewport_size({"width": width, "height": 900})  # type: ignore[attr-defined]
    overflow = tab.evaluate(  # type: ignore[attr-defined]
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
    path = SHOTS / f"{name}-{width}.png"
    tab.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"


def serious_accessibility_violations(tab: object) -> list[str]:
    """Run axe-core (WCAG 2 A/AA rules) on the page; return serious and critical violations."""
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail("axe-core is missing: run npm ci (make test does)")
        pytest.skip("axe-core not installed (make test runs npm ci)")
    # Served as if from the site itself, so the page's strict CSP stays on during the check.
    tab.route(  # type: ignore[attr-defined]
        "**/__axe__.js",
        lambda route: route.fulfill(path=str(AXE), content_type="application/javascript"),
    )
    tab.add_script_tag(url="/__axe__.js")  # type: ignore[attr-defined]
    result = tab.evaluate(  # type: ignore[attr-defined]
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})"
    )
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}x, e.g. {v['nodes'][0]['target']})"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
