"""A session's people: the attendee list, the consented contact export, messages to registrants.

Who sees whom. Issue 7 says "attendee list for the sessions an organiser hosts" and "co-hosts see
nothing without their own consent", so, checked here whatever a page shows:

- The network admin, and organisers of an organisation that *hosts* the session
  (``session_host.role == "host"``), see everyone with a place at it whose email is confirmed:
  name, email, ticket type, place status, whether and when they came. Access needs appear only
  for people who ticked "let the stewards see my access needs" (the hosts run the room and the
  door).
- Organisers whose organisations only *co-host* the session see only the people who gave one of
  those organisations the contact consent ("<organisation> may contact me about its work") and
  have not withdrawn it, and of them only what that consent covers: name, email and place
  status. Never ticket type (it can reveal income), check-in times or access needs; these are
  not even read from the database for them. With no such consent they see nobody.
- Anyone else is refused (Forbidden), including organisers of the gathering's host organisation
  who neither host nor co-host the session.

The CSV export is one organisation's contact list, for hosts and co-hosts alike, resting on the
consent to be contacted by that organisation: only people who gave *that* organisation the
contact consent, and only the columns that contact and follow-up need — ``name``, ``email``,
``place_status``, ``checked_in`` (yes/no) and ``consented_at`` (when they agreed, so the
organisation can show the consent). A co-host organisation's list leaves out ``checked_in``
(whether someone came is not covered by agreeing to be contacted), as its attendee list leaves
out arrivals. Never ticket type, answers or access needs. An admin must name the organisation,
as must an organiser who belongs to several of the session's hosting organisations.

Registrations purged by the retention job keep their status for the dashboard's counts but are
never listed, exported or written to.

Every view of the list and every export is written to the audit log (``attendee_list_viewed``,
``attendees_exported``) in the same unit that read the people. The audit row of a view never
holds what was searched for (a person's name or email): only whether a search was made, its kind
(``name``, ``email`` or ``other``, see ``search_kind``), its length and how many rows were shown.

Messages. A message about the session is service mail to the people who booked it, so the
admin and organisers of the session's *hosts* may write to everyone holding a confirmed place,
and if they choose those waiting or offered a place. Organisers of a *co-host* may write only to
those of them who gave one of their co-hosting organisations the contact consent and have not
withdrawn it, the same people their attendee list shows. Either way the sender sees only how
many people it goes to. One outbox row per person and the audit row (``registrants_messaged``)
are written in one unit; the form's nonce makes a second submit of the same form send nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
import unicodedata
import zoneinfo
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.audit import insert_audit_event
from gathering.core.database import Database
from gathering.core.errors import Forbidden, InvalidInput, NotFound
from gathering.core.permissions import Actor, require_actor
from gathering.mail import messages as mail
from gathering.organiser import queries
from gathering.programme import queries as programme_queries
from gathering.registration.tokens import Links

MAX_QUERY = 100
MAX_SUBJECT = 150
MAX_BODY = 10_000
EXPORT_COLUMNS = ("name", "email", "place_status", "checked_in", "consented_at")
CO_HOST_EXPORT_COLUMNS = ("name", "email", "place_status", "consented_at")
VIEWED = "attendee_list_viewed"
EXPORTED = "attendees_exported"
MESSAGED = "registrants_messaged"
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True)
class Organisation:
    id: int
    name: str
    slug: str
    role: str  # host | co_host


@dataclass(frozen=True)
class SessionRef:
    gathering_slug: str
    gathering_title: str
    timezone: str
    session_id: int
    session_title: str
    starts_local: dt.datetime
    hosts: tuple[Organisation, ...]


@dataclass(frozen=True)
class Scope:
    """What one actor may see of a session's people."""

    sees_everyone: bool  # admin or an organiser of a host: everyone, and their details
    consent_organisations: tuple[Organisation, ...]  # co-hosts whose consents open a person
    export_organisations: tuple[Organisation, ...]  # whose contact list the actor may export
    export_needs_choice: bool  # the actor must name the organisation to export for


async def _session(conn: AsyncConnection, slug: str, session_id: int) -> SessionRef:
    gathering = await programme_queries.gathering_row(conn, slug=slug)
    if gathering is None:
        raise NotFound("There is no such gathering.")
    row = await queries.session_row(conn, session_id) if 0 < session_id < 2**31 else None
    if row is None or row.gathering_id != gathering.id:
        raise NotFound("There is no such session in this gathering.")
    hosts = tuple(
        Organisation(h.organisation_id, h.name, h.slug, h.role)
        for h in await queries.hosts_of_session(conn, session_id)
    )
    zone = zoneinfo.ZoneInfo(gathering.timezone)
    return SessionRef(
        gathering.slug,
        gathering.title,
        gathering.timezone,
        row.id,
        row.title,
        row.starts_at.astimezone(zone),
        hosts,
    )


