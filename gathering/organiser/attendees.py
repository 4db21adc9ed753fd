"""A session's people: the attendee list and the consented contact export.

The CSV export is one organisation's contact list, for hosts and co-hosts alike, resting on the
consent to be contacted by that organisation: only people who gave *that* organisation the contact
consent, and only the columns that contact and follow-up need — ``name``, ``email``,
``place_status``, ``checked_in`` (yes/no) and ``consented_at`` (when they agreed, so the
organisation can show the consent). A co-host organisation's list leaves out ``checked_in``
(whether someone came is not covered by agreeing to be contacted), as its attendee list leaves out
arrivals. Never ticket type, answers or access needs. An admin must name the organisation, as must
an organiser who belongs to several of the session's hosting organisations.

Registrations purged by the retention job keep their status for the dashboard's counts but are
never listed, exported or written to.

Every view of the list and every export is written to the audit log (``attendee_list_viewed``,
``attendees_exported``) in the same unit that read the people. The audit row of a view never holds
what was searched for (a person's name or email): only whether a search was made, its kind
(``name``, ``email`` or ``other``, see ``search_kind``), its length and how many rows were shown.

Who may see whom is decided in ``organiser.scope``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
import zoneinfo
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.audit import insert_audit_event
from gathering.core.database import Database
from gathering.core.errors import Forbidden, InvalidInput
from gathering.core.i18n import gettext
from gathering.core.permissions import Actor
from gathering.organiser import people_queries, words
from gathering.organiser.scope import (
    Organisation,
    Scope,
    SessionRef,
    consent_filter,
    scope_for,
    session_ref,
)
from gathering.registration import joining_queries

MAX_QUERY = 100
EXPORT_COLUMNS = ("name", "email", "place_status", "checked_in", "consented_at")
CO_HOST_EXPORT_COLUMNS = ("name", "email", "place_status", "consented_at")
VIEWED = "attendee_list_viewed"
EXPORTED = "attendees_exported"


# --- the attendee list ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str
    place_status: str  # confirmed | offered | waitlisted | cancelled
    # The rest only for a host's view (None / False for a co-host's, see the module docstring).
    ticket_type: str | None  # "" when the person has none
    arrived_at: dt.datetime | None  # first entry not undone, in the gathering's zone
    is_inside: bool
    access_needs: str | None  # only when shared and the viewer may see it
    joined_online_at: dt.datetime | None = None  # first opening of their own joining link


@dataclass(frozen=True)
class AttendeeList:
    session: SessionRef
    scope: Scope
    query: str
    attendees: tuple[Attendee, ...]
    total: int  # before the search narrowed it
    shows_details: bool  # ticket type, arrivals and shared access needs: hosts and admins only
    has_online: bool = False  # an online or hybrid session: online joins shown with arrivals


def clean_query(text: str) -> str:
    """The search as typed, on one line, without control characters, at most MAX_QUERY long."""
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())[:MAX_QUERY]


def search_kind(query: str) -> str:
    """What a search looked like, for the audit log without its text: "email" (has an @),
    "name" (letters, spaces, hyphens and apostrophes only), "other", or "" (no search)."""
    if not query:
        return ""
    if "@" in query:
        return "email"
    if all(ch.isalpha() or ch in " -'’" for ch in query):
        return "name"
    return "other"


def _matches(query: str, *values: str) -> bool:
    needle = query.casefold()
    return any(needle in value.casefold() for value in values)


async def _door(conn: AsyncConnection, session_id: int) -> dict[int, tuple[dt.datetime, bool]]:
    """Registration id → (first entry, inside now) from the session's live check-ins."""
    door: dict[int, tuple[dt.datetime, bool]] = {}
    for registration_id, kind, at in await people_queries.session_moves(conn, session_id):
        first = door[registration_id][0] if registration_id in door else None
        if kind == "entry":
            door[registration_id] = (first or at, True)
        elif first is not None:
            door[registration_id] = (first, False)
    return door


