"""Registering through the JSON API: the request body's shape, and a throttle per client address.

The registration itself is ``gathering.registration.rules.register``, the same as the page's:
this module only turns a decoded JSON body into a ``RegistrationInput`` (``BadRequest`` for
anything of the wrong type, so a client bug is told apart from a person's correctable mistake)
and counts attempts per client address (``RegistrationThrottled`` past the limit).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth.queries import hit_throttle
from gathering.core.database import Database
from gathering.core.errors import GatheringError
from gathering.registration.rules import RegistrationInput

THROTTLE_WINDOW = dt.timedelta(minutes=10)
THROTTLE_LIMIT = 30  # attempts per client address per window, successful or not

FIELDS = (
    "name",
    "email",
    "ticket_type_id",
    "answers",
    "session_ids",
    "invite_codes",
    "contact_organisation_ids",
    "constituency_match",
    "share_access_needs",
)


class BadRequest(GatheringError):
    """The body is not what the API takes (not JSON, wrong types): a bug in the calling code."""

    code = "bad_request"


class RegistrationThrottled(GatheringError):
    code = "throttled"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


async def count_attempt(
    db: Database, client_address: str, *, now: dt.datetime | None = None
) -> None:
    """Count one registration attempt from ``client_address``; RegistrationThrottled past the
    limit. Counted in its own unit, so a failed attempt still counts."""
    key = f"register-api:{client_address}"[:200]

    async def _hit(conn: AsyncConnection) -> None:
        moment = now or dt.datetime.now(dt.UTC)
        count, start = await hit_throttle(conn, key, moment, THROTTLE_WINDOW)
        if count > THROTTLE_LIMIT:
            seconds = max(1, math.ceil((start + THROTTLE_WINDOW - moment).total_seconds()))
            minutes = math.ceil(seconds / 60)
            raise RegistrationThrottled(
                "Too many registrations from this address. "
                f"Please try again in {minutes} minute{'s' if minutes != 1 else ''}.",
                retry_after=seconds,
            )

    await db.write(_hit)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{where} must be a string.")
    if "\x00" in value:
        raise BadRequest(f"{where} must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{where} is not valid Unicode text.") from None
    return value


def _id(value: object, where: str) -> str:
    """An id as the domain takes it: a JSON integer or a string (checked against the form)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return _text(value, where)
    raise BadRequest(f"{where} must be an integer id.")


def _optional(data: dict[str, Any], key: str) -> object:
    """The value of an optional field; None when absent or null."""
    return data.get(key)


def _id_list(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = _optional(data, key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise BadRequest(f"{key} must be an array of integer ids.")
    return tuple(_id(item, f"Each item of {key}") for item in value)


def _text_map(data: dict[str, Any], key: str) -> dict[str, str]:
    value = _optional(data, key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{key} must be an object whose values are strings.")
    out: dict[str, str] = {}
    for name, item in value.items():
        label = f"{key}[{name!r}]"
        _text(name, f"A key of {key}")
        out[name] = "" if item is None else _text(item, label)
    return out


def _flag(data: dict[str, Any], key: str) -> bool:
    value = _optional(data, key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadRequest(f"{key} must be true or false.")
    return value


def parse_registration(data: object) -> RegistrationInput:
    """The decoded JSON body as a ``RegistrationInput``; BadRequest naming what is wrong.

    Only types are checked here; what the values mean (a valid email, a ticket type this
    gathering offers, required answers) is ``register``'s to check, as InvalidInput.
    """
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    unknown = sorted(str(k) for k in data if k not in FIELDS)
    if unknown:
        raise BadRequest(
            f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)[:200]}. "
            f"The fields are: {', '.join(FIELDS)}."
        )
    for key in ("name", "email"):
        if key not in data:
            raise BadRequest(f"{key} is required (a string).")
    ticket_type = _optional(data, "ticket_type_id")
    return RegistrationInput(
        name=_text(data["name"], "name"),
        email=_text(data["email"], "email"),
        ticket_type_id="" if ticket_type is None else _id(ticket_type, "ticket_type_id"),
        answers=_text_map(data, "answers"),
        session_ids=_id_list(data, "session_ids"),
        invite_codes=_text_map(data, "invite_codes"),
        contact_organisation_ids=_id_list(data, "contact_organisation_ids"),
        constituency_match=_flag(data, "constituency_match"),
        share_access_needs=_flag(data, "share_access_needs"),
    )
