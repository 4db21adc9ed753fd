"""Every page in Welsh (issue 18): each HTML page of the app, requested by the visitor who may see
it (nobody, the attendee with their own links, a steward's phone, the host's organiser, the
network admin), read with the language cookie set to ``cy`` — and no sentence of the catalogue
may be left in English on it. New routes are covered without being listed: the route table of
the authorisation matrix (tests/faults/test_authorisation_matrix.py) says who may open each.

The catalogue itself: every msgid has a non-fuzzy Welsh translation, plurals have all six of
Welsh's CLDR forms, and the compiled catalogue picks them at 0, 1, 2, 3, 6 and 11.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import lxml.html
import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from starlette.applications import Starlette

from gathering.core import i18n
from gathering.core.database import Database
from gathering.door import api as steward
from tests import demo_state
from tests.conftest import TEST_SECRET
from tests.faults.test_authorisation_matrix import (
    ENDING,
    KINDS,
    _ids,
    _path,
    _register_someone,
    _visitor,
    app_routes,
    rule_for,
)

pytestmark = pytest.mark.anyio

CATALOGUE = i18n.LOCALE_DIR / "cy" / "LC_MESSAGES" / "messages.po"
TEMPLATE = i18n.LOCALE_DIR / "messages.pot"
# Who opens a page of each kind (tests/faults/test_authorisation_matrix.py's KINDS).
OPENER = {
    "public": "nobody",
    "attendee_secret": "attendee",
    "steward": "steward",
    "any_organiser": "organiser",
    "host": "organiser",
    "admin": "admin",
}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}|%[sd]")


def _catalogue() -> Catalog:
    with CATALOGUE.open("rb") as file:
        return read_po(file, locale="cy")


def _template_ids(path: Path) -> set[tuple[str, str | None]]:
    with path.open("rb") as file:
        return {(repr(m.id), m.context or "") for m in read_po(file) if m.id}


def _english_pieces(message: Message) -> list[str]:
    """The parts of a msgid that would show on a page left untranslated: the text between its
    placeholders and tags, long enough (two words or more) not to match by chance."""
    ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
    strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
    pieces = []
    for msgid in ids:
        for piece in PLACEHOLDER.split(re.sub(r"<[^>]+>", "\0", msgid)):
            for part in piece.split("\0"):
                text = " ".join(part.split()).strip(" .,:;!?()–-")
                if len(text) >= 10 and " " in text and not any(text in s for s in strings):
                    pieces.append(text)
    return pieces


def _visible_text(page: lxml.html.HtmlElement) -> str:
    """What a reader sees or hears: text outside scripts and styles, and the attributes that
    screen readers and forms show, without content marked as another language (organisers'
    own titles and descriptions, which are in the language they wrote them), marked as not to
    be translated (people's names), or typed into fields."""
    for element in page.xpath(
        "//script|//style|//template|//textarea|//*[@lang and @lang!='cy']|//*[@translate='no']"
    ):
        if element is not page:
            element.drop_tree()
    # A button's value is the page's words; a text field's is what someone typed (data).
    buttons = "//input[@type='submit' or @type='button' or @type='reset']/@value"
    attributes = page.xpath(f"//@aria-label|//@title|//@placeholder|//@alt|{buttons}")
    return " ".join(" ".join(str(t) for t in [page.text_content(), *attributes]).split())


def test_every_message_has_a_welsh_translation() -> None:
    catalogue = _catalogue()
    template = _template_ids(TEMPLATE)
    welsh = {(repr(m.id), m.context or ""): m for m in catalogue if m.id}
    assert template <= set(welsh), f"not in cy: {sorted(template - set(welsh))[:20]}"
    fuzzy = [m.id for m in welsh.values() if m.fuzzy]
    assert not fuzzy, f"fuzzy: {fuzzy[:20]}"
    empty = [
        m.id
        for m in welsh.values()
        if not (all(m.string) if isinstance(m.string, (list, tuple)) else m.string)
    ]
    assert not empty, f"{len(empty)} untranslated, e.g. {empty[:20]}"
    plurals = [m for m in welsh.values() if isinstance(m.id, (list, tuple))]
    assert plurals, "the catalogue has no plural messages"
    assert all(len(m.string) == 6 for m in plurals)


def test_the_catalogue_has_welsh_plural_rules_and_picks_each_form() -> None:
    catalogue = _catalogue()
    assert catalogue.num_plurals == 6
    expected = Locale.parse("cy").plural_form  # CLDR: zero one two few many other
    forms = ["zero", "one", "two", "few", "many", "other"]
    welsh = i18n.translations("cy")
    plural = next(m for m in catalogue if m.id and isinstance(m.id, (list, tuple)))
    singular, plural_id = plural.id[0], plural.id[1]
    for n in (0, 1, 2, 3, 6, 11):
        index = forms.index(expected(n))
        assert welsh.ngettext(singular, plural_id, n) == plural.string[index], n
    assert [forms.index(expected(n)) for n in (0, 1, 2, 3, 6, 11)] == [0, 1, 2, 3, 4, 5]


def test_the_template_lists_what_the_code_says() -> None:
    """``make messages`` was run: every msgid the tree has is in messages.pot, and no other."""
    from babel.messages.frontend import CommandLineInterface

    root = Path(__file__).resolve().parents[2]
    out = root / ".pytest-messages.pot"
    try:
        CommandLineInterface().run(
            [
                "pybabel",
                "--quiet",
                "extract",
                "--mapping-file",
                str(root / "babel.cfg"),
                "--keywords",
                "N_",
                "--ignore-dirs",
                ".*",  # as the Makefile: Babel would skip templates/_macros
                "--output-file",
                str(out),
                str(root / "gathering"),
                str(root / "templates"),
            ]
        )
        fresh = _template_ids(out)
    finally:
        out.unlink(missing_ok=True)
    kept = _template_ids(TEMPLATE)
    assert fresh == kept, (sorted(fresh - kept)[:10], sorted(kept - fresh)[:10])


async def test_every_page_reads_in_welsh(
    db: Database, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(steward, "STREAM_SECONDS", 0.0)
    logins = await demo_state.load_demo(db, secret_key=TEST_SECRET)
    transport = httpx.ASGITransport(app=app)
    await _register_someone(transport)
    ids = await _ids(db, logins, app)
    pieces = {piece: m.id for m in _catalogue() if m.id for piece in _english_pieces(m)}
    assert len(pieces) > 200  # the catalogue is the whole service's, not a sample

    routes = [
        route
        for route in app_routes(app.routes)
        if "GET" in (route.methods or {"GET"}) and route.name not in ENDING
    ]
    clients: dict[str, tuple[httpx.AsyncClient, str]] = {}
    checked: list[str] = []
    left: list[str] = []
    try:
        for route in routes:
            kind = rule_for(route.name, "GET")
            assert kind is not None, route.name
            visitor = OPENER[kind]
            assert visitor in KINDS[kind]
            if visitor not in clients:
                client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")
                client.cookies.set(i18n.COOKIE, "cy")
                clients[visitor] = (client, await _visitor(client, visitor, ids))
            client, _ = clients[visitor]
            path = _path(route, ids, visitor)
            response = await client.get(path)
            assert response.status_code < 500, (path, response.text[:300])
            if not response.headers.get("content-type", "").startswith("text/html"):
                continue
            if response.status_code >= 300:
                continue
            page = lxml.html.fromstring(response.text)
            said = (response.headers.get("content-language"), page.get("lang"))
            if said != ("cy", "cy"):
                left.append(f"{path} ({route.name}): Content-Language and lang are {said}")
            text = _visible_text(page)
            checked.append(route.name)
            left.extend(f"{path} ({route.name}): {piece!r}" for piece in pieces if piece in text)
    finally:
        for client, _ in clients.values():
            await client.aclose()
    assert len(checked) > 40, checked
    assert not left, f"English left on Welsh pages ({len(left)}):\n" + "\n".join(left[:60])
