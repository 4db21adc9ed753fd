"""The door: steward passes open a device for scanning; scans admit, refuse or let people out.

A steward pass (an organiser made it: label, validity window, PIN, all sessions or some) is opened
on a phone with its token and PIN; the device then carries a *device token* signed with the
service's secret key, holding the pass id and a fingerprint of the PIN hash (itsdangerous adds the
issue time). No table holds devices: every scan, undo and count re-reads the pass, so revoking it
or changing its PIN stops every device at its next request.

A scan answers with a ``status`` (green / amber / red) and a stable ``reason`` code:

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
==========================  ======  ==========================================================

Only green and amber answers carry the holder's display name and ticket type; access needs only
on green and only if the attendee agreed to share them. Every scan writes a ``scan`` row in the
same transaction; a client nonce makes a retried request return the stored answer and write
nothing new. Admitting is atomic on both engines: the unit takes the registration's row lock
before reading its check-ins, so concurrent scans of one ticket admit exactly once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import secrets
import zoneinfo
from dataclasses import dataclass, field
from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth import queries as auth_queries
from gathering.auth.rules import DUMMY_HASH, Throttled, verify_password
from gathering.core.database import Database
from gathering.core.errors import GatheringError, InvalidInput
from gathering.door import queries
from gathering.registration.tickets import ALPHABET

THROTTLE_WINDOW = dt.timedelta(minutes=15)
MAX_WRONG_PINS_PER_PASS = 5
# Stewards at one venue often share one public address; a few typos each must not lock them out.
MAX_WRONG_PINS_PER_ADDRESS = 20
# Pass links that match no pass, per address: tokens are 192 random bits, so this only stops
# noise, and it is kept apart from the wrong-PIN count above.
MAX_UNKNOWN_LINKS_PER_ADDRESS = 100
ADMISSION_OPENS_BEFORE = dt.timedelta(minutes=60)
UNDO_WINDOW = dt.timedelta(minutes=5)
MAX_CODE_LENGTH = 64
MAX_DOOR_LENGTH = 120
_DEVICE_SALT = "gathering.steward-device"
_REF_SALT = "gathering.door-ref"
REF_MAX_AGE = dt.timedelta(minutes=15)  # a help-desk match can be admitted for this long
MAX_SEARCHES_PER_PASS = 60  # per THROTTLE_WINDOW: a help desk, not a way to read the list
MAX_MATCHES = 5  # more than this: ask for more of the name instead of listing people
MAX_QUERY_LENGTH = 200
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_NONCE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CODE_SEPARATORS = str.maketrans("", "", " -")
_ALPHABET = frozenset(ALPHABET)

Kind = Literal["entry", "exit"]


class PassRefused(GatheringError):
    """The pass cannot be used: ``unknown_pass``, ``wrong_pin``, ``pass_revoked``,
    ``pass_expired``, ``not_yet_valid`` or ``session_not_on_pass``."""

    code = "pass_refused"


_REFUSAL_MESSAGES = {
    "unknown_pass": "This steward pass link is not valid. Ask the organiser for a new one.",
    "wrong_pin": "That PIN is not right for this steward pass.",
    "pass_revoked": "This steward pass has been revoked. Ask the organiser for a new one.",
    "pass_expired": "This steward pass has expired.",
    "not_yet_valid": "This steward pass is not valid yet.",
    "session_not_on_pass": "This steward pass does not cover that session.",
}


def _refused(code: str) -> PassRefused:
    return PassRefused(_REFUSAL_MESSAGES[code], code=code)


@dataclass(frozen=True)
class StewardDevice:
    """A phone signed in with a steward pass (from its signed device token)."""

    pass_id: int
    pin_fingerprint: str
    issued_at: dt.datetime


@dataclass(frozen=True)
class PassSession:
    id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    is_cancelled: bool


@dataclass(frozen=True)
class PassInfo:
    """What a steward device may know about its own pass: no people, only sessions."""

    pass_id: int
    label: str
    gathering_id: int
    gathering_slug: str
    gathering_title: str
    timezone: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    sessions: tuple[PassSession, ...]
    all_sessions: bool  # the whole gathering too, not only the sessions listed


@dataclass(frozen=True)
class StewardSession:
    token: str  # the device token, for an HttpOnly cookie
    device: StewardDevice
    info: PassInfo


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

    def to_json(self) -> dict[str, Any]:
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
    def from_json(cls, data: dict[str, Any]) -> ScanResult:
        # An erased person's stored answers keep only status, reason and time.
        first_at = data.get("first_at")
        return cls(
            status=data["status"],
            reason=data["reason"],
            kind=data.get("kind", "entry"),
            session_id=data.get("session_id"),
            at=dt.datetime.fromisoformat(data["at"]),
            name=data.get("name"),
            ticket_type=data.get("ticket_type"),
            access_needs=data.get("access_needs"),
            first_at=dt.datetime.fromisoformat(first_at) if first_at else None,
            door=data.get("door"),
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


@dataclass(frozen=True)
class SearchMatch:
    """One person the help desk found: enough to recognise them, nothing more."""

    ref: str  # signed, short-lived: admits this person through ``scan`` without their code
    name: str
    ticket_type: str | None
    place: str | None  # their place at the session searched (None: the whole gathering)
    checked_in: bool  # inside now


@dataclass(frozen=True)
class SearchResult:
    matches: tuple[SearchMatch, ...]
    too_many: bool  # more than MAX_MATCHES matched: none are listed


@dataclass(frozen=True)
class Counts:
    session_id: int | None
    checked_in: int  # inside now
    registered: int  # confirmed registrations (whole gathering) or confirmed places (session)
    capacity_left: int | None  # the session's capacity minus those inside; None: no capacity


# --- devices ----------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _pin_fingerprint(pin_hash: str) -> str:
    # Changing the PIN changes the hash, so devices opened with the old PIN stop working.
    return hashlib.sha256(pin_hash.encode()).hexdigest()[:16]


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_DEVICE_SALT)


def device_for_token(token: str, *, secret_key: str) -> StewardDevice | None:
    """The device behind a device token, or None if it is not one this service signed."""
    if not token or len(token) > 300:
        return None
    try:
        data, issued = _serializer(secret_key).loads(token, return_timestamp=True)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    pass_id, fingerprint = data.get("p"), data.get("k")
    if not isinstance(pass_id, int) or not isinstance(fingerprint, str):
        return None
    return StewardDevice(pass_id, fingerprint, issued)


def _pass_problem(row: Any, device: StewardDevice | None, now: dt.datetime) -> str | None:
    if row is None or row.revoked_at is not None:
        return "pass_revoked"
    if device is not None and not secrets.compare_digest(
        device.pin_fingerprint, _pin_fingerprint(row.pin_hash)
    ):
        return "pass_revoked"
    if now < row.valid_from:
        return "not_yet_valid"
    if now >= row.valid_until:
        return "pass_expired"
    return None


async def _pass_info(conn: AsyncConnection, row: Any) -> PassInfo:
    found = await queries.gathering_for_pass(conn, row.gathering_id)
    sessions = tuple(
        PassSession(s.id, s.title, s.starts_at, s.ends_at, s.status == "cancelled")
        for s in await queries.sessions_on_pass(conn, row)
    )
    return PassInfo(
        pass_id=row.id,
        label=row.label,
        gathering_id=found.id,
        gathering_slug=found.slug,
        gathering_title=found.title,
        timezone=found.timezone,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        sessions=sessions,
        all_sessions=bool(row.all_sessions),
    )


async def _usable_pass(conn: AsyncConnection, device: StewardDevice, now: dt.datetime) -> Any:
    row = await queries.pass_by_id(conn, device.pass_id)
    problem = _pass_problem(row, device, now)
    if problem is not None:
        raise _refused(problem)
    return row


def _minutes_left(start: dt.datetime, now: dt.datetime) -> int:
    return max(1, math.ceil((start + THROTTLE_WINDOW - now).total_seconds() / 60))


async def _count(
    conn: AsyncConnection, key: str, now: dt.datetime, limit: int, refusal: str
) -> None:
    """Count one more hit on ``key``; past ``limit`` in the window, Throttled with ``refusal``
    (``{minutes}`` says how long to wait)."""
    await queries.ensure_throttle_row(conn, key, now)
    hits, start = await auth_queries.hit_throttle(conn, key, now, THROTTLE_WINDOW)
    if hits > limit:
        raise Throttled(refusal.format(minutes=_minutes_left(start, now)))


async def open_pass(
    db: Database, token: str, pin: str, *, client_address: str, now: dt.datetime, secret_key: str
) -> StewardSession:
    """Check a pass's token and PIN and sign this device in for scanning.

    PassRefused (with its machine code) or Throttled on failure. Every attempt is counted before
    the PIN is checked, so parallel guesses cannot outrun the limit; a right PIN gives its count
    back, so stewards opening the pass correctly never lock one another out.
    """
    token, pin = token.strip(), pin.strip()
    if not token or len(token) > 200 or len(pin) > 100:
        raise _refused("unknown_pass")
    address_key = f"steward-pin-ip:{client_address}"
    unknown_key = f"steward-link-ip:{client_address}"

    async def _count_attempt(conn: AsyncConnection) -> tuple[int, str] | None:
        row = await queries.pass_by_token_hash(conn, _hash(token))
        if row is None:
            # Links that are no pass are counted apart: junk from someone on the venue's shared
            # network must not use up the wrong-PIN allowance of the stewards behind it.
            await _count(
                conn,
                unknown_key,
                now,
                MAX_UNKNOWN_LINKS_PER_ADDRESS,
                "Too many unknown steward pass links from this network. Please wait "
                "{minutes} minutes and try again.",
            )
            return None
        await _count(
            conn,
            address_key,
            now,
            MAX_WRONG_PINS_PER_ADDRESS,
            "Too many wrong steward PINs from this network. Please wait {minutes} minutes and "
            "try again.",
        )
        await _count(
            conn,
            f"steward-pin:{row.id}",
            now,
            MAX_WRONG_PINS_PER_PASS,
            "Too many wrong PINs for this steward pass. Please wait {minutes} minutes, or ask "
            "the organiser for the PIN.",
        )
        return int(row.id), str(row.pin_hash)

    # Counted in its own unit so the count survives the failed attempt.
    found = await db.write(_count_attempt)
    is_right = await verify_password(found[1] if found else DUMMY_HASH, pin)
    if found is None:
        raise _refused("unknown_pass")
    if not pin or not is_right:
        raise _refused("wrong_pin")
    pass_id, pin_hash = found

    async def _open(conn: AsyncConnection) -> PassInfo:
        await queries.refund_throttle(conn, f"steward-pin:{pass_id}")
        await queries.refund_throttle(conn, address_key)
        row = await queries.pass_by_id(conn, pass_id)
        problem = _pass_problem(row, None, now)
        if problem is not None:
            raise _refused(problem)
        await auth_queries.insert_audit_event(
            conn,
            now=now,
            actor_kind="steward_pass",
            actor_id=pass_id,
            action="steward_device_opened",
            subject_kind="steward_pass",
            subject_id=pass_id,
        )
        return await _pass_info(conn, row)

    info = await db.write(_open)
    fingerprint = _pin_fingerprint(pin_hash)
    device_token = _serializer(secret_key).dumps({"p": pass_id, "k": fingerprint})
    device = device_for_token(device_token, secret_key=secret_key)
    assert device is not None
    return StewardSession(device_token, device, info)


async def pass_info(db: Database, device: StewardDevice, *, now: dt.datetime) -> PassInfo:
    """The device's pass and the sessions it covers; PassRefused if it can no longer be used."""

    async def _read(conn: AsyncConnection) -> PassInfo:
        return await _pass_info(conn, await _usable_pass(conn, device, now))

    return await db.read(_read)


