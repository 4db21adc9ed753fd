"""Fuzzing a running server (the demo network, on each engine): schemathesis against the OpenAPI
document it serves, and hypothesis on the bodies of the registration form and the organiser's
session editor. Nothing may answer 5xx, a refused form stores nothing, and what is stored is
clean (no control characters, normalised addresses, bounded lengths)."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import shutil
import subprocess
import sys
import unicodedata
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.routing import Mount, Route

from gathering.app import create_app
from gathering.auth.accounts import check_email
from gathering.core import schema
from gathering.core.database import Database
from gathering.core.settings import Settings
from gathering.demo_data import NEXT_SLUG
from gathering.programme.openapi import openapi_document
from tests.conftest import RUN_ID, _pg_execute, _sa_url
from tests.faults.conftest import LiveServer
from tests.helpers import parse_html

NATIONAL = NEXT_SLUG  # open for registration, with questions and ticket types (issue 16)
CONFERENCE = "labour-conference-2019"  # the organiser of LLA edits its sessions
ORGANISER = ("organiser@example.org", "demo-organiser-password")
CASES_PER_OPERATION = 25  # 12 operations: about 300 cases per engine
FORM_EXAMPLES = 60
FUZZ: dict[str, Any] = {
    "deadline": None,
    "database": None,  # no example database written into the working tree
    "suppress_health_check": list(HealthCheck),
}
# Each case comes from its own documentation-range address, so the per-address throttle of
# the registration API does not turn the whole run into 429s (uvicorn trusts X-Forwarded-For
# from 127.0.0.1, as behind the documented reverse proxy).
_ADDRESSES = (f"2001:db8::{n:x}" for n in itertools.count(1))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One database per engine for the whole module (a server start and a demo load each)."""
    if request.param == "sqlite":
        target = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    dsn, template = request.getfixturevalue("pg_template")
    name = f"gathering_fuzz_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_execute(dsn, f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield _sa_url(dsn, name)
    asyncio.run(_pg_execute(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def demo_server(fuzz_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("fuzz-server")
    server = LiveServer(fuzz_db_url, workdir)
    subprocess.run(
        [sys.executable, "-m", "gathering", "demo", "--force"],
        env=server.env(),
        cwd=workdir,
        check=True,
        capture_output=True,
        timeout=180,
    )
    server.start()
    yield server
    server.stop()


def _query(url: str, statement: sa.Select[Any]) -> list[Any]:
    async def _run() -> list[Any]:
        db = Database(url)

        async def _read(conn: AsyncConnection) -> list[Any]:
            return list((await conn.execute(statement)).all())

        try:
            return await db.read(_read)
        finally:
            await db.dispose()

    return asyncio.run(_run())


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch)[0] == "C" for ch in text)


def assert_registrations_clean(url: str) -> None:
    r = schema.registration
    for row in _query(url, sa.select(r.c.name, r.c.email, r.c.answers, r.c.status)):
        if row.status == "anonymised":
            continue
        assert 0 < len(row.name) <= 200 and not _has_control_characters(row.name), row
        assert row.name == " ".join(row.name.split()), row
        assert check_email(row.email) == row.email, row
        assert isinstance(row.answers, dict), row
        for key, value in row.answers.items():
            assert isinstance(value, str) and 0 < len(value) <= 2000, (key, row)
            assert value == value.strip(), (key, row)


# --- schemathesis: the JSON API, from the document the server serves ------------------------------


# The cases are generated from the document as the app builds it; the test first checks that the
# running server serves exactly this document. (schemathesis.pytest.from_fixture would load it
# from the server itself, but its lazy loader needs a pytest internal that pytest 9 removed.)
DOCUMENT_BASE = "http://127.0.0.1:8000"
api = schemathesis.openapi.from_dict(json.loads(openapi_document(DOCUMENT_BASE)))


def test_the_fuzzed_document_is_the_one_served(demo_server: LiveServer) -> None:
    served = httpx.get(f"{demo_server.url}/api/openapi.json", timeout=30).json()
    fuzzed = openapi_document(DOCUMENT_BASE).decode().replace(DOCUMENT_BASE, demo_server.url)
    assert served == json.loads(fuzzed)
    assert len(api.raw_schema["paths"]) == len(served["paths"]) >= 10


@api.parametrize()
@settings(max_examples=CASES_PER_OPERATION, **FUZZ)
def test_api_never_answers_a_server_error(case: Any, demo_server: LiveServer) -> None:
    if "slug" in case.path_parameters and len(str(case.path_parameters["slug"])) % 2:
        # Half the cases on a real gathering, so the handlers past the lookup run too.
        case.path_parameters["slug"] = NATIONAL
    response = case.call(
        base_url=demo_server.url, headers={"x-forwarded-for": next(_ADDRESSES)}, timeout=30
    )
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code == 202:
        assert_registrations_clean(demo_server.database_url)


# --- hypothesis: the registration form ---------------------------------------------------------

_REGISTRATION_KEYS = (
    "name",
    "email",
    "ticket_type_id",
    "session_ids",
    "contact",
    "constituency_match",
    "share_access_needs",
    "answer_constituency",
    "answer_organisation",
    "answer_access_needs",
    "answer_dietary",
    "invite_1",
)


def _counts(url: str) -> tuple[int, ...]:
    tables = (schema.registration, schema.session_place, schema.consent, schema.outbox)
    return tuple(
        _query(url, sa.select(sa.func.count()).select_from(table))[0][0] for table in tables
    )


def _form_choices(client: httpx.Client) -> tuple[list[str], list[str]]:
    form = client.get(f"/api/gatherings/{NATIONAL}/registration").json()
    tickets = [str(t["id"]) for t in form["ticket_types"]]
    sessions = [str(s["id"]) for s in form["sessions"]]
    return tickets, sessions


def _post_form(client: httpx.Client, path: str, pairs: list[tuple[str, str]]) -> httpx.Response:
    """POST repeated and arbitrary fields, encoded as a browser encodes a form."""
    return client.post(
        path,
        content=urlencode(pairs).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )


def _post_raw(client: httpx.Client, path: str, body: bytes) -> httpx.Response:
    return client.post(
        path, content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )


def _token(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return str(parse_html(page.text).xpath("//form//input[@name='csrftoken']/@value")[0])


@pytest.fixture
def browser(demo_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo_server.url, timeout=30) as client:
        yield client


def test_registration_form_answers_every_body_without_a_server_error(
    demo_server: LiveServer, browser: httpx.Client
) -> None:
    logged = len(demo_server.logs())
    path = f"/g/{NATIONAL}/register"
    token = _token(browser, path)
    tickets, sessions = _form_choices(browser)
    text = st.text(max_size=300)
    value = st.one_of(text, st.sampled_from(tickets + sessions + ["", "yes", "0", "-1"]))
    plausible = st.fixed_dictionaries(
        {
            "name": text,
            "email": st.one_of(st.emails(), text),
            "ticket_type_id": st.one_of(st.sampled_from(tickets), text),
            "session_ids": st.one_of(st.sampled_from(sessions), text),
        }
    )
    extra = st.lists(st.tuples(st.one_of(st.sampled_from(_REGISTRATION_KEYS), text), value))
    # Raw bodies too, any bytes (those that are not UTF-8 are refused before the CSRF check: below).
    raw = st.one_of(st.text(max_size=300).map(lambda t: t.encode()), st.binary(max_size=300))

    @settings(max_examples=FORM_EXAMPLES, **FUZZ)
    @given(fields=plausible, more=extra, body=st.one_of(st.none(), raw))
    # NUL and other control characters, which PostgreSQL refuses in text.
    @example(
        fields={
            "name": "Nul\x00l",
            "email": "nul@example.org",
            "ticket_type_id": tickets[0],
            "session_ids": sessions[0],
        },
        more=[("answer_dietary", "a\x00b"), ("answer_access_needs", "\x1b[31m")],
        body=None,
    )
    @example(
        fields={"name": "A", "email": "a\x00@example.org", "ticket_type_id": "", "session_ids": ""},
        more=[],
        body=None,
    )
    def attempt(fields: dict[str, str], more: list[tuple[str, str]], body: bytes | None) -> None:
        before = _counts(demo_server.database_url)
        if body is None:
            answer = _post_form(browser, path, [("csrftoken", token), *fields.items(), *more])
        else:
            answer = _post_raw(browser, path, b"csrftoken=" + token.encode() + b"&" + body)
        assert answer.status_code < 500, answer.text[:500]
        if answer.status_code != 200:
            assert _counts(demo_server.database_url) == before
        else:
            assert_registrations_clean(demo_server.database_url)

    attempt()
    assert "Traceback" not in demo_server.logs()[logged:]


def test_a_form_body_that_is_not_utf8_is_refused_as_a_bad_request(
    demo_server: LiveServer, browser: httpx.Client
) -> None:
    path = f"/g/{NATIONAL}/register"
    token = _token(browser, path)
    before = _counts(demo_server.database_url)
    answer = _post_raw(browser, path, b"csrftoken=" + token.encode() + b"&name=\x80")
    assert answer.status_code == 400
    assert "garbled" in answer.text
    assert _counts(demo_server.database_url) == before


# --- hypothesis: the organiser's session editor -----------------------------------------------


def _session_rows(url: str, session_id: int) -> tuple[Any, ...]:
    s, h, p = schema.programme_session, schema.session_host, schema.session_speaker
    return (
        tuple(_query(url, sa.select(s).where(s.c.id == session_id))),
        tuple(_query(url, sa.select(h).where(h.c.session_id == session_id).order_by(h.c.role))),
        tuple(_query(url, sa.select(p).where(p.c.session_id == session_id).order_by(p.c.position))),
        _query(url, sa.select(sa.func.count()).select_from(s))[0][0],
        _query(url, sa.select(sa.func.count()).select_from(schema.speaker))[0][0],
    )


def _current_form(client: httpx.Client, path: str) -> list[tuple[str, str]]:
    """The editor's own form as a browser would send it back unchanged."""
    doc = parse_html(client.get(path).text)
    [form] = [f for f in doc.xpath("//form") if f.xpath(".//input[@name='title']")]
    return [(k, v) for k, v in form.form_values() if k != "csrftoken"]


def test_session_editor_answers_every_body_without_a_server_error(
    demo_server: LiveServer, browser: httpx.Client
) -> None:
    logged = len(demo_server.logs())
    token = _token(browser, "/signin")
    signed_in = browser.post(
        "/signin",
        data={"csrftoken": token, "email": ORGANISER[0], "password": ORGANISER[1], "next": "/"},
    )
    assert signed_in.status_code == 303
    home = parse_html(browser.get("/organiser").text)
    prefix = f"/organiser/g/{CONFERENCE}/sessions/"
    paths = [urlsplit(href).path for href in home.xpath("//a/@href")]
    [edit_path, *_] = [p for p in paths if p.startswith(prefix) and p[-1].isdigit()]
    session_id = int(edit_path.rsplit("/", 1)[1])
    new_path = prefix + "new"
    token = _token(browser, edit_path)
    baseline = _current_form(browser, edit_path)
    keys = sorted({k for k, _ in baseline} | {"co_host_ids", "speaker_ids", "new_speaker_name"})
    text = st.text(max_size=200)
    changes = st.dictionaries(st.one_of(st.sampled_from(keys), text), text, max_size=5)

    @settings(max_examples=FORM_EXAMPLES, **FUZZ)
    @given(target=st.sampled_from([edit_path, new_path]), change=changes)
    @example(target=edit_path, change={"description": "Tea\x00 and \x07cake"})
    @example(target=new_path, change={"title": "Nul\x00", "new_speaker_name": "A\x00B"})
    @example(target=edit_path, change={"access_note": "\x00", "joining_link": "https://x/\x00"})
    def attempt(target: str, change: dict[str, str]) -> None:
        before = _session_rows(demo_server.database_url, session_id)
        data = [(k, v) for k, v in baseline if k not in change]
        answer = _post_form(browser, target, [("csrftoken", token), *data, *change.items()])
        assert answer.status_code < 500, answer.text[:500]
        if answer.status_code == 303:
            s = schema.programme_session
            for row in _query(demo_server.database_url, sa.select(s.c.title, s.c.description)):
                assert 0 < len(row.title) <= 200 and not _has_control_characters(row.title)
                assert len(row.description) <= 20_000
        else:
            assert _session_rows(demo_server.database_url, session_id) == before

    attempt()
    assert "Traceback" not in demo_server.logs()[logged:]


# --- bad input in the address and the headers (issue 14 #15) ------------------------------------

BEYOND_64_BITS = (str(2**64), str(2**63), "9" * 40)
ADMIN = ("admin@example.org", "demo-admin-password")


def _routes_with_ids() -> list[tuple[str, str]]:
    """(path template, method) of every route of the app that takes an integer id."""
    app = create_app(Settings(database_url="sqlite+aiosqlite:///unused.db", secret_key="x" * 32))
    found: list[tuple[str, str]] = []

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount) and route.name is None:
                walk(route.routes, prefix + route.path)
            elif isinstance(route, Route) and ":int}" in route.path:
                method = "GET" if "GET" in (route.methods or ()) else "POST"
                found.append((prefix + route.path, method))

    walk(app.routes, "")
    return found


def test_ids_beyond_64_bits_are_not_found(demo_server: LiveServer, browser: httpx.Client) -> None:
    """Signed in as the admin (so every guard lets the request reach its query), an id no
    database can hold is a plain 404 on every route, not an OverflowError."""
    logged = len(demo_server.logs())
    token = _token(browser, "/signin")
    signed_in = browser.post(
        "/signin", data={"csrftoken": token, "email": ADMIN[0], "password": ADMIN[1], "next": "/"}
    )
    assert signed_in.status_code == 303
    routes = _routes_with_ids()
    assert len(routes) >= 26
    for template, method in routes:
        for number in BEYOND_64_BITS:
            path = re.sub(r"{\w+:int}", number, template)
            path = path.replace("{slug}", CONFERENCE)
            path = re.sub(r"{\w+}", "x", path)
            if method == "GET":
                answer = browser.get(path)
            else:
                answer = browser.post(path, data={"csrftoken": token})
            assert answer.status_code == 404, (method, path, answer.status_code)
            assert "There is nothing at this address" in answer.text
    assert "Traceback" not in demo_server.logs()[logged:]


NOT_UTF8_COOKIE = b"csrftoken=\xff\xfe\x80; gathering_session=caf\xe9; \xc3\x28=\xa0"


def test_a_cookie_header_that_is_not_utf8_is_ignored(demo_server: LiveServer) -> None:
    """A Cookie header with bytes that are not UTF-8: pages answer as without it, a POST
    carrying it is refused in words, nothing is stored, and nothing ends in a 500."""
    logged = len(demo_server.logs())
    with httpx.Client(base_url=demo_server.url, timeout=30) as client:
        headers = {"cookie": NOT_UTF8_COOKIE}
        for path in ("/", f"/g/{NATIONAL}", f"/g/{NATIONAL}/register", "/signin", "/organiser"):
            answer = client.get(path, headers=headers)
            assert answer.status_code in (200, 303), (path, answer.status_code)
        page = client.get(f"/g/{NATIONAL}/register", headers=headers)
        assert page.status_code == 200
        assert parse_html(page.text).xpath("//form//input[@name='csrftoken']/@value") != [""]
        before = _counts(demo_server.database_url)
        answer = client.post(
            f"/g/{NATIONAL}/register",
            content=b"csrftoken=x&name=A&email=a%40example.org",
            headers={**headers, "content-type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 403
        assert "This form has expired" in answer.text
        assert _counts(demo_server.database_url) == before
    assert "Traceback" not in demo_server.logs()[logged:]