def scope_for(actor: Actor | None, hosts: tuple[Organisation, ...]) -> Scope:
    """The actor's view of a session with these hosts; Forbidden if none (see the docstring)."""
    actor = require_actor(actor)
    if actor.is_admin:
        return Scope(True, (), hosts, True)
    mine = tuple(h for h in hosts if h.id in actor.organisation_ids)
    if not mine:
        raise Forbidden("Only organisers of this session's hosts and co-hosts may see its people.")
    sees_everyone = any(h.role == "host" for h in mine)
    return Scope(sees_everyone, () if sees_everyone else mine, mine, len(mine) > 1)


def _consented_to(scope: Scope) -> list[int] | None:
    """The organisations whose contact consent lets the actor reach a person (None: everyone)."""
    return None if scope.sees_everyone else [o.id for o in scope.consent_organisations]


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


@dataclass(frozen=True)
class AttendeeList:
    session: SessionRef
    scope: Scope
    query: str
    attendees: tuple[Attendee, ...]
    total: int  # before the search narrowed it
    shows_details: bool  # ticket type, arrivals and shared access needs: hosts and admins only


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
    for registration_id, kind, at in await queries.session_moves(conn, session_id):
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
        session = await _session(conn, slug, session_id)
        scope = scope_for(actor, session.hosts)
        assert actor is not None  # scope_for let it through
        consented_to = _consented_to(scope)
        details = scope.sees_everyone
        rows = await queries.session_people(
            conn,
            session_id,
            consented_to=consented_to,
            with_access_needs=details,
            with_ticket_type=details,
        )
        door = await _door(conn, session_id) if details else {}
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
        raise InvalidInput({"organisation": "Choose an organisation from the list."})
    return int(value)


def _export_organisation(scope: Scope, organisation_id: int | None) -> Organisation:
    if organisation_id is None:
        if scope.export_needs_choice or not scope.export_organisations:
            raise InvalidInput(
                {"organisation": "Choose which organisation's contact list to download."},
                "Choose which organisation's contact list to download: it holds only the "
                "people who agreed to hear from that organisation.",
            )
        return scope.export_organisations[0]
    for candidate in scope.export_organisations:
        if candidate.id == organisation_id:
            return candidate
    raise Forbidden("You may download contact lists only for organisations you organise for.")


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
        session = await _session(conn, slug, session_id)
        scope = scope_for(actor, session.hosts)
        assert actor is not None
        chosen = _export_organisation(scope, organisation_id)
        rows = await queries.consented_people(conn, session_id, chosen.id)
        with_door = chosen.role == "host"  # a co-host's contact list leaves out who came
        door = await _door(conn, session_id) if with_door else {}
        zone = zoneinfo.ZoneInfo(session.timezone)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(EXPORT_COLUMNS if with_door else CO_HOST_EXPORT_COLUMNS)
        for row in sorted(rows, key=lambda r: (r.name.casefold(), r.id)):
            came = ["yes" if row.id in door else "no"] if with_door else []
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


# --- messages to registrants ----------------------------------------------------------------------


@dataclass(frozen=True)
class MessageInput:
    """The form as sent (kept as typed to show again) and the nonce of the page it came from."""

    subject: str = ""
    body: str = ""
    include_waiting: bool = False
    nonce: str = ""


@dataclass(frozen=True)
class MessagePage:
    session: SessionRef
    confirmed: int  # people with a confirmed place (email confirmed) the actor may write to
    waiting: int  # people waitlisted or offered a place the actor may write to
    reaches_everyone: bool  # a host or admin; False: a co-host, only people who consented
    consent_organisations: tuple[Organisation, ...]  # a co-host's: whose consent reaches people

    @property
    def consented_to(self) -> list[int] | None:
        """The organisations a recipient must have consented to (None: everyone)."""
        return None if self.reaches_everyone else [o.id for o in self.consent_organisations]


@dataclass(frozen=True)
class MessagePreview:
    page: MessagePage
    form: MessageInput  # cleaned
    recipients: int
    email_subject: str


@dataclass(frozen=True)
class MessageSent:
    recipients: int
    already: bool  # this form had been sent before: nothing new was queued


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def _statuses(include_waiting: bool) -> tuple[str, ...]:
    return ("confirmed", "waitlisted", "offered") if include_waiting else ("confirmed",)