async def attendee_list(
    db: Database,
    actor: Actor | None,
    slug: str,
    session_id: int,
    query: str = "",
    *,
    now: dt.datetime | None = None,
) -> AttendeeList:
    """The people of a session this actor may see, searched by name or email; audit-logged."""
    query = clean_query(query)

    async def _write(conn: AsyncConnection) -> AttendeeList:
        session = await session_ref(conn, slug, session_id)
        scope = scope_for(actor, session.hosts)
        assert actor is not None  # scope_for let it through
        consented_to = consent_filter(scope)
        details = scope.sees_everyone
        rows = await people_queries.session_people(
            conn,
            session_id,
            consented_to=consented_to,
            with_access_needs=details,
            with_ticket_type=details,
        )
        door = await _door(conn, session_id) if details else {}
        # Online joins are shown where arrivals are (issue 20): hosts' and admins' view only.
        has_online = await joining_queries.format_of_session(conn, session_id) != "in_person"
        joins = await joining_queries.first_joins_of_session(conn, session_id) if details else {}
        zone = zoneinfo.ZoneInfo(session.timezone)
        attendees = []
        for row in sorted(rows, key=lambda r: (r.name.casefold(), r.id)):
            if query and not _matches(query, row.name, row.email):
                continue
            arrived, inside = door.get(row.id, (None, False))
            attendees.append(
                Attendee(
                    name=row.name,
                    email=row.email,
                    place_status=row.place_status,
                    ticket_type=(row.ticket_type or "") if details else None,
                    arrived_at=arrived.astimezone(zone) if arrived else None,
                    is_inside=inside,
                    access_needs=(row.access_needs or None) if details else None,
                    joined_online_at=joins[row.id].astimezone(zone) if row.id in joins else None,
                )
            )
        await insert_audit_event(
            conn,
            now=now or dt.datetime.now(dt.UTC),
            actor_kind="account",
            actor_id=actor.account_id,
            action=VIEWED,
            subject_kind="session",
            subject_id=session_id,
            detail={
                # Never the search itself: it is a person's name or email.
                "searched": bool(query),
                "search_kind": search_kind(query),
                "search_length": len(query),
                "scope": "everyone" if scope.sees_everyone else "consented",
                "as_admin": actor.is_admin,
                "organisation_ids": []
                if actor.is_admin
                else [o.id for o in scope.export_organisations],
                "consent_organisation_ids": consented_to or [],
                "shown": len(attendees),
            },
        )
        return AttendeeList(
            session=session,
            scope=scope,
            query=query,
            attendees=tuple(attendees),
            total=len(rows),
            shows_details=details,
            has_online=has_online,
        )

    return await db.write(_write, offload=True)


# --- the contact export -------------------------------------------------------------------------


@dataclass(frozen=True)
class AttendeeExport:
    filename: str
    body: str
    rows: int
    organisation: str


def csv_cell(value: str) -> str:
    """A cell a spreadsheet will not run: a leading = + - @ tab or CR is quoted with '."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def parse_organisation(value: str | None) -> int | None:
    """The organisation id from a query string, or None if missing; InvalidInput if garbled."""
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 9):
        raise InvalidInput({"organisation": gettext(words.ORGANISATION_UNKNOWN)})
    return int(value)


def _export_organisation(scope: Scope, organisation_id: int | None) -> Organisation:
    if organisation_id is None:
        if scope.export_needs_choice or not scope.export_organisations:
            raise InvalidInput(
                {"organisation": gettext(words.EXPORT_CHOOSE)},
                gettext(words.EXPORT_CHOOSE_WHY),
            )
        return scope.export_organisations[0]
    for candidate in scope.export_organisations:
        if candidate.id == organisation_id:
            return candidate
    raise Forbidden(gettext(words.EXPORT_NOT_YOURS))


async def export_attendees(
    db: Database,
    actor: Actor | None,
    slug: str,
    session_id: int,
    organisation_id: int | None,
    *,
    now: dt.datetime | None = None,
) -> AttendeeExport:
    """One organisation's contact list for the session as CSV (see the module docstring)."""

    async def _write(conn: AsyncConnection) -> AttendeeExport:
        session = await session_ref(conn, slug, session_id)
        scope = scope_for(actor, session.hosts)
        assert actor is not None
        chosen = _export_organisation(scope, organisation_id)
        rows = await people_queries.consented_people(conn, session_id, chosen.id)
        with_door = chosen.role == "host"  # a co-host's contact list leaves out who came
        door = await _door(conn, session_id) if with_door else {}
        # Whether someone joined online goes wherever "checked_in" goes, for online and hybrid
        # sessions only (issue 20).
        online = with_door and await joining_queries.format_of_session(conn, session_id) != (
            "in_person"
        )
        joins = await joining_queries.first_joins_of_session(conn, session_id) if online else {}
        zone = zoneinfo.ZoneInfo(session.timezone)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        columns = EXPORT_COLUMNS if with_door else CO_HOST_EXPORT_COLUMNS
        if online:
            columns = (*columns[:4], "joined_online", *columns[4:])
        writer.writerow(columns)
        for row in sorted(rows, key=lambda r: (r.name.casefold(), r.id)):
            came = ["yes" if row.id in door else "no"] if with_door else []
            if online:
                came.append("yes" if row.id in joins else "no")
            writer.writerow(
                [
                    csv_cell(row.name),
                    csv_cell(row.email),
                    row.place_status,
                    *came,
                    row.given_at.astimezone(zone).isoformat(timespec="minutes"),
                ]
            )
        await insert_audit_event(
            conn,
            now=now or dt.datetime.now(dt.UTC),
            actor_kind="account",
            actor_id=actor.account_id,
            action=EXPORTED,
            subject_kind="session",
            subject_id=session_id,
            detail={"organisation_id": chosen.id, "rows": len(rows)},
        )
        filename = f"contacts-{session.gathering_slug}-session-{session_id}-{chosen.slug}.csv"
        return AttendeeExport(filename, out.getvalue(), len(rows), chosen.name)

    return await db.write(_write, offload=True)
