"""Issue 19's embed acceptance in a real browser: a static page on another origin (a second
server on 127.0.0.1, another port) embeds the script snippet and the iframe snippet; both show
the sessions at 360 px; the script version sets no cookie and asks nothing but the public API."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import lxml.html
import pytest

from tests.e2e.conftest import LiveServer, screenshot, serious_accessibility_violations

pytestmark = pytest.mark.browser
NATIONAL = "dont-leave-organise-2021"
HOST_STYLE = "body { font-family: Georgia, serif; color: rgb(20, 60, 30); margin: 8px; }"


@dataclass(frozen=True)
class HostSite:
    url: str
    pages: dict[str, str]


def _host_pages(live: str) -> dict[str, str]:
    script = (
        f'<div class="gathering-embed" data-gathering="{NATIONAL}" data-track="plenary"></div>\n'
        f'<script src="{live}/embed/v1.js" async></script>'
    )
    iframe = (
        f'<iframe src="{live}/embed/g/{NATIONAL}?theme=dark" title="Programme" width="100%" '
        'height="600" loading="lazy"></iframe>'
    )

    def page(body: str) -> str:
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>A local group</title><style>{HOST_STYLE}</style></head>"
            f"<body><h1>Our local group</h1>{body}</body></html>"
        )

    return {"/script.html": page(script), "/iframe.html": page(iframe)}


@pytest.fixture
def host_site(live_server: LiveServer) -> Iterator[HostSite]:
    """A plain static site on another origin, as a group's own website would be."""
    pages = _host_pages(live_server.url)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            if body is None:
                self.send_error(404)
                return
            data = body.encode()
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HostSite(f"http://127.0.0.1:{server.server_address[1]}", pages)
    finally:
        server.shutdown()
        server.server_close()


def _api_titles(live: str, track: str | None) -> list[str]:
    with urllib.request.urlopen(f"{live}/api/gatherings/{NATIONAL}") as answer:  # noqa: S310
        sessions = json.load(answer)["sessions"]
    return [
        s["title"]
        for s in sessions
        if track is None or (s["track"] is not None and s["track"]["slug"] == track)
    ]


def _embed_page(live: str, query: str) -> lxml.html.HtmlElement:
    with urllib.request.urlopen(f"{live}/embed/g/{NATIONAL}{query}") as answer:  # noqa: S310
        return lxml.html.fromstring(answer.read())


@pytest.fixture
def small_context(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 360, "height": 800})  # type: ignore[attr-defined]
    yield context
    context.close()


def test_script_snippet_renders_sessions_with_no_cookie_and_only_api_requests(
    live_server: LiveServer, host_site: HostSite, small_context: object
) -> None:
    assert urlsplit(host_site.url).port != urlsplit(live_server.url).port
    tab = small_context.new_page()  # type: ignore[attr-defined]
    requests: list[str] = []
    tab.on("request", lambda request: requests.append(request.url))
    tab.goto(f"{host_site.url}/script.html")
    tab.wait_for_selector(".gathering-embed[data-rendered]")
    box = tab.locator(".gathering-embed")
    expected = _api_titles(live_server.url, "plenary")
    assert expected
    titles = box.locator("li.gathering-embed__session > a").all_inner_texts()
    assert titles == expected
    assert box.get_attribute("data-rendered") == str(len(expected))
    # Days and places read as on the embed page of the same track.
    page = _embed_page(live_server.url, "?track=plenary")
    assert box.locator("h3").all_inner_texts() == page.xpath("//section/h2/text()")
    places = box.locator(".gathering-embed__when-where").all_inner_texts()
    assert places == [
        " ".join(p.text_content().split()) for p in page.xpath("//p[@class='embed-when-where']")
    ]
    # The list inherits the host page's fonts and colours (it brings no style of its own).
    title_style = tab.eval_on_selector(
        ".gathering-embed__when-where",
        "e => [getComputedStyle(e).fontFamily, getComputedStyle(e).color]",
    )
    assert title_style == ["Georgia, serif", "rgb(20, 60, 30)"]
    links = box.locator("a").evaluate_all("links => links.map(a => a.href)")
    assert links and all(link.startswith(live_server.url + "/") for link in links)
    screenshot(tab, "reach-embed-script", 360)

    # Every request: the host's page, our script, and the public API; nothing else.
    live = urlsplit(live_server.url)
    ours = [urlsplit(url) for url in requests if urlsplit(url).netloc == live.netloc]
    others = [url for url in requests if urlsplit(url).netloc != live.netloc]
    assert others == [f"{host_site.url}/script.html"]
    assert [u.path for u in ours] == ["/embed/v1.js", f"/api/gatherings/{NATIONAL}"]
    cookies = small_context.cookies([host_site.url, live_server.url])  # type: ignore[attr-defined]
    assert cookies == []
    assert tab.evaluate("document.cookie") == ""


