"""The manage link: the booking, answers, giving places up, the ticket, the data and erasure.

A signed manage link (``tokens.manage_token``) lets the person see, change, cancel, download
or erase their booking; a forged or dead link is NotFound, in the same words whatever the cause.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import audit as audit_queries
from gathering.core import clock
from gathering.core.database import Database
from gathering.core.errors import InvalidInput, NotFound
from gathering.core.i18n import gettext, use_language
from gathering.mail import messages as mail
from gathering.privacy import erasure
from gathering.privacy import queries as privacy_queries
from gathering.programme import localised
from gathering.programme import queries as programme_queries
from gathering.programme.release import Programme, PublicSession, programme_for_row
from gathering.registration import joining as joining_rules
from gathering.registration import joining_queries, place_queries, queries, tokens, words
from gathering.registration.booking_mail import has_ticket
from gathering.registration.form import Choice, Question, checked_answers
from gathering.registration.joining import JoiningLink
from gathering.registration.places import cancel_all, free_place
from gathering.registration.queries import RegistrationRow
from gathering.registration.tokens import Links

# The subject access download: plain JSON values.
JSONValue = str | int | float | bool | None | list["JSONValue"] | dict[str, "JSONValue"]


@dataclass(frozen=True)
class PlaceView:
    id: int
    session: PublicSession
    status: str  # confirmed | waitlisted | offered | cancelled
    offered_until: dt.datetime | None
    waiting_position: int | None = None
    undo_until: dt.datetime | None = None  # given up, and undoable until then (issue 16)
    has_ended: bool = False  # the session is over: nothing left to give up

    @property
    def is_live(self) -> bool:
        return self.status in ("confirmed", "waitlisted", "offered")


@dataclass(frozen=True)
class Booking:
    registration_id: int
    token: str
    name: str
    email: str
    status: str
    ticket_code: str | None
    ticket_type: str
    answers: dict[str, str]
    questions: tuple[Question, ...]
    share_access_needs: bool
    consents: tuple[str, ...]  # consent texts in force
    places: tuple[PlaceView, ...]
    programme: Programme
    created_at: dt.datetime
    feed_key: str | None = None  # the personal calendar's secret, once confirmed
    ticket_type_id: int | None = None
    undo_until: dt.datetime | None = None  # a cancellation that can still be undone
    ticket_types: tuple[Choice, ...] = ()  # what it may change to (issue 16)
    # Whether the gathering takes registrations now (issue 16: sessions are added and ticket
    # types changed only then), and if not, the window's own sentence.
    open_for_changes: bool = True
    closed_because: str = ""

    @property
    def has_ticket(self) -> bool:
        """Issue 16: someone only on waiting lists has no ticket (the door would refuse it)."""
        return has_ticket(self.status, [p.status for p in self.places])

    def with_status(self, *statuses: str) -> tuple[PlaceView, ...]:
        return tuple(p for p in self.places if p.status in statuses)

    @property
    def given_up(self) -> tuple[PlaceView, ...]:
        """Places given up that can still be taken back."""
        return tuple(p for p in self.places if p.undo_until is not None)


async def registration_for_token(
    conn: AsyncConnection, token: str, secret_key: str
) -> RegistrationRow:
    """The live registration behind a manage token; NotFound for a forged or dead link."""
    not_found = NotFound(gettext(words.MANAGE_LINK_INVALID))
    registration_id = tokens.manage_id(token)
    if registration_id is None:
        raise not_found
    row = await queries.registration_by_id(conn, registration_id)
    if row is None or row.manage_key is None or row.status == "anonymised":
        raise not_found
    if not tokens.is_manage_token(token, secret_key, row.id, row.manage_key):
        raise not_found
    return row


async def booking_of(conn: AsyncConnection, row: RegistrationRow, token: str) -> Booking:
    """The booking behind a live registration, as the manage page shows it."""
    from gathering.registration import window_queries, windows  # windows builds on this

    now = clock.utc_now()
    gathering = await programme_queries.gathering_row(conn, gathering_id=row.gathering_id)
    programme = await programme_for_row(conn, gathering)
    offered = await queries.ticket_types(conn, row.gathering_id)
    types = {t.id: t.name for t in offered}
    window = await window_queries.gathering_window(conn, gathering_id=row.gathering_id)
    state = windows.gathering_state(window, now) if window is not None else None
    places = []
    for place in await place_queries.places_of(conn, row.id):
        session = programme.session(place.session_id)
        if session is not None:
            # A hold's deadline is no offer: only an offer shows its date.
            until = place.offered_until if place.status == "offered" else None
            places.append(
                PlaceView(
                    place.id,
                    session,
                    place.status,
                    until,
                    undo_until=place.undo_until,
                    has_ended=session.ends_at <= now,
                )
            )
    consents = tuple(
        c.text for c in await queries.consents_of(conn, row.id) if c.withdrawn_at is None
    )
    return Booking(
        registration_id=row.id,
        token=token,
        name=row.name,
        email=row.email,
        status=row.status,
        ticket_code=row.ticket_code,
        ticket_type=types.get(row.ticket_type_id or 0, ""),
        answers=dict(row.answers),
        questions=tuple(
            Question(q.key, q.label, q.help, q.is_required)
            for q in await queries.questions(conn, row.gathering_id)
        ),
        share_access_needs=row.share_access_needs,
        consents=consents,
        places=tuple(places),
        programme=programme,
        created_at=row.created_at,
        feed_key=row.feed_key,
        ticket_type_id=row.ticket_type_id,
        undo_until=row.undo_until,
        ticket_types=tuple(Choice(str(t.id), t.name) for t in offered),
        open_for_changes=state is not None and state.is_open,
        closed_because="" if state is None or state.is_open else state.text,
    )


async def booking(db: Database, token: str, *, secret_key: str) -> Booking:
    """Everything the person's manage page shows."""

    async def _read(conn: AsyncConnection) -> Booking:
        return await booking_of(conn, await registration_for_token(conn, token, secret_key), token)

    return await db.read(_read)


