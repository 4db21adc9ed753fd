"""Browser tests: a real server process on 127.0.0.1 and Debian's Chromium through Playwright."""

from __future__ import annotations

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


@pytest.fixture
def live_server(tmp_path: Path, server_env: dict[str, str]) -> Iterator[LiveServer]:
    """``gathering demo`` then ``gathering serve`` on a fresh SQLite file, as a user runs them."""
    port = _free_port()
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATHERING_")}
    env.update(
        GATHERING_DATABASE_URL=database_url,
        GATHERING_SECRET_KEY=TEST_SECRET,
        GATHERING_BASE_URL=f"http://127.0.0.1:{port}",
        GATHERING_LOG_LEVEL="warning",
        **server_env,
    )
    subprocess.run(
        [sys.executable, "-m", "gathering", "demo"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=120,
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
                time.sleep(0.2)
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