def test_iframe_snippet_shows_the_sessions_in_a_dark_frame(
    live_server: LiveServer, host_site: HostSite, small_context: object
) -> None:
    tab = small_context.new_page()  # type: ignore[attr-defined]
    refused: list[str] = []
    tab.on("console", lambda message: refused.append(message.text))
    tab.goto(f"{host_site.url}/iframe.html")
    frame = tab.frame_locator("iframe")
    frame.locator(".embed-session").first.wait_for()
    titles = frame.locator("a.embed-session-title").all_inner_texts()
    assert titles == _api_titles(live_server.url, None)
    background = frame.locator("html").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(22, 22, 26)"  # the dark theme
    assert not [m for m in refused if "frame" in m.lower()], refused
    screenshot(tab, "reach-embed-iframe", 360)
    cookies = small_context.cookies([host_site.url, live_server.url])  # type: ignore[attr-defined]
    assert cookies == []


def test_other_pages_refuse_to_be_framed_by_another_site(
    live_server: LiveServer, host_site: HostSite, small_context: object
) -> None:
    """The same host page framing a public page that is not an embed gets nothing."""
    tab = small_context.new_page()  # type: ignore[attr-defined]
    host_site.pages["/framed.html"] = (
        f'<!doctype html><iframe src="{live_server.url}/g/{NATIONAL}" title="x"></iframe>'
    )
    blocked: list[str] = []
    tab.on("console", lambda message: blocked.append(message.text))
    tab.goto(f"{host_site.url}/framed.html")
    tab.wait_for_load_state("load")
    (frame,) = tab.frames[1:]
    # Chromium shows its own error page in place of a page whose frame-ancestors refuse us.
    assert frame.url.startswith("chrome-error://"), frame.url
    assert any("frame-ancestors" in m for m in blocked), blocked


def test_snippet_builder_preview_follows_the_choice(
    live_server: LiveServer, small_context: object
) -> None:
    tab = small_context.new_page()  # type: ignore[attr-defined]
    tab.goto(f"{live_server.url}/signin")
    tab.get_by_label("Email address").fill("organiser@example.org")
    tab.get_by_label("Password").fill("demo-organiser-password")
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(f"{live_server.url}/organiser")
    tab.goto(f"{live_server.url}/organiser/embed")
    tab.get_by_label("What to show").select_option(f"t:{NATIONAL}:plenary")
    tab.get_by_label("Dark").check()
    iframe_code = tab.locator("#snippet-iframe").input_value()
    assert f'src="{live_server.url}/embed/g/{NATIONAL}?track=plenary&amp;theme=dark"' in iframe_code
    script_code = tab.locator("#snippet-script").input_value()
    assert f'data-gathering="{NATIONAL}" data-track="plenary"' in script_code
    assert f'<script src="{live_server.url}/embed/v1.js" async></script>' in script_code
    preview = tab.locator("#snippet-iframe-preview")
    assert preview.get_attribute("src") == f"/embed/g/{NATIONAL}?track=plenary&theme=dark"
    tab.wait_for_selector("#snippet-script-preview .gathering-embed[data-rendered]")
    shown = tab.locator("#snippet-script-preview li.gathering-embed__session > a").all_inner_texts()
    assert shown == _api_titles(live_server.url, "plenary")
    framed = tab.frame_locator("#snippet-iframe-preview").locator("a.embed-session-title")
    framed.first.wait_for()
    assert framed.all_inner_texts() == shown
    screenshot(tab, "reach-snippet-builder", 360)
    assert serious_accessibility_violations(tab) == []
    for theme in ("light", "dark"):
        tab.goto(f"{live_server.url}/embed/g/{NATIONAL}?theme={theme}")
        assert serious_accessibility_violations(tab) == [], theme
