"""Registering through the JSON API: the request body, and a throttle per client address.

The registration itself is ``registering.accept`` then ``record``, the same as the page's:
this module only turns the body into a ``RegistrationInput`` and counts attempts per client
address (``core.throttles.Throttled`` past the limit, with the app's one wait formula).

The body is decoded and type-checked in one pass by msgspec against ``RegistrationRequest``
(``gathering.registration.api_models``). Anything that is not that shape is a ``BadRequest``,
so a client bug is told apart from a person's correctable mistake (``InvalidInput``, from
``registering.accept``); its message names the field and what it must be, in words taken from the
model's own types, never a 500 whatever the bytes.
"""

from __future__ import annotations

import datetime as dt
import re

import msgspec
from msgspec import inspect
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import throttles
from gathering.core.clock import utc_now
from gathering.core.database import Database
from gathering.core.errors import GatheringError
from gathering.registration import limits
from gathering.registration.api_models import RegistrationRequest
from gathering.registration.form import RegistrationInput

THROTTLE_LIMIT = 30  # attempts per client address per window, successful or not
THROTTLE = throttles.AttemptRate(
    name="register-api",
    limit=THROTTLE_LIMIT,
    window=dt.timedelta(minutes=10),
    refusal="Too many registrations from this address. Please try again in {wait}.",
)

FIELDS: tuple[str, ...] = RegistrationRequest.__struct_fields__
_DECODER = msgspec.json.Decoder(RegistrationRequest)


class BadRequest(GatheringError):
    """The body is not what the API takes (not JSON, wrong types): a bug in the calling code."""

    code = "bad_request"


async def count_attempt(
    db: Database, secret_key: str, client_address: str, *, now: dt.datetime | None = None
) -> None:
    """Count one registration attempt from ``client_address``; ``Throttled`` past the limit.
    Counted in its own unit, so a failed attempt still counts. The address is kept only as a
    keyed hash, as the form's limits keep it."""
    client = limits.subject(secret_key, "client", client_address)

    async def _hit(conn: AsyncConnection) -> None:
        await throttles.count_attempt(conn, THROTTLE, client, now or utc_now())

    await db.write(_hit, serializable=False)


def parse_registration(body: bytes) -> RegistrationInput:
    """The JSON body as a ``RegistrationInput``; BadRequest naming what is wrong.

    Only the shape is checked here; what the values mean (a valid email, a ticket type this
    gathering offers, required answers, lengths) is ``registering.accept``'s, as InvalidInput.
    """
    try:
        request = _DECODER.decode(body)
    except msgspec.ValidationError as error:
        raise BadRequest(_wrong_shape(str(error), body)) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise BadRequest(_not_json(str(error), body)) from None
    except RecursionError:  # nesting too deep, should a later field type ever nest
        raise BadRequest("The body is not JSON this API can read.") from None
    return RegistrationInput(
        name=request.name,
        email=request.email,
        ticket_type_id="" if request.ticket_type_id is None else str(request.ticket_type_id),
        answers=_texts(request.answers),
        session_ids=tuple(str(item) for item in request.session_ids or ()),
        invite_codes=_texts(request.invite_codes),
        contact_organisation_ids=tuple(
            str(item) for item in request.contact_organisation_ids or ()
        ),
        constituency_match=bool(request.constituency_match),
        share_access_needs=bool(request.share_access_needs),
    )


def _texts(value: dict[str, str | None] | None) -> dict[str, str]:
    return {key: text or "" for key, text in (value or {}).items()}


# --- the API's words for what msgspec found ------------------------------------------------


def _kinds(kind: inspect.Type) -> list[inspect.Type]:
    """The types a value may have: descriptions unwrapped, unions flattened, null left out."""
    if isinstance(kind, inspect.Metadata):
        return _kinds(kind.type)
    if isinstance(kind, inspect.UnionType):
        return [k for member in kind.types for k in _kinds(member)]
    return [] if isinstance(kind, inspect.NoneType) else [kind]


def _shape(kind: inspect.Type) -> tuple[str, str]:
    """What a value of ``kind`` must be, in the API's words: (one, several)."""
    kinds = _kinds(kind)
    if len(kinds) != 1:  # int | str: an id, as a JSON integer or a string of digits
        return "an integer id", "integer ids"
    [kind] = kinds
    if isinstance(kind, inspect.StrType):
        return "a string", "strings"
    if isinstance(kind, inspect.BoolType):
        return "true or false", "true or false"
    if isinstance(kind, inspect.ListType):
        return f"an array of {_shape(kind.item_type)[1]}", "arrays"
    if isinstance(kind, inspect.DictType):
        return f"an object whose values are {_shape(kind.value_type)[1]}", "objects"
    return "a value of another type", "values of another type"