async def cancel_place(
    db: Database,
    token: str,
    place_id: int,
    *,
    links: Links,
    offer_hours: int,
    undo_minutes: int = 0,
    now: dt.datetime | None = None,
) -> dt.datetime | None:
    """The person gives up one session. With ``undo_minutes`` (the pages' setting) it can be
    undone until the time returned, and a seat it held stays taken until then, then goes to the
    next person waiting (``places.close_undo_windows``); without, the seat goes at once."""

    async def _write(conn: AsyncConnection) -> dt.datetime | None:
        moment = now or dt.datetime.now(dt.UTC)
        row = await registration_for_token(conn, token, links.secret_key)
        place = await place_queries.place_by_id(conn, place_id) if 0 < place_id < 2**31 else None
        if place is None or place.registration_id != row.id:
            raise NotFound(gettext(words.NOT_YOUR_PLACE))
        if undo_minutes and row.status in ("pending", "confirmed"):
            until = moment + dt.timedelta(minutes=undo_minutes)
            gave_up = await place_queries.give_up_place(conn, place.id, moment, until)
            return until if gave_up else None
        await free_place(conn, place, links, offer_hours, moment)
        return None

    return await db.write(_write, serializable=False)


async def cancel_registration(
    db: Database,
    token: str,
    *,
    links: Links,
    offer_hours: int,
    undo_minutes: int = 0,
    now: dt.datetime | None = None,
) -> dt.datetime | None:
    """Cancel everything: the ticket stops and every place is given up. With ``undo_minutes``
    it can be undone until the time returned (seats held meanwhile, the mail sent once it is
    final); without, every place is freed and offered on at once."""

    async def _write(conn: AsyncConnection) -> dt.datetime | None:
        moment = now or dt.datetime.now(dt.UTC)
        row = await registration_for_token(conn, token, links.secret_key)
        if undo_minutes:
            until = moment + dt.timedelta(minutes=undo_minutes)
            if not await queries.cancel_undoably(conn, row.id, until):
                return None  # cancelled already
            for place in await place_queries.places_of(conn, row.id):
                if place.status != "cancelled":
                    await place_queries.give_up_place(conn, place.id, moment, until)
            return until
        await cancel_all(conn, row, links, offer_hours, moment, status="cancelled")
        gathering = await programme_queries.gathering_row(conn, gathering_id=row.gathering_id)
        with use_language(await queries.registrant_language(conn, row)):  # issue 18
            what = gettext(words.EVERYTHING_CANCELLED)
            title = localised.title_of(gathering.title, gathering.translations)
        await mail.queue(
            conn,
            kind="registration_cancelled",
            to_address=row.email,
            registration_id=row.id,
            now=moment,
            context={
                "name": row.name,
                "gathering_title": title,
                "what_text": what,
            },
        )
        return None

    return await db.write(_write, serializable=False)


async def update_answers(
    db: Database, token: str, answers: dict[str, str], share_access_needs: bool, *, secret_key: str
) -> None:
    """Change one's answers; optional answers stay optional."""

    async def _write(conn: AsyncConnection) -> None:
        row = await registration_for_token(conn, token, secret_key)
        errors: dict[str, str] = {}
        asked = tuple(
            Question(q.key, q.label, q.help, q.is_required)
            for q in await queries.questions(conn, row.gathering_id)
        )
        cleaned = checked_answers(answers, asked, errors)
        if errors:
            raise InvalidInput(errors)
        await queries.update_registration(
            conn,
            row.id,
            {
                "answers": cleaned,
                "share_access_needs": share_access_needs and "access_needs" in cleaned,
            },
        )

    await db.write(_write)