# --- scanning ---------------------------------------------------------------------------------


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
        raise InvalidInput(
            {"nonce": "Send a nonce of 1 to 64 letters, digits, '-' or '_', new for each scan."}
        )
    return client_nonce


def _checked_door(door: str) -> str:
    door = door.strip()
    if len(door) > MAX_DOOR_LENGTH:
        raise InvalidInput({"door": f"Name the door in at most {MAX_DOOR_LENGTH} characters."})
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
    now: dt.datetime


@dataclass(frozen=True)
class _Decision:
    result: ScanResult
    check_in_id: int | None  # the check-in recorded, if any
    session_id: int | None  # the session scanned for, if the pass covers it


async def _decide(
    conn: AsyncConnection, device: StewardDevice, pass_row: Any, s: _Scan
) -> _Decision:
    """The answer to one scan, the check-in it recorded (if any) and the session it was for."""
    session = None

    def answer(status: str, reason: str, **data: Any) -> _Decision:
        check_in_id = data.pop("check_in_id", None)
        result = ScanResult(status, reason, s.kind, s.session_id, s.now, **data)
        return _Decision(result, check_in_id, None if session is None else session.id)

    problem = _pass_problem(pass_row, device, s.now)
    if problem is not None:
        return answer("red", problem)
    if s.session_id is None and not pass_row.all_sessions:
        return answer("red", "session_not_on_pass")  # a pass for some sessions: not the door
    if s.session_id is not None:
        session = await queries.session_on_pass(conn, pass_row, s.session_id)
        if session is None:
            return answer("red", "session_not_on_pass")
        if session.status == "cancelled":
            return answer("red", "session_cancelled")
    if s.registration_id is not None:
        person = await queries.registration_by_id(conn, pass_row.gathering_id, s.registration_id)
    else:
        code = normalised_code(s.code)
        if code is None:
            return answer("red", "bad_code")
        person = await queries.registration_by_code(conn, pass_row.gathering_id, code)
    if person is None or person.status == "anonymised":
        return answer("red", "unknown_code")
    if person.status == "cancelled":
        return answer("red", "cancelled")
    if person.status != "confirmed":
        return answer("red", "not_confirmed")
    if session is not None:
        place = await queries.place_status(conn, person.id, session.id)
        if place is None:
            return answer("red", "not_registered_for_session")
        if place in ("waitlisted", "offered"):
            return answer("red", "waitlisted_only")
        if place != "confirmed":
            return answer("red", "cancelled")
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
            return answer("red", "not_yet_open")
        if s.now >= closes:
            return answer("red", "closed")

    # From here on the person's check-ins decide: read them under the registration's lock.
    await queries.lock_registration(conn, person.id)
    moves = await queries.moves_of(conn, person.id, s.session_id)
    is_inside = bool(moves) and moves[-1].kind == "entry"
    holder = {"name": person.name, "ticket_type": person.ticket_type}
    if s.kind == "exit":
        if not is_inside:
            return answer("red", "not_checked_in")
    elif is_inside:
        first = next(m for m in moves if m.kind == "entry")
        return answer("amber", "already_checked_in", first_at=first.at, door=first.door, **holder)
    elif moves and session is not None and not session.allow_reentry:
        return answer("red", "reentry_not_allowed")
    check_in_id = await queries.insert_check_in(
        conn,
        registration_id=person.id,
        session_id=s.session_id,
        pass_id=pass_row.id,
        kind=s.kind,
        door=s.door,
        at=s.now,
    )
    await queries.notify_door(conn, pass_row.gathering_id)
    needs = None
    if s.kind == "entry" and person.share_access_needs:
        answers = person.answers if isinstance(person.answers, dict) else {}
        needs = str(answers.get("access_needs") or "").strip() or None
    return answer(
        "green",
        "ok",
        access_needs=needs,
        check_in_id=check_in_id,
        changed_gathering_id=pass_row.gathering_id,
        **holder,
    )


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
) -> ScanResult:
    """Admit (or let out) the holder of ``code``, or of a help-desk match's ``ref`` (which needs
    ``secret_key``); see the module docstring for the answers.

    A bad code, unknown ticket or unusable pass is a red result, not an error; InvalidInput only
    for a malformed nonce, door or kind (the client's fault, not the ticket's).
    """
    nonce = _checked_nonce(client_nonce)
    if kind not in ("entry", "exit"):
        raise InvalidInput({"kind": "The kind of scan is entry or exit."})
    registration_id = None
    if ref is not None:
        # A ref that is forged, stale or made for another pass matches nobody: 0 is no row.
        registration_id = _registration_for_ref(ref, device, secret_key) or 0
    request = _Scan(code, registration_id, session_id, _checked_door(door), kind, now)

    async def _write(conn: AsyncConnection) -> ScanResult:
        pass_row = await queries.pass_for_scan(conn, device.pass_id)
        stored = await queries.scan_response(conn, device.pass_id, nonce)
        if stored is not None:
            # A retry gets the first answer, but only while the pass still works: a revoked
            # device must not read names back by replaying old nonces.
            problem = _pass_problem(pass_row, device, now)
            if problem is not None:
                return ScanResult("red", problem, kind, session_id, now)
            return ScanResult.from_json(stored)
        decision = await _decide(conn, device, pass_row, request)
        result = decision.result
        await queries.insert_scan(
            conn,
            pass_id=None if pass_row is None else pass_row.id,
            client_nonce=nonce,
            at=now,
            session_id=decision.session_id,
            door=request.door,
            kind=kind,
            result=result.status,
            reason=result.reason,
            check_in_id=decision.check_in_id,
            response=result.to_json(),
        )
        return result

    try:
        # READ COMMITTED on PostgreSQL: the registration's row lock closes the race.
        return await db.write(_write, serializable=False)
    except exc.IntegrityError:
        # The same nonce arrived twice at once and the other request won: answer as it did.
        async def _stored(conn: AsyncConnection) -> Any:
            return await queries.scan_response(conn, device.pass_id, nonce)

        stored = await db.read(_stored)
        if stored is None:
            raise
        return ScanResult.from_json(stored)