def _parts(kind: inspect.Type) -> dict[str, str]:
    """What the field itself, an item of it, a key and a value of it must be."""
    shapes = {"whole": _shape(kind)[0], "key": "a string"}
    for one in _kinds(kind):
        if isinstance(one, inspect.ListType):
            shapes["item"] = _shape(one.item_type)[0]
        if isinstance(one, inspect.DictType):
            shapes["value"] = _shape(one.value_type)[0]
    return shapes


_REQUEST_INFO = inspect.type_info(RegistrationRequest)
assert isinstance(_REQUEST_INFO, inspect.StructType)
_WORDS = {field.name: _parts(field.type) for field in _REQUEST_INFO.fields}
_SUBJECT = {
    "whole": "{field}",
    "item": "Each item of {field}",
    "value": "Each value of {field}",
    "key": "Each key of {field}",
}
# msgspec ends a message with where it found the problem: " - at `$.name`", "`$.ids[0]`",
# "`$.answers[...]`" (a value of a map), or "`key` in `$.answers`".
_WHERE = re.compile(r"(?P<key>`key` in )?`\$\.(?P<field>\w+)(?P<index>\[[^\]]*\])?`")
_QUOTED = re.compile(r"`([^`]*)`")


def _wrong_shape(message: str, body: bytes) -> str:
    what, _, where = message.partition(" - at ")
    found = _WHERE.fullmatch(where)
    if found is None or found["field"] not in _WORDS:
        return _wrong_body(what, body)
    field = found["field"]
    part = "key" if found["key"] else ("whole" if not found["index"] else "")
    part = part or ("value" if found["index"] == "[...]" else "item")
    subject = _SUBJECT[part].format(field=field)
    shape = _WORDS[field].get(part, _WORDS[field]["whole"])
    if "matching regex" in what:
        return f"{subject} must not contain NUL characters."
    if "out of range" in what:
        return f"{subject} must be {shape}: this JSON number is out of range."
    return f"{subject} must be {shape}."


def _wrong_body(what: str, body: bytes) -> str:
    """Messages about the body as a whole: not an object, a field missing or unknown."""
    named = _QUOTED.search(what)
    if what.startswith("Object missing required field") and named and named[1] in _WORDS:
        return f"{named[1]} is required ({_WORDS[named[1]]['whole']})."
    if what.startswith("Object contains unknown field") and named:
        unknown = _unknown_fields(body) or [named[1]]
        return (
            f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)[:200]}. "
            f"The fields are: {', '.join(FIELDS)}."
        )
    if what.startswith("Expected `object`"):
        return "The body must be a JSON object."
    return f"The body is not what this API takes: {what}."


def _unknown_fields(body: bytes) -> list[str]:
    """Every unknown field of the body (msgspec stops at the first), or [] if unreadable."""
    try:
        keys = msgspec.json.decode(body, type=dict[str, msgspec.Raw])
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return []
    return sorted(key for key in keys if key not in _WORDS)


_MALFORMED = re.compile(r"JSON is malformed: (?P<what>.*) \(byte (?P<at>\d+)\)")


def _not_json(message: str, body: bytes) -> str:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "The body must be JSON encoded as UTF-8."
    if message == "Input data was truncated":
        return "The body is not valid JSON: it ends too soon."
    found = _MALFORMED.fullmatch(message)
    if found is None:
        return f"The body is not valid JSON: {message}."
    at = int(found["at"])
    for constant in (b"NaN", b"Infinity"):  # Python's json writes them; JSON has no such values
        if body.startswith(constant, at):
            sign = "-" if constant == b"Infinity" and body[at - 1 : at] == b"-" else ""
            return f"The body is not valid JSON ({sign}{constant.decode()} is not JSON)."
    what = found["what"]
    if "surrogate" in what:
        what = "an escape that is not valid Unicode text"
    start = body.rfind(b"\n", 0, at) + 1
    line = body.count(b"\n", 0, at) + 1
    column = len(body[start:at].decode("utf-8", "replace")) + 1
    return f"The body is not valid JSON: {what} at line {line} column {column}."