def clean_message(form: MessageInput) -> MessageInput:
    """The message ready to send; InvalidInput names each field to correct, in the user's words."""
    errors: dict[str, str] = {}
    subject = " ".join(
        "".join(ch for ch in form.subject if unicodedata.category(ch)[0] != "C").split()
    )
    if not subject:
        errors["subject"] = "Enter a subject, for example “Venue confirmed: Brighthelm Centre”."
    elif len(subject) > MAX_SUBJECT:
        errors["subject"] = (
            f"Keep the subject to {MAX_SUBJECT} characters or fewer (it has {len(subject):,})."
        )
    body = form.body.replace("\r\n", "\n").replace("\r", "\n")
    body = "".join(ch for ch in body if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    body = "\n".join(line.rstrip() for line in body.strip().split("\n"))
    if not body:
        errors["body"] = "Write the message you want to send."
    elif len(body) > MAX_BODY:
        errors["body"] = (
            f"Keep the message to {MAX_BODY:,} characters or fewer (it has {len(body):,}); "
            "link to a longer text instead."
        )
    if errors:
        raise InvalidInput(errors)
    return MessageInput(subject, body, form.include_waiting, form.nonce)


async def _message_page(
    conn: AsyncConnection, actor: Actor | None, slug: str, sid: int
) -> MessagePage:
    session = await _session(conn, slug, sid)
    scope = scope_for(actor, session.hosts)  # hosts and co-hosts see only a number
    counts = await queries.recipient_counts(conn, sid, consented_to=_consented_to(scope))
    waiting = counts.get("waitlisted", 0) + counts.get("offered", 0)
    return MessagePage(
        session,
        counts.get("confirmed", 0),
        waiting,
        scope.sees_everyone,
        scope.consent_organisations,
    )


async def message_page(
    db: Database, actor: Actor | None, slug: str, session_id: int
) -> MessagePage:
    """The session and how many people this actor's message could go to."""

    async def _read(conn: AsyncConnection) -> MessagePage:
        return await _message_page(conn, actor, slug, session_id)

    return await db.read(_read, offload=True)


def _email_subject(subject: str, session_title: str) -> str:
    return f"{subject} · {session_title}"  # as templates/email/organiser_message.subject.txt


async def preview_message(
    db: Database, actor: Actor | None, slug: str, session_id: int, form: MessageInput
) -> MessagePreview:
    """Check the message and count who it would go to; nothing is sent."""
    page = await message_page(db, actor, slug, session_id)
    cleaned = clean_message(form)
    recipients = page.confirmed + (page.waiting if cleaned.include_waiting else 0)
    subject = _email_subject(cleaned.subject, page.session.session_title)
    return MessagePreview(page, cleaned, recipients, subject)


async def send_message(
    db: Database,
    actor: Actor | None,
    slug: str,
    session_id: int,
    form: MessageInput,
    *,
    links: Links,
    now: dt.datetime | None = None,
) -> MessageSent:
    """Queue one message per recipient through the outbox, with its audit row, in one unit.

    The same form (nonce) sent again queues nothing and reports the first sending.
    """
    if not _NONCE.fullmatch(form.nonce):
        raise InvalidInput(
            {"nonce": "This form has expired. Check the message and press Send again."}
        )
    cleaned = clean_message(form)

    async def _write(conn: AsyncConnection) -> MessageSent:
        moment = now or dt.datetime.now(dt.UTC)
        page = await _message_page(conn, actor, slug, session_id)
        assert actor is not None
        earlier = await queries.audit_detail_with_nonce(conn, MESSAGED, session_id, form.nonce)
        if earlier is not None:
            return MessageSent(int(earlier.get("recipients", 0)), already=True)
        people = await queries.recipients(
            conn,
            session_id,
            _statuses(cleaned.include_waiting),
            consented_to=page.consented_to,
        )
        for person in people:
            await mail.queue(
                conn,
                kind="organiser_message",
                to_address=person.email,
                registration_id=person.id,
                now=moment,
                context={
                    "name": person.name,
                    "session_title": page.session.session_title,
                    "subject": cleaned.subject,
                    "body_text": cleaned.body,
                    # A co-host reaches people only through their consent: the mail says so.
                    "consented_to": (
                        ""
                        if page.reaches_everyone
                        else " and ".join(o.name for o in page.consent_organisations)
                    ),
                    "manage_url": (
                        links.manage_url(person.id, person.manage_key) if person.manage_key else ""
                    ),
                },
            )
        await insert_audit_event(
            conn,
            now=moment,
            actor_kind="account",
            actor_id=actor.account_id,
            action=MESSAGED,
            subject_kind="session",
            subject_id=session_id,
            detail={
                "nonce": form.nonce,
                "recipients": len(people),
                "include_waiting": cleaned.include_waiting,
                "scope": "everyone" if page.reaches_everyone else "consented",
                "consent_organisation_ids": page.consented_to or [],
                "subject": cleaned.subject,
            },
        )
        return MessageSent(len(people), already=False)

    return await db.write(_write, offload=True)
