"""A gathering's host organisers run its registration (issue 16, item 10): open and close it
(with optional opening and closing times), its ticket types and the questions it asks.

Only the network admin and organisers of the gathering's host organisation may do this
(``permissions.can_release``): a co-host's or another organisation's organiser is refused with
Forbidden before anything is read or written. Every change is audited. The state a gathering is
in, and what it means for its organisers, comes from ``registration.windows``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.admin import queries as setup_queries
from gathering.admin.forms import STANDARD_QUESTIONS, StandardQuestion, clean_questions
from gathering.admin.forms import clean_ticket_type as clean_ticket_type_form
from gathering.admin.queries import QuestionListed, TicketTypeListed
from gathering.core import clock
from gathering.core.audit import insert_audit_event
from gathering.core.database import Database
from gathering.core.errors import Conflict, InvalidInput, NotFound
from gathering.core.i18n import gettext
from gathering.core.permissions import Actor, require_actor, require_release
from gathering.organiser import languages
from gathering.organiser import registration_words as words
from gathering.organiser import words as organiser_words
from gathering.registration import window_words
from gathering.registration.window_queries import (
    GatheringWindowRow,
    gathering_window,
    save_gathering_window,
    sessions_with_windows,
)
from gathering.registration.window_queries import save_session_window as store_session_window
from gathering.registration.windows import WindowState, gathering_state

Form = dict[str, str]
MOMENT_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends
FIRST_YEAR, LAST_YEAR = 2000, 2100


def _explained(kind: str) -> str:
    """What the window's state means for the organiser, in the reader's language."""
    said = window_words.ORGANISER.get(kind)
    return gettext(said) if said else ""


@dataclass(frozen=True)
class SessionWindowForm:
    """One session's own window, as its form shows it (local datetime-local strings)."""

    id: int
    title: str
    starts_local: dt.datetime
    status: str
    opens_at: str
    closes_at: str


@dataclass(frozen=True)
class RegistrationSetup:
    gathering_id: int
    slug: str
    title: str
    timezone: str
    state: WindowState
    explanation: str  # what the state means for the organisers
    window: Form  # registration_open ("on" or ""), opens_at, closes_at (local, datetime-local)
    ticket_types: tuple[TicketTypeListed, ...]
    questions: Form  # the questions form's strings, as the admin's
    sessions: tuple[SessionWindowForm, ...] = ()
    standard: tuple[StandardQuestion, ...] = STANDARD_QUESTIONS


async def _gathering(conn: AsyncConnection, actor: Actor | None, slug: str) -> GatheringWindowRow:
    """The gathering ``slug``, once the actor is known to be one of its host organisers."""
    who = require_actor(actor)
    row = await gathering_window(conn, slug=slug)
    if row is None:
        raise NotFound(gettext(organiser_words.NO_GATHERING))
    require_release(who, row.host_organisation_id)
    return row


