"""The language switch on a 360 px phone (issue 18), in a real browser: adding it keeps the header
to the brand's row and one menu row in both languages (it sits at the end of the brand's row),
so the programme's first session stays in the first screen; on a wide screen it is the menu's
last item. Axe finds no serious issue in the header."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import (  # noqa: F401  (fixtures)
    LiveServer,
    browser,
    demo_databases,
    live_server,
    serious_accessibility_violations,
    server_env,
)

pytestmark = pytest.mark.browser
PROGRAMME = "/g/dont-leave-organise-2021"


def _header(tab: object) -> dict[str, object]:
    return tab.evaluate(  # type: ignore[attr-defined,no-any-return]
        """() => {
          const box = e => e.getBoundingClientRect();
          const header = box(document.querySelector('header.site-header'));
          const brand = box(document.querySelector('header .brand'));
          const menu = [...document.querySelectorAll('header nav li:not(.language-switch)')];
          const sw = document.querySelector('header nav li.language-switch a');
          return {height: header.height, brandTop: brand.top, brandBottom: brand.bottom,
                  menuTops: [...new Set(menu.map(li => Math.round(box(li).top)))],
                  switchTop: box(sw).top, switchBottom: box(sw).bottom, switchRight: box(sw).right,
                  switchHeight: box(sw).height, switchText: sw.innerText,
                  width: document.documentElement.scrollWidth};
        }"""
    )


@pytest.mark.parametrize(("language", "other"), [("en", "Cymraeg"), ("cy", "English")])
def test_the_switch_fits_the_header_on_a_phone(
    live_server: LiveServer,  # noqa: F811 - the fixture
    browser: object,  # noqa: F811 - the fixture
    language: str,
    other: str,
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 640})  # type: ignore[attr-defined]
    tab = context.new_page()
    try:
        tab.goto(f"{live_server.url}{PROGRAMME}?lang={language}")
        header = _header(tab)
        assert header["switchText"] == other
        assert len(header["menuTops"]) == 1  # the menu on one row of its own
        assert header["switchBottom"] <= header["menuTops"][0]  # the switch on the brand's row
        assert header["switchTop"] < header["brandBottom"] and header["switchRight"] <= 360
        assert header["switchHeight"] >= 44  # a thumb-sized target
        assert header["height"] <= 110 and header["width"] <= 360  # no third row, no sideways
        if language == "en":
            first = tab.locator("main li.session h3 a").first.bounding_box()
            assert first is not None and first["y"] + first["height"] <= 640
        assert serious_accessibility_violations(tab) == []
    finally:
        context.close()


def test_the_switch_is_the_last_menu_item_on_a_wide_screen(
    live_server: LiveServer,  # noqa: F811 - the fixture
    browser: object,  # noqa: F811 - the fixture
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    tab = context.new_page()
    try:
        tab.goto(f"{live_server.url}{PROGRAMME}")
        header = _header(tab)
        assert header["menuTops"] == [round(header["switchTop"])]  # one row, switch included
        tab.get_by_role("link", name="Cymraeg").click()
        tab.wait_for_url(f"{live_server.url}{PROGRAMME}")
        assert tab.locator("html").get_attribute("lang") == "cy"
        assert _header(tab)["switchText"] == "English"
    finally:
        context.close()
