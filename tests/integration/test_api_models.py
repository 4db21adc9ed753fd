"""The API's models: one definition validates the registration body, writes every answer and
is the OpenAPI document's schema, so the three cannot disagree."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import jsonschema
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette

from gathering.core import schema
from gathering.core.database import Database
from gathering.core.throttles import wait_words
from gathering.demo import NEXT_SLUG
from gathering.programme import api_models as models
from gathering.programme.openapi import document
from gathering.registration.api_rules import FIELDS, THROTTLE_LIMIT, BadRequest, parse_registration
from gathering.registration.form import RegistrationInput
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.statements import statements_run

BASE = "http://127.0.0.1:8000"
REGISTER = f"/api/gatherings/{NEXT_SLUG}/registrations"
FUZZ: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}


def _request_schema() -> jsonschema.Draft202012Validator:
    components = document(BASE)["components"]
    wrapper = {"components": components, "$ref": "#/components/schemas/RegistrationRequest"}
    return jsonschema.Draft202012Validator(wrapper)


def _parsed(body: bytes) -> RegistrationInput | str:
    """The parser's answer: the input, or the BadRequest message (anything else fails)."""
    try:
        return parse_registration(body)
    except BadRequest as error:
        return error.message


# --- the parser never fails in any other way --------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
_text = st.text(max_size=20)
_ids = st.one_of(st.integers(), st.text(max_size=6))
_maps = st.dictionaries(st.text(max_size=8), st.one_of(st.none(), _text), max_size=3)


def _mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a value of the field's own type, sometimes any JSON value."""
    return st.one_of(good, good, good, good, good, _json)


_values = {
    "ticket_type_id": _mostly(st.one_of(st.none(), _ids)),
    "answers": _mostly(st.one_of(st.none(), _maps)),
    "session_ids": _mostly(st.one_of(st.none(), st.lists(_ids, max_size=3))),
    "invite_codes": _mostly(st.one_of(st.none(), _maps)),
    "contact_organisation_ids": _mostly(st.one_of(st.none(), st.lists(_ids, max_size=3))),
    "constituency_match": _mostly(st.one_of(st.none(), st.booleans())),
    "share_access_needs": _mostly(st.one_of(st.none(), st.booleans())),
}
_required = st.fixed_dictionaries({"name": _mostly(_text), "email": _mostly(_text)})
_unknown = st.dictionaries(st.text(max_size=8).filter(lambda k: k not in FIELDS), _json, max_size=2)
_bodies = st.tuples(
    st.one_of(_required, _required, _required, st.fixed_dictionaries({}, optional=_values)),
    st.fixed_dictionaries({}, optional=_values),
    st.one_of(st.just({}), st.just({}), st.just({}), _unknown),
).map(lambda parts: {**parts[0], **parts[1], **parts[2]})


@settings(max_examples=300, **FUZZ)
@given(body=st.one_of(st.binary(max_size=200), _json.map(json.dumps).map(str.encode)))
@example(body=b'{"name": "\\udc00", "email": "a"}')
@example(body=b'{"name": "a", "email": "b", "answers": {"k": -Infinity}}')
@example(body=b"[" * 5000)
def test_any_body_is_an_input_or_a_bad_request(body: bytes) -> None:
    answer = _parsed(body)
    assert isinstance(answer, RegistrationInput) or (isinstance(answer, str) and answer)


@settings(max_examples=400, **FUZZ)
@given(data=_bodies)
@example(data={"name": "a\x00", "email": "b"})
@example(data={"name": "a", "email": "b", "answers": {"k\x00": "v"}})
@example(data={"name": "a", "email": "b", "session_ids": [1, "2"], "answers": {"k": None}})
def test_the_documented_schema_and_the_parser_agree(data: dict[str, Any]) -> None:
    # JSON Schema counts 1.0 as an integer; an id is refused as a float (a client bug).
    ids = [data.get("ticket_type_id")]
    for key in ("session_ids", "contact_organisation_ids"):
        ids += data[key] if isinstance(data.get(key), list) else []
    integral_float = any(isinstance(v, float) and v.is_integer() for v in ids)
    body = json.dumps(data).encode()
    answer = _parsed(body)
    documented = _request_schema().is_valid(data)
    if not integral_float:
        assert isinstance(answer, RegistrationInput) == documented, (data, answer)