def _local(moment: dt.datetime | None, timezone: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(zoneinfo.ZoneInfo(timezone)).strftime(MOMENT_FORMAT)


def _window_form(row: GatheringWindowRow) -> Form:
    return {
        "registration_open": "on" if row.registration_open else "",
        "opens_at": _local(row.registration_opens_at, row.timezone),
        "closes_at": _local(row.registration_closes_at, row.timezone),
    }


def _question_form(rows: list[QuestionListed]) -> Form:
    stored = {row.key: row for row in rows}
    form: Form = {}
    for q in STANDARD_QUESTIONS:
        row = stored.get(q.key)
        form[f"{q.key}_enabled"] = "on" if row is not None else ""
        form[f"{q.key}_required"] = "on" if row is not None and row.is_required else ""
        form[f"{q.key}_label"] = row.label if row is not None else q.label
        form[f"{q.key}_help"] = row.help if row is not None else q.help
    return form


async def registration_setup(
    db: Database, actor: Actor | None, slug: str, now: dt.datetime | None = None
) -> RegistrationSetup:
    """Everything the organisers' registration page shows: the state explained, the window,
    the ticket types and the questions."""

    async def _read(conn: AsyncConnection) -> RegistrationSetup:
        row = await _gathering(conn, actor, slug)
        state = gathering_state(row, now or clock.utc_now())
        return RegistrationSetup(
            gathering_id=row.id,
            slug=row.slug,
            title=row.title,
            timezone=row.timezone,
            state=state,
            explanation=_explained(state.kind),
            window={**_window_form(row), **await languages.gathering_form(conn, row.id)},
            ticket_types=tuple(await setup_queries.ticket_types_of_gathering(conn, row.id)),
            questions=_question_form(await setup_queries.questions_of_gathering(conn, row.id)),
            sessions=tuple(
                SessionWindowForm(
                    s.id,
                    s.title,
                    s.starts_at.astimezone(zoneinfo.ZoneInfo(row.timezone)),
                    s.status,
                    _local(s.registration_opens_at, row.timezone),
                    _local(s.registration_closes_at, row.timezone),
                )
                for s in await sessions_with_windows(conn, row.id)
            ),
        )

    return await db.read(_read)


@dataclass(frozen=True)
class OrganiserState:
    text: str  # what the public reads
    explanation: str  # what it means for the organisers


async def organiser_state(
    db: Database, gathering_id: int, now: dt.datetime | None = None
) -> OrganiserState:
    """A gathering's registration state with what it means for its organisers (the organiser
    home shows it to those who may change it; it names no one)."""

    async def _read(conn: AsyncConnection) -> OrganiserState:
        row = await gathering_window(conn, gathering_id=gathering_id)
        if row is None:
            raise NotFound(gettext(organiser_words.NO_GATHERING))
        state = gathering_state(row, now or clock.utc_now())
        return OrganiserState(state.text, _explained(state.kind))

    return await db.read(_read)


def parse_moment(text: str, timezone: str, field: str, errors: Form) -> dt.datetime | None:
    """A datetime-local value in the gathering's zone as a UTC instant ("" is None)."""
    value = text.strip()
    if not value:
        return None
    try:
        local = dt.datetime.strptime(value[:16], MOMENT_FORMAT)
    except ValueError:
        try:
            local = dt.datetime.strptime(value[:16], "%Y-%m-%d %H:%M")
        except ValueError:
            errors[field] = gettext(window_words.BAD_MOMENT)
            return None
    if not FIRST_YEAR <= local.year <= LAST_YEAR:
        errors[field] = gettext(window_words.MOMENT_OUT_OF_RANGE)
        return None
    return local.replace(tzinfo=zoneinfo.ZoneInfo(timezone)).astimezone(dt.UTC)


async def save_window(db: Database, actor: Actor | None, slug: str, form: Form) -> None:
    """Open or close registration and set its times; InvalidInput names each bad field and
    nothing is saved."""

    async def _write(conn: AsyncConnection) -> None:
        row = await _gathering(conn, actor, slug)
        errors: Form = {}
        opens = parse_moment(form.get("opens_at", ""), row.timezone, "opens_at", errors)
        closes = parse_moment(form.get("closes_at", ""), row.timezone, "closes_at", errors)
        if opens is not None and closes is not None and closes <= opens:
            errors["closes_at"] = gettext(window_words.CLOSES_BEFORE_OPENS)
        chosen = languages.checked(form, errors)  # issue 18: its languages, same form
        if errors:
            raise InvalidInput(errors)
        now = clock.utc_now()
        await languages.save(conn, row.id, chosen)
        is_open = form.get("registration_open", "") == "on"
        await save_gathering_window(
            conn, row.id, is_open=is_open, opens_at=opens, closes_at=closes, now=now
        )
        await _audit(
            conn,
            actor,
            "organiser.registration_window_saved",
            row.id,
            {
                "open": is_open,
                "opens_at": opens.isoformat() if opens else None,
                "closes_at": closes.isoformat() if closes else None,
            },
            now,
        )

    await db.write(_write)


async def save_session_window(
    db: Database, actor: Actor | None, slug: str, session_id: int, form: Form
) -> None:
    """Give one of the gathering's sessions its own window inside the gathering's (both times
    empty: the gathering's alone). NotFound for another gathering's session."""

    async def _write(conn: AsyncConnection) -> None:
        row = await _gathering(conn, actor, slug)
        errors: Form = {}
        opens = parse_moment(form.get("opens_at", ""), row.timezone, "opens_at", errors)
        closes = parse_moment(form.get("closes_at", ""), row.timezone, "closes_at", errors)
        if opens is not None and closes is not None and closes <= opens:
            errors["closes_at"] = gettext(window_words.CLOSES_BEFORE_OPENS)
        if errors:
            raise InvalidInput(errors)
        if not await store_session_window(
            conn, row.id, session_id, opens_at=opens, closes_at=closes
        ):
            raise NotFound(gettext(words.NO_SESSION))
        detail = {
            "session_id": session_id,
            "opens_at": opens.isoformat() if opens else None,
            "closes_at": closes.isoformat() if closes else None,
        }
        now = clock.utc_now()
        await _audit(conn, actor, "organiser.session_window_saved", row.id, detail, now)

    await db.write(_write)


async def save_ticket_type(
    db: Database, actor: Actor | None, slug: str, form: Form, ticket_type_id: int | None = None
) -> int:
    """Add a ticket type (``ticket_type_id`` None) or change one of this gathering's."""

    async def _write(conn: AsyncConnection) -> int:
        row = await _gathering(conn, actor, slug)
        values, errors = clean_ticket_type_form(form)
        if errors:
            raise InvalidInput(errors)
        if ticket_type_id is not None:
            await _own_ticket_type(conn, row.id, ticket_type_id)
        if values.get("position") is None:
            if ticket_type_id is None:
                values["position"] = await setup_queries.next_ticket_type_position(conn, row.id)
            else:
                values.pop("position", None)
        if ticket_type_id is None:
            saved = await setup_queries.insert_row(
                conn, "ticket_type", {**values, "gathering_id": row.id}
            )
        else:
            await setup_queries.update_row(conn, "ticket_type", ticket_type_id, values)
            saved = ticket_type_id
        action = (
            "organiser.ticket_type_added"
            if ticket_type_id is None
            else "organiser.ticket_type_changed"
        )
        await _audit(conn, actor, action, row.id, {"ticket_type_id": saved}, clock.utc_now())
        return saved

    return await db.write(_write)


async def delete_ticket_type(
    db: Database, actor: Actor | None, slug: str, ticket_type_id: int
) -> None:
    """Remove one of this gathering's ticket types nobody registered with (Conflict if used)."""

    async def _write(conn: AsyncConnection) -> None:
        row = await _gathering(conn, actor, slug)
        await _own_ticket_type(conn, row.id, ticket_type_id)
        used = await setup_queries.dependents(conn, "ticket_type", ticket_type_id)
        if used:
            raise Conflict(gettext(words.TICKET_TYPE_IN_USE).format(count=sum(used.values())))
        await setup_queries.delete_row(conn, "ticket_type", ticket_type_id)
        await _audit(
            conn,
            actor,
            "organiser.ticket_type_deleted",
            row.id,
            {"ticket_type_id": ticket_type_id},
            clock.utc_now(),
        )

    try:
        await db.write(_write)
    except IntegrityError:
        # Someone registered with it while it was being deleted: their registration stands.
        async def _in_use(conn: AsyncConnection) -> int:
            return sum(
                (await setup_queries.dependents(conn, "ticket_type", ticket_type_id)).values()
            )

        used = await db.read(_in_use)
        raise Conflict(gettext(words.TICKET_TYPE_IN_USE).format(count=max(used, 1))) from None


async def save_questions(db: Database, actor: Actor | None, slug: str, form: Form) -> None:
    """Ask the enabled standard questions (with their wording) and stop asking the others."""

    async def _write(conn: AsyncConnection) -> None:
        row = await _gathering(conn, actor, slug)
        asked, errors = clean_questions(form)
        if errors:
            raise InvalidInput(errors)
        stored = {q.key for q in await setup_queries.questions_of_gathering(conn, row.id)}
        for position, q in enumerate(STANDARD_QUESTIONS):
            if q.key in asked:
                values: dict[str, Any] = {**asked[q.key], "position": position}
                if q.key in stored:
                    await setup_queries.update_question(conn, row.id, q.key, values)
                else:
                    await setup_queries.insert_question(
                        conn, {**values, "gathering_id": row.id, "key": q.key}
                    )
            elif q.key in stored:
                await setup_queries.delete_question(conn, row.id, q.key)
        detail = {
            "asked": list(asked),
            "required": [k for k, v in asked.items() if v["is_required"]],
        }
        await _audit(conn, actor, "organiser.questions_updated", row.id, detail, clock.utc_now())

    await db.write(_write)


async def _own_ticket_type(conn: AsyncConnection, gathering_id: int, ticket_type_id: int) -> None:
    if not 0 < ticket_type_id < 2**31:  # no id column holds it (PostgreSQL would raise)
        raise NotFound(gettext(words.NO_TICKET_TYPE))
    found = await setup_queries.row_by_id(conn, "ticket_type", ticket_type_id)
    if found is None or found.column_id("gathering_id") != gathering_id:
        raise NotFound(gettext(words.NO_TICKET_TYPE))


async def _audit(
    conn: AsyncConnection,
    actor: Actor | None,
    action: str,
    gathering_id: int,
    detail: dict[str, Any],
    now: dt.datetime,
) -> None:
    who = require_actor(actor)
    await insert_audit_event(
        conn,
        now=now,
        actor_kind="account",
        actor_id=who.account_id,
        action=action,
        subject_kind="gathering",
        subject_id=gathering_id,
        detail=detail,
    )
