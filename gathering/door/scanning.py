"""Scanning at the door: scans admit, refuse or let people out; undo walks one back.

A scan answers with a ``status`` (green / amber / red) and a stable ``reason`` code (the words
for each are in ``gathering.door.words``):

==========================  ======  ==========================================================
reason                      status  meaning
==========================  ======  ==========================================================
ok                          green   admitted (or, for ``kind="exit"``, let out)
already_checked_in          amber   inside already: ``first_at`` and ``door`` of the first entry
reentry_not_allowed         red     left earlier and the session does not allow re-entry
not_checked_in              red     an exit for someone who is not inside
not_registered_for_session  red     a ticket of this gathering without a place at the session
waitlisted_only             red     on the waiting list (or offered a place not yet taken up)
cancelled                   red     the registration or the place at the session is cancelled
not_confirmed               red     the registration's email address is not confirmed yet
not_yet_open / closed       red     outside the admission window: from 60 minutes before the
                                    session starts to its end; for the whole gathering, its
                                    dates in its own time zone
session_cancelled           red     the session itself is cancelled
unknown_code                red     no such ticket in this gathering (a code of another
                                    gathering included: nothing about other tickets leaks)
bad_code                    red     empty, over 64 characters, or not the ticket alphabet
pass_revoked / pass_expired red     the pass was revoked (or its PIN changed) / is over
not_yet_valid               red     the pass's validity window has not begun
session_not_on_pass         red     the pass does not cover that session
admitted_twice_offline      amber   an offline scan (``scanned_at``) of someone already inside:
                                    the first admission stands, a ``door_conflict`` row tells
                                    organisers (see ``gathering.door.offline``)
==========================  ======  ==========================================================

Only green and amber answers carry the holder's display name and ticket type; access needs only
on green and only if the attendee agreed to share them. Every scan writes a ``scan`` row in the
same transaction, its stored answer naming the device that sent it; a client nonce makes a
retried request from the same device return the stored answer and write nothing new. Admitting
is atomic on both engines: the unit takes the registration's row lock before reading its
check-ins, so concurrent scans of one ticket admit exactly once. A device past its bounds
(``gathering.door.bounds``) is refused before any of this runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.i18n import gettext
from gathering.door import bundle_queries, move_queries, queries, words
from gathering.door.bounds import DeviceBounds
from gathering.door.desk import registration_for_ref
from gathering.door.devices import StewardDevice, pass_problem, usable_pass
from gathering.door.move_queries import DEVICE_KEY
from gathering.door.queries import CoveredSession, StewardPass
from gathering.registration.tickets import ALPHABET

ADMISSION_OPENS_BEFORE = dt.timedelta(minutes=60)
UNDO_WINDOW = dt.timedelta(minutes=5)
MAX_CODE_LENGTH = 64
MAX_DOOR_LENGTH = 120
_NONCE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CODE_SEPARATORS = str.maketrans("", "", " -")
_ALPHABET = frozenset(ALPHABET)

Kind = Literal["entry", "exit"]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _instant(value: object) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None


@dataclass(frozen=True)
class ScanResult:
    status: str  # green | amber | red
    reason: str
    kind: str  # entry | exit
    session_id: int | None
    at: dt.datetime  # when the scan was answered
    name: str | None = None
    ticket_type: str | None = None
    access_needs: str | None = None
    first_at: dt.datetime | None = None  # already_checked_in: the first entry
    door: str | None = None  # already_checked_in: the door of the first entry
    # Set when this scan changed who is inside (for the live counters); never sent to clients.
    changed_gathering_id: int | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, str | int | None]:
        return {
            "status": self.status,
            "reason": self.reason,
            "kind": self.kind,
            "session_id": self.session_id,
            "at": self.at.isoformat(),
            "name": self.name,
            "ticket_type": self.ticket_type,
            "access_needs": self.access_needs,
            "first_at": self.first_at.isoformat() if self.first_at else None,
            "door": self.door,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ScanResult:
        """The answer as stored; an erased person's keeps only status, reason and times."""
        session_id = data.get("session_id")
        at = _instant(data.get("at"))
        assert at is not None, "a stored scan answer always has its time"
        return cls(
            status=str(data["status"]),
            reason=str(data["reason"]),
            kind=str(data.get("kind", "entry")),
            session_id=session_id if isinstance(session_id, int) else None,
            at=at,
            name=_text(data.get("name")),
            ticket_type=_text(data.get("ticket_type")),
            access_needs=_text(data.get("access_needs")),
            first_at=_instant(data.get("first_at")),
            door=_text(data.get("door")),
        )