async def undo(
    db: Database, device: StewardDevice, *, nonce: str | None = None, now: dt.datetime
) -> UndoResult:
    """Undo one of this pass's own entries or exits, at most five minutes old: the one recorded
    by the scan sent with ``nonce``, or (without a nonce) the pass's newest one."""
    scan_nonce = None if nonce is None else _checked_nonce(nonce)

    async def _write(conn: AsyncConnection) -> UndoResult:
        pass_row = await _usable_pass(conn, device, now)
        if scan_nonce is None:
            last = await queries.last_move_by_pass(conn, pass_row.id)
        else:
            last = await queries.move_of_scan(conn, pass_row.id, scan_nonce)
        if last is None:
            return UndoResult("red", "nothing_to_undo")
        if now - last.at > UNDO_WINDOW:
            return UndoResult("red", "undo_too_late", last.kind, last.session_id, None, last.at)
        await queries.lock_registration(conn, last.registration_id)
        if not await queries.mark_undone(conn, last.id, now):
            return UndoResult("red", "nothing_to_undo")
        await queries.notify_door(conn, pass_row.gathering_id)
        name = await queries.registration_name(conn, last.registration_id)
        result = UndoResult(
            "green", "undone", last.kind, last.session_id, name, last.at, pass_row.gathering_id
        )
        await queries.insert_scan(
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
            response={"status": "green", "reason": "undone", "kind": last.kind},
        )
        return result

    return await db.write(_write)