async def personal_data(db: Database, token: str, *, secret_key: str) -> dict[str, JSONValue]:
    """Everything held about the person, as plain JSON data (subject access)."""

    async def _read(conn: AsyncConnection) -> dict[str, JSONValue]:
        row = await registration_for_token(conn, token, secret_key)
        b = await booking_of(conn, row, token)
        consents = await queries.consents_of(conn, row.id)
        zone = zoneinfo.ZoneInfo(b.programme.gathering.timezone)
        check_ins = await privacy_queries.check_ins_of(conn, row.id)
        mails = await privacy_queries.mail_to(conn, row.id, row.email, mail.KINDS)
        lists = await privacy_queries.supporter_lists_with(conn, row.gathering_id, row.email)
        joins = await joining_queries.joins_of_places(conn, [p.id for p in b.places])
        return {
            "gathering": b.programme.gathering.title,
            "name": b.name,
            "email": b.email,
            "status": b.status,
            "ticket_code": b.ticket_code,
            "ticket_type": b.ticket_type,
            "answers": dict(b.answers),
            "share_access_needs_with_stewards": b.share_access_needs,
            "registered_at": b.created_at.isoformat(),
            "sessions": [
                {
                    "title": p.session.title,
                    "starts_at": p.session.starts_at.isoformat(),
                    "status": p.status,
                }
                for p in b.places
            ],
            "consents": [
                {
                    "text": c.text,
                    "organisation": c.organisation_name,
                    "given_at": c.given_at.isoformat(),
                    "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
                }
                for c in consents
            ],
            "check_ins": [
                {
                    "session": c.session_title or gettext(words.WHOLE_GATHERING),
                    "kind": c.kind,
                    "door": c.door,
                    "at": c.at.astimezone(zone).isoformat(),
                    "undone_at": c.undone_at.astimezone(zone).isoformat() if c.undone_at else None,
                }
                for c in check_ins
            ],
            "mail": [
                {
                    "kind": m.kind,
                    "queued_at": m.created_at.isoformat(),
                    "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                }
                for m in mails
            ],
            "on_supporters_lists_of": list(lists),
            # Issue 20: when their own joining link took them into a session.
            "joined_online": [
                {
                    "session": p.session.title,
                    "first_at": joins[p.id].first_joined_at.astimezone(zone).isoformat(),
                    "last_at": (
                        last.astimezone(zone).isoformat()
                        if (last := joins[p.id].last_joined_at)
                        else None
                    ),
                    "times_opened": joins[p.id].opens,
                }
                for p in b.places
                if p.id in joins
            ],
        }

    return await db.read(_read)


async def erase(db: Database, token: str, *, links: Links, offer_hours: int) -> None:
    """Erase the person: places freed (and offered on), personal values removed, links dead.

    Counts survive: the registration row stays, anonymised, so statistics still add up.
    """

    async def _read(conn: AsyncConnection) -> RegistrationRow:
        return await registration_for_token(conn, token, links.secret_key)

    # The gathering's audit log is searched first, outside any write, and scrubbed in short units
    # of its own: inside the erasure's unit the search would hold SQLite's one writer (and every
    # door scan) meanwhile. Should the erasure then fail, what is gone is only what they asked
    # to be gone, and searches which might have been for them.
    traces = await erasure.scrub_audit_of(db, await db.read(_read))

    async def _write(conn: AsyncConnection) -> None:
        now = dt.datetime.now(dt.UTC)
        row = await registration_for_token(conn, token, links.secret_key)
        await cancel_all(conn, row, links, offer_hours, now, status="anonymised")
        await queries.withdraw_consents(conn, row.id, now)
        await erasure.forget_person(conn, row, traces)
        await queries.erase_personal_values(conn, row.id, now)
        await audit_queries.insert_audit_event(
            conn,
            now=now,
            actor_kind="attendee",
            actor_id=None,
            action="registration_erased",
            subject_kind="registration",
            subject_id=row.id,
            detail={"gathering_id": row.gathering_id},
        )

    await db.write(_write, serializable=False)
    await erasure.reclaim_after_erasure(db)


# --- the ticket -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ticket:
    booking: Booking
    joining: dict[int, JoiningLink]  # online/hybrid sessions with a confirmed place


async def ticket(
    db: Database,
    token: str,
    *,
    secret_key: str,
    joining_link_minutes: int,
    now: dt.datetime | None = None,
) -> Ticket:
    """The ticket page: QR code, name, type, sessions; for each confirmed place at an online or
    hybrid session its personal joining link, shown and leading to the meeting only from
    ``joining_link_minutes`` before the start (issues 20, 16; the rule is in ``joining``)."""

    async def _read(conn: AsyncConnection) -> Ticket:
        moment = now or clock.utc_now()
        row = await registration_for_token(conn, token, secret_key)
        b = await booking_of(conn, row, token)
        if b.status != "confirmed" or row.manage_key is None:
            raise NotFound(gettext(words.NO_TICKET_YET))
        if not b.has_ticket:
            raise NotFound(gettext(words.WAITING_LIST_ONLY))
        joining = {}
        for place in b.places:
            online = place.session.format in ("online", "hybrid")
            if place.status == "confirmed" and online and not place.session.is_cancelled:
                joining[place.session.id] = joining_rules.ticket_link(
                    secret_key,
                    place.id,
                    row.manage_key,
                    session_id=place.session.id,
                    starts_at=place.session.starts_at,
                    ends_at=place.session.ends_at,
                    reveal_minutes=joining_link_minutes,
                    now=moment,
                )
        return Ticket(b, joining)

    return await db.read(_read)