@dataclass(frozen=True)
class UndoResult:
    status: str  # green | red
    reason: str  # undone | nothing_to_undo | undo_too_late
    kind: str | None = None  # what was undone: entry | exit
    session_id: int | None = None
    name: str | None = None
    at: dt.datetime | None = None  # when the undone check-in was recorded
    changed_gathering_id: int | None = field(default=None, compare=False)  # undo changed counts


def normalised_code(raw: str) -> str | None:
    """The code as stored (upper case, no spaces or dashes), or None if it cannot be a code."""
    if len(raw) > MAX_CODE_LENGTH:
        return None
    code = raw.upper().translate(_CODE_SEPARATORS)
    if not code or not set(code) <= _ALPHABET:
        return None
    return code


def _checked_nonce(client_nonce: str) -> str:
    if not _NONCE.fullmatch(client_nonce):
        raise InvalidInput({"nonce": gettext(words.BAD_NONCE)})
    return client_nonce


def _checked_door(door: str) -> str:
    door = door.strip()
    if len(door) > MAX_DOOR_LENGTH:
        raise InvalidInput({"door": gettext(words.DOOR_TOO_LONG).format(limit=MAX_DOOR_LENGTH)})
    return door


def _gathering_window(
    starts_on: dt.date, ends_on: dt.date, timezone: str
) -> tuple[dt.datetime, dt.datetime]:
    zone = zoneinfo.ZoneInfo(timezone)
    opens = dt.datetime.combine(starts_on, dt.time(0), zone)
    closes = dt.datetime.combine(ends_on + dt.timedelta(days=1), dt.time(0), zone)
    return opens.astimezone(dt.UTC), closes.astimezone(dt.UTC)


@dataclass(frozen=True)
class _Scan:
    code: str
    registration_id: int | None  # from a help-desk match's ref, in place of the code
    session_id: int | None
    door: str
    kind: Kind
    nonce: str
    now: dt.datetime  # when the ticket was scanned (for an offline scan, on the phone)
    received_at: dt.datetime | None = None  # an offline scan: when it reached the server


@dataclass(frozen=True)
class _Decision:
    result: ScanResult
    check_in_id: int | None = None  # the check-in recorded, if any
    session_id: int | None = None  # the session scanned for, if the pass covers it


def _access_needs(answers: object) -> str | None:
    found = answers.get("access_needs") if isinstance(answers, dict) else None
    return str(found or "").strip() or None