# --- the help desk ----------------------------------------------------------------------------


def _ref_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_REF_SALT)


def _registration_for_ref(ref: str, device: StewardDevice, secret_key: str) -> int | None:
    if not ref or len(ref) > 300 or not secret_key:
        return None
    try:  # the age is checked against the real clock, as the ref was signed with it
        data = _ref_serializer(secret_key).loads(ref, max_age=int(REF_MAX_AGE.total_seconds()))
    except BadSignature:  # SignatureExpired included
        return None
    if not isinstance(data, dict) or data.get("p") != device.pass_id:
        return None
    registration_id = data.get("r")
    return registration_id if isinstance(registration_id, int) else None


def _words(text: str) -> list[str]:
    return [w.casefold() for w in re.split(r"[\s,]+", text) if w]


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


_QUERY_HELP = (
    "Type their first name and at least three letters of their surname (for example "
    "\u201cSam Tay\u201d), or the email address they registered with."
)


def _search_terms(query: str) -> tuple[str | None, list[str]]:
    """(email, []) or (None, [first name, surname start]); InvalidInput if too vague."""
    query = " ".join(query.split())
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInput({"query": "That is too long for a name or an email address."})
    if "@" in query:
        if not _EMAIL.fullmatch(query):
            raise InvalidInput({"query": "That is not a whole email address. " + _QUERY_HELP})
        return query.casefold(), []
    words = _words(query)
    if len(words) < 2 or _letters(words[0]) < 1 or _letters(words[-1]) < 3:
        raise InvalidInput({"query": _QUERY_HELP})
    return None, [words[0], words[-1]]