def test_a_valid_body_becomes_the_input_the_rules_take() -> None:
    body = {
        "name": "Rosa Example",
        "email": "rosa@example.org",
        "ticket_type_id": 7,
        "answers": {"constituency": "Hove", "dietary": None},
        "session_ids": [12, "13"],
        "invite_codes": {"13": "Zqx-7731"},
        "contact_organisation_ids": None,
        "constituency_match": True,
    }
    assert parse_registration(json.dumps(body).encode()) == RegistrationInput(
        name="Rosa Example",
        email="rosa@example.org",
        ticket_type_id="7",
        answers={"constituency": "Hove", "dietary": ""},
        session_ids=("12", "13"),
        invite_codes={"13": "Zqx-7731"},
        contact_organisation_ids=(),
        constituency_match=True,
        share_access_needs=False,
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"name": "a", "email": "b", "answers": {"k\\u0000": "x"}}', "Each key of answers must"),
        (b'{"name": "a", "email": "b", "invite_codes": {"1": "\\u0000"}}', "Each value of invite"),
        (b'{"name": "a", "email": "b", "contact_organisation_ids": [[1]]}', "Each item of contact"),
        (b'{"name": "a", "email": "b", "zz": 1, "aa": 2}', "Unknown fields: aa, zz. The fields"),
        (b'{"name": "a", "email": "b", "session_ids": [-Infinity]}', "(-Infinity is not JSON)"),
        (b'{"name": "a",\n "email": "b",\n "x" 1}', "expected ':' at line 3 column 6"),
        (b'{"name": "a", "email": "\xc3"}', "encoded as UTF-8"),
        (b"", "ends too soon"),
        (b'{"email": "b"}', "name is required (a string)"),
        (b'{"name": "a", "email": "b", "share_access_needs": 1}', "must be true or false"),
        (b'{"name": "a", "email": "b", "answers": {"k": 1e999}}', "JSON number is out of range"),
    ],
)
def test_a_wrong_shape_is_named_in_the_api_words(body: bytes, message: str) -> None:
    answer = _parsed(body)
    assert isinstance(answer, str) and message in answer, answer


@settings(max_examples=200, **FUZZ)
@given(text=st.text())
def test_answers_are_the_bytes_the_standard_library_wrote(text: str) -> None:
    # The hand-written serialisers used json.dumps(ensure_ascii=False, separators=(",", ":")):
    # same bytes, so clients and their cached ETags see no change.
    model = models.Error(error=text, message="\x00\x1f\x7f\u2028 é 😀" + text)
    expected = json.dumps(
        {"error": model.error, "message": model.message}, ensure_ascii=False, separators=(",", ":")
    )
    assert models.encode(model) == expected.encode()


# --- the endpoint's throttle, on core.throttles --------------------------------------------------


async def _throttle_keys(db: Database) -> list[str]:
    async def _read(conn: AsyncConnection) -> list[str]:
        return list((await conn.execute(sa.select(schema.throttle.c.key))).scalars())

    return await db.read(_read)


@pytest.mark.anyio
async def test_throttle_keeps_no_client_address_and_says_the_wait(
    db: Database, app: Starlette
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    address = "203.0.113.77"
    transport = httpx.ASGITransport(app=app, client=(address, 4321))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        headers = {"content-type": "application/json"}
        for _ in range(THROTTLE_LIMIT):
            assert (await client.post(REGISTER, content=b"{", headers=headers)).status_code == 400
        refused = await client.post(REGISTER, content=b"{", headers=headers)
    assert refused.status_code == 429
    wait = int(refused.headers["retry-after"])
    assert 540 < wait <= 600
    assert refused.json() == {
        "error": "throttled",
        "message": "Too many registrations from this address. "
        f"Please try again in {wait_words(wait)}.",
    }
    keys = await _throttle_keys(db)
    assert [k for k in keys if k.startswith("register-api:")], keys
    # The throttle table names nobody: the address is kept only as a keyed hash.
    assert not [k for k in keys if address in k], keys


# --- the answer tells nobody whether an address is registered ------------------------------------


def _same_work(statements: list[str]) -> list[str]:
    """Statements with how a savepoint ends made one: kept (a new address) or rolled back."""
    return [
        "END SAVEPOINT" if re.match(r"(RELEASE|ROLLBACK TO) SAVEPOINT", s) else s
        for s in statements
    ]


@pytest.mark.anyio
async def test_a_registered_address_runs_the_statements_of_a_new_one(
    db: Database, app: Starlette, client: httpx.AsyncClient
) -> None:
    """Before its 202, the API runs the very statements for an address already registered as
    for a new one (issue 14 #8, argued by statements rather than timed on a shared machine)."""
    await load_demo(db, secret_key=TEST_SECRET)
    form = (await client.get(REGISTER.removesuffix("s"))).json()
    body = {"name": "Rosa Example", "ticket_type_id": form["ticket_types"][0]["id"]}
    headers = {"content-type": "application/json"}
    client.cookies.clear()
    first = await client.post(
        REGISTER, content=json.dumps({**body, "email": "known@example.org"}), headers=headers
    )
    assert first.status_code == 202
    ran: dict[str, tuple[bytes, list[str]]] = {}
    with statements_run(app.state.db) as statements:
        for label, email in (
            ("again, its owner mailed", "known@example.org"),  # once an hour: reads the row
            ("new", "stranger@example.org"),
            ("again", "known@example.org"),
            ("another new", "passer.by@example.org"),
        ):
            statements.clear()
            answer = await client.post(
                REGISTER, content=json.dumps({**body, "email": email}), headers=headers
            )
            assert answer.status_code == 202
            ran[label] = (answer.content, _same_work(statements))
    assert any(s.startswith("INSERT INTO registration") for s in ran["again"][1])
    assert ran["again"] == ran["new"] == ran["another new"]