async def _decide(
    conn: AsyncConnection, device: StewardDevice, pass_row: StewardPass | None, s: _Scan
) -> _Decision:
    """The answer to one scan, the check-in it recorded (if any) and the session it was for."""
    session: CoveredSession | None = None

    def red(reason: str) -> _Decision:
        result = ScanResult("red", reason, s.kind, s.session_id, s.now)
        return _Decision(result, None, None if session is None else session.id)

    problem = pass_problem(pass_row, device, s.now)
    if problem is not None or pass_row is None:
        return red(problem or "pass_revoked")
    if s.session_id is None and not pass_row.all_sessions:
        return red("session_not_on_pass")  # a pass for some sessions: not the gathering's door
    if s.session_id is not None:
        session = await queries.session_on_pass(conn, pass_row, s.session_id)
        if session is None:
            return red("session_not_on_pass")
        if session.status == "cancelled":
            return red("session_cancelled")
    if s.registration_id is not None:
        person = await queries.registration_by_id(conn, pass_row.gathering_id, s.registration_id)
    else:
        code = normalised_code(s.code)
        if code is None:
            return red("bad_code")
        person = await queries.registration_by_code(conn, pass_row.gathering_id, code)
    if person is None or person.status == "anonymised":
        return red("unknown_code")
    if person.status == "cancelled":
        return red("cancelled")
    if person.status != "confirmed":
        return red("not_confirmed")
    if session is not None:
        place = await queries.place_status(conn, person.id, session.id)
        if place is None:
            return red("not_registered_for_session")
        if place in ("waitlisted", "offered"):
            return red("waitlisted_only")
        if place != "confirmed":
            return red("cancelled")
    if s.kind == "entry":
        if session is not None:
            opens, closes = session.starts_at - ADMISSION_OPENS_BEFORE, session.ends_at
        else:
            opens, closes = _gathering_window(
                pass_row.gathering_starts_on,
                pass_row.gathering_ends_on,
                pass_row.gathering_timezone,
            )
        if s.now < opens:
            return red("not_yet_open")
        if s.now >= closes:
            return red("closed")

    # From here on the person's check-ins decide: read them under the registration's lock.
    await queries.lock_registration(conn, person.id)
    moves = await move_queries.moves_of(conn, person.id, s.session_id)
    is_inside = bool(moves) and moves[-1].kind == "entry"
    session_id = None if session is None else session.id
    if s.kind == "exit":
        if not is_inside:
            return red("not_checked_in")
    elif is_inside:
        first = next(m for m in moves if m.kind == "entry")
        reason = "already_checked_in"
        if s.received_at is not None:
            # Admitted offline by this phone while already in by another: the first stands.
            reason = "admitted_twice_offline"
            await bundle_queries.insert_conflict(
                conn,
                gathering_id=pass_row.gathering_id,
                registration_id=person.id,
                session_id=session_id,
                check_in_id=first.id,
                pass_id=pass_row.id,
                door=s.door,
                at=s.now,
                recorded_at=s.received_at,
                client_nonce=s.nonce,
            )
        result = ScanResult(
            "amber",
            reason,
            s.kind,
            s.session_id,
            s.now,
            name=person.name,
            ticket_type=person.ticket_type,
            first_at=first.at,
            door=first.door,
        )
        return _Decision(result, None, session_id)
    elif moves and session is not None and not session.allow_reentry:
        return red("reentry_not_allowed")
    check_in_id = await move_queries.insert_check_in(
        conn,
        registration_id=person.id,
        session_id=s.session_id,
        pass_id=pass_row.id,
        kind=s.kind,
        door=s.door,
        at=s.now,
    )
    await move_queries.notify_door(conn, pass_row.gathering_id)
    result = ScanResult(
        "green",
        "ok",
        s.kind,
        s.session_id,
        s.now,
        name=person.name,
        ticket_type=person.ticket_type,
        access_needs=_access_needs(person.answers)
        if s.kind == "entry" and person.share_access_needs
        else None,
        changed_gathering_id=pass_row.gathering_id,
    )
    return _Decision(result, check_in_id, session_id)


def _stored_answer(stored: Mapping[str, object], device: StewardDevice) -> ScanResult:
    # Answers without a device are older than device ids, or their person was erased (no name).
    if stored.get(DEVICE_KEY, device.id) != device.id:
        # Another phone's nonce: its answer (and the name in it) is not this phone's to read.
        raise InvalidInput({"nonce": gettext(words.NONCE_OF_ANOTHER_DEVICE)})
    return ScanResult.from_json(stored)