def _name_matches(name: str, first: str, surname_start: str) -> bool:
    words = _words(name)
    return (
        len(words) >= 2
        and words[0] == first
        and any(word.startswith(surname_start) for word in words[1:])
    )


async def search(
    db: Database,
    device: StewardDevice,
    query: str,
    *,
    session_id: int | None,
    now: dt.datetime,
    secret_key: str,
) -> SearchResult:
    """Find someone without their phone, narrowly: a first name and at least three letters of
    the surname, or the whole email address; only people with a live place at the session
    chosen (without one: at the pass's sessions, or anywhere in the gathering for an
    all-sessions pass); at most MAX_MATCHES, else none. Throttled per pass, and every search is
    audited (by name or by email, and how many matched; never what was typed or who).
    """
    email, name_terms = _search_terms(query)

    async def _write(conn: AsyncConnection) -> SearchResult:
        pass_row = await _usable_pass(conn, device, now)
        if session_id is not None and not await queries.session_on_pass(conn, pass_row, session_id):
            raise _refused("session_not_on_pass")
        await _count(
            conn,
            f"door-search:{pass_row.id}",
            now,
            MAX_SEARCHES_PER_PASS,
            "Too many searches from this steward pass. Please wait {minutes} minutes, or ask an "
            "organiser.",
        )
        candidates = await queries.door_candidates(conn, pass_row, session_id, email=email)
        if name_terms:
            candidates = [c for c in candidates if _name_matches(c.name, *name_terms)]
        too_many = len(candidates) > MAX_MATCHES
        await auth_queries.insert_audit_event(
            conn,
            now=now,
            actor_kind="steward_pass",
            actor_id=pass_row.id,
            action="door_search",
            subject_kind="gathering",
            subject_id=pass_row.gathering_id,
            # What was asked stays out of the log: it names someone (maybe someone who later
            # erases themselves); the kind of search and the number found are enough to spot
            # a pass being used to trawl.
            detail={
                "by": "email" if email is not None else "name",
                "session_id": session_id,
                "matches": len(candidates),
            },
        )
        if too_many:
            return SearchResult((), True)
        serializer = _ref_serializer(secret_key)
        matches = []
        for person in candidates:
            moves = await queries.moves_of(conn, person.id, session_id)
            matches.append(
                SearchMatch(
                    ref=serializer.dumps({"r": person.id, "p": pass_row.id}),
                    name=person.name,
                    ticket_type=person.ticket_type,
                    place=person.place,
                    checked_in=bool(moves) and moves[-1].kind == "entry",
                )
            )
        return SearchResult(tuple(matches), False)

    return await db.write(_write, offload=True)


async def counts(
    db: Database, device: StewardDevice, session_id: int | None, *, now: dt.datetime
) -> Counts:
    """Numbers for the door (never names): inside now, registered, capacity left."""

    async def _read(conn: AsyncConnection) -> Counts:
        pass_row = await _usable_pass(conn, device, now)
        capacity = None
        if session_id is None and not pass_row.all_sessions:
            raise _refused("session_not_on_pass")
        if session_id is not None:
            session = await queries.session_on_pass(conn, pass_row, session_id)
            if session is None:
                raise _refused("session_not_on_pass")
            capacity = session.capacity
        inside = await queries.present_count(conn, pass_row.gathering_id, session_id)
        registered = await queries.registered_count(conn, pass_row.gathering_id, session_id)
        left = None if capacity is None else max(0, capacity - inside)
        return Counts(session_id, inside, registered, left)

    return await db.read(_read)