async def scan(
    db: Database,
    device: StewardDevice,
    code: str,
    *,
    session_id: int | None,
    door: str,
    client_nonce: str,
    kind: Kind,
    now: dt.datetime,
    ref: str | None = None,
    secret_key: str = "",
    bounds: DeviceBounds | None = None,
    registration_id: int | None = None,
    scanned_at: dt.datetime | None = None,
) -> ScanResult:
    """Admit (or let out) the holder of ``code``, or of a help-desk match's ``ref`` (which needs
    ``secret_key``), or of ``registration_id`` (an offline scan matched by its hash, 0 for no
    match); see the module docstring for the answers. ``scanned_at`` makes it an offline scan
    made then (kept between the pass's start and now): decided as of that time, except that a
    pass revoked since refuses it.

    A bad code, unknown ticket or unusable pass is a red result, not an error; InvalidInput only
    for a malformed nonce, door or kind (the client's fault, not the ticket's), TooManyScans
    when the device is past its ``bounds`` (then nothing is written).
    """
    nonce = _checked_nonce(client_nonce)
    if kind not in ("entry", "exit"):
        raise InvalidInput({"kind": gettext(words.BAD_KIND)})
    if ref is not None:
        # A ref that is forged, stale or made for another pass matches nobody: 0 is no row.
        registration_id = registration_for_ref(ref, device, secret_key) or 0
    request = _Scan(code, registration_id, session_id, _checked_door(door), kind, nonce, now)
    if scanned_at is not None:
        request = dataclasses.replace(request, now=min(scanned_at, now), received_at=now)
    if bounds is not None:
        bounds.take_scan(device.id)

    async def _write(conn: AsyncConnection) -> ScanResult:
        pass_row = await queries.pass_by_id(conn, device.pass_id)
        stored = await move_queries.scan_response(conn, device.pass_id, nonce)
        if stored is not None:
            # A retry gets the first answer, but only while the pass still works: a revoked
            # device must not read names back by replaying old nonces.
            problem = pass_problem(pass_row, device, now)
            if problem is not None:
                return ScanResult("red", problem, kind, session_id, now)
            return _stored_answer(stored, device)
        asked = request
        if request.received_at is not None and pass_row is not None:
            # A phone's clock may run fast or slow; it cannot have scanned before its pass began.
            asked = dataclasses.replace(request, now=max(request.now, pass_row.valid_from))
        decision = await _decide(conn, device, pass_row, asked)
        result = decision.result
        await move_queries.insert_scan(
            conn,
            pass_id=None if pass_row is None else pass_row.id,
            client_nonce=nonce,
            at=asked.now,
            session_id=decision.session_id,
            door=request.door,
            kind=kind,
            result=result.status,
            reason=result.reason,
            check_in_id=decision.check_in_id,
            response={**result.to_json(), DEVICE_KEY: device.id},
        )
        return result

    try:
        # READ COMMITTED on PostgreSQL: the registration's row lock closes the race.
        result = await db.write(_write, serializable=False)
    except exc.IntegrityError:
        # The same nonce arrived twice at once and the other request won: answer as it did.
        async def _stored(conn: AsyncConnection) -> Mapping[str, object] | None:
            return await move_queries.scan_response(conn, device.pass_id, nonce)

        stored = await db.read(_stored)
        if stored is None:
            raise
        result = _stored_answer(stored, device)
    if bounds is not None and result.status == "red":
        bounds.note_refused(device.id)
    return result


async def undo(
    db: Database, device: StewardDevice, *, nonce: str | None = None, now: dt.datetime
) -> UndoResult:
    """Undo one of this device's own entries or exits, at most five minutes old: the one
    recorded by its scan sent with ``nonce``, or (without a nonce) its newest one. Another
    phone's check-ins on the same pass are never undone, nor their names told."""
    scan_nonce = None if nonce is None else _checked_nonce(nonce)

    async def _write(conn: AsyncConnection) -> UndoResult:
        pass_row = await usable_pass(conn, device, now)
        if scan_nonce is None:
            last = await move_queries.last_move_by_device(conn, pass_row.id, device.id)
        else:
            last = await move_queries.move_of_scan(conn, pass_row.id, device.id, scan_nonce)
        if last is None:
            return UndoResult("red", "nothing_to_undo")
        if now - last.at > UNDO_WINDOW:
            return UndoResult("red", "undo_too_late", last.kind, last.session_id, None, last.at)
        await queries.lock_registration(conn, last.registration_id)
        if not await move_queries.mark_undone(conn, last.id, now):
            return UndoResult("red", "nothing_to_undo")
        await move_queries.notify_door(conn, pass_row.gathering_id)
        name = await queries.registration_name(conn, last.registration_id)
        result = UndoResult(
            "green", "undone", last.kind, last.session_id, name, last.at, pass_row.gathering_id
        )
        await move_queries.insert_scan(
            conn,
            pass_id=pass_row.id,
            client_nonce=f"undo:{last.id}",  # ':' is never in a client nonce
            at=now,
            session_id=last.session_id,
            door=last.door,
            kind="undo",
            result="green",
            reason="undone",
            check_in_id=last.id,
            response={
                "status": "green",
                "reason": "undone",
                "kind": last.kind,
                DEVICE_KEY: device.id,
            },
        )
        return result

    return await db.write(_write)
