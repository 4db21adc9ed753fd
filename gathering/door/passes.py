"""Organisers make steward passes for the door, share them, and revoke them.

A pass is a label ("Door 2, Sunday"), a validity window, a PIN, and either all the gathering's
sessions or some. A pass's help desk confirms a named person's place, so a pass may cover only
sessions whose attendee list its maker may see (``gathering.organiser.attendees``: the network
admin sees every list, an organiser the lists of the sessions its organisation *hosts*;
co-hosting is not enough, as a co-host sees only the people who consented to it):

- a pass for **some sessions**: any organiser whose organisation hosts every one of them, so a
  group running one fringe meeting can staff its own door;
- a pass for **all sessions** (and the gathering's own door): the network admin (or the command
  line, the admin's tool), or an organiser of the organisation hosting the gathering (the same
  people who may release its programme). Made by such an organiser it covers the gathering's
  door and only the sessions its maker's organisations host, then and later: a session added
  afterwards, or a change of hosts, never widens it (``queries.hosted_by_maker`` is read at
  every scan).

A pass works only within the gathering's dates, with a day for setting up: from 00:00 on the
day before the gathering starts to the end of its last day, in its time zone; and for at most
31 days. The command line is held to the same dates.

Listing and revoking: the gathering's host organisation sees and may revoke every pass of the
gathering (labels and counts, never people); others the passes they could have made.

The pass link holds a random token that is stored only as a hash: it is shown once, when the
pass is made (a lost link means a new pass). The PIN is stored as an argon2 hash; left blank, a
random six-digit PIN is made and shown once with the link. Making and revoking passes are
audited. A pass never shows anyone a list of people.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import unicodedata
import zoneinfo
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth.accounts import hash_password
from gathering.core import audit
from gathering.core.database import Database
from gathering.core.errors import Forbidden, InvalidInput, NotFound
from gathering.core.i18n import format_datetime, gettext
from gathering.core.permissions import Actor, can_release, require_actor
from gathering.door import pass_queries as queries
from gathering.door import queries as door_queries
from gathering.door import words
from gathering.door.pass_queries import HostedSession, PassSummary
from gathering.programme import queries as programme_queries
from gathering.programme.queries import GatheringRow

MAX_LABEL = 120
PIN_DIGITS = (4, 12)
MAX_VALIDITY = dt.timedelta(days=31)
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends
# How a form error names a moment ("Saturday 05 October 2019 00:00"; Welsh names in Welsh).
_MOMENT = "EEEE dd MMMM y HH:mm"


@dataclass(frozen=True)
class PassInput:
    """The form as typed (kept to show again when something needs changing)."""

    label: str = ""
    valid_from: str = ""  # local time in the gathering's zone, YYYY-MM-DDTHH:MM
    valid_until: str = ""
    pin: str = ""
    all_sessions: bool = True
    session_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SessionChoice:
    id: int
    title: str
    starts_local: dt.datetime
    is_cancelled: bool


@dataclass(frozen=True)
class PassRow:
    id: int
    label: str
    state: str  # active | not_yet_valid | expired | revoked
    all_sessions: bool
    session_titles: tuple[str, ...]
    valid_from_local: dt.datetime
    valid_until_local: dt.datetime
    revoked_local: dt.datetime | None
    scans: int
    admitted: int
    may_revoke: bool
    covers_every_session: bool  # False: an all-sessions pass covers its maker's sessions only


@dataclass(frozen=True)
class PassesPage:
    gathering_slug: str
    gathering_title: str
    timezone: str
    may_cover_all: bool  # may make a pass for the gathering's door and all (its) sessions
    sees_every_list: bool  # an all-sessions pass would cover every session, not only theirs
    sessions: tuple[SessionChoice, ...]  # the sessions this organiser may put on a pass
    passes: tuple[PassRow, ...]  # the passes this organiser may see
    default_input: PassInput
    earliest_local: dt.datetime  # a pass works from (the day before the gathering starts)
    latest_local: dt.datetime  # until (the last minute of its last day)


@dataclass(frozen=True)
class CreatedPass:
    id: int
    label: str
    token: str  # shown once: only its hash is kept
    pin: str  # shown once if it was made here, else ""
    valid_from_local: dt.datetime
    valid_until_local: dt.datetime


def _audit_actor(actor: Actor) -> tuple[str, int | None]:
    return ("account", actor.account_id) if actor.account_id > 0 else ("command_line", None)


async def _gathering(conn: AsyncConnection, slug: str) -> GatheringRow:
    row = await programme_queries.gathering_row(conn, slug=slug)
    if row is None:
        raise NotFound(gettext(words.NO_SUCH_GATHERING))
    return row


def _validity_bounds(gathering: GatheringRow) -> tuple[dt.datetime, dt.datetime]:
    """When a pass of this gathering may work: from 00:00 the day before it starts (setting up)
    to the end of its last day, in its time zone."""
    zone = zoneinfo.ZoneInfo(gathering.timezone)
    earliest = dt.datetime.combine(gathering.starts_on - dt.timedelta(days=1), dt.time(0), zone)
    latest = dt.datetime.combine(gathering.ends_on + dt.timedelta(days=1), dt.time(0), zone)
    return earliest, latest


def _hosts(actor: Actor, session: HostedSession) -> bool:
    """The actor may see this session's whole attendee list (admin, or one of its hosts)."""
    return actor.is_admin or bool(actor.organisation_ids & session.host_ids)


def _state(row: PassSummary, now: dt.datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if now < row.valid_from:
        return "not_yet_valid"
    if now >= row.valid_until:
        return "expired"
    return "active"


def _may_handle(
    actor: Actor,
    gathering: GatheringRow,
    all_sessions: bool,
    session_ids: list[int],
    sessions: dict[int, HostedSession],
    created_by: int | None,
) -> bool:
    """May the actor see and revoke this pass."""
    if can_release(actor, gathering.host_organisation_id):
        return True
    if all_sessions:
        return created_by is not None and created_by == actor.account_id
    return bool(session_ids) and all(
        s in sessions and _hosts(actor, sessions[s]) for s in session_ids
    )


async def passes_page(db: Database, actor: Actor | None, slug: str, now: dt.datetime) -> PassesPage:
    """The passes this organiser may see (those they may revoke) and what they may cover."""
    actor = require_actor(actor)

    async def _read(conn: AsyncConnection) -> PassesPage:
        gathering = await _gathering(conn, slug)
        zone = zoneinfo.ZoneInfo(gathering.timezone)
        sessions = await queries.sessions_with_hosts(conn, gathering.id)
        by_id = {s.id: s for s in sessions}
        may_cover_all = can_release(actor, gathering.host_organisation_id)
        choices = tuple(
            SessionChoice(s.id, s.title, s.starts_at.astimezone(zone), s.status == "cancelled")
            for s in sessions
            if _hosts(actor, s)
        )
        if not choices and not may_cover_all:
            raise Forbidden(gettext(words.MAY_NOT_MAKE_PASSES))
        covered = await queries.sessions_by_pass(conn, gathering.id)
        rows = []
        for row in await queries.passes_of_gathering(conn, gathering.id):
            ids = covered.get(row.id, [])
            if not _may_handle(actor, gathering, row.all_sessions, ids, by_id, row.created_by):
                continue
            rows.append(
                PassRow(
                    id=row.id,
                    label=row.label,
                    state=_state(row, now),
                    all_sessions=row.all_sessions,
                    session_titles=tuple(by_id[s].title for s in ids if s in by_id),
                    valid_from_local=row.valid_from.astimezone(zone),
                    valid_until_local=row.valid_until.astimezone(zone),
                    revoked_local=row.revoked_at.astimezone(zone) if row.revoked_at else None,
                    scans=row.scans,
                    admitted=row.admitted,
                    may_revoke=row.revoked_at is None,
                    covers_every_session=row.made_by_admin,
                )
            )
        earliest, latest = _validity_bounds(gathering)
        return PassesPage(
            gathering_slug=gathering.slug,
            gathering_title=gathering.title,
            timezone=gathering.timezone,
            may_cover_all=may_cover_all,
            sees_every_list=actor.is_admin or all(_hosts(actor, s) for s in sessions),
            sessions=choices,
            passes=tuple(rows),
            default_input=_default_input(gathering, now, may_cover_all),
            earliest_local=earliest,
            latest_local=latest - dt.timedelta(minutes=1),
        )

    return await db.read(_read)


def _default_input(gathering: GatheringRow, now: dt.datetime, may_cover_all: bool) -> PassInput:
    """From now (or 07:00 on the gathering's first day, if that is later) to the end of its
    last day."""
    zone = zoneinfo.ZoneInfo(gathering.timezone)
    local_now = now.astimezone(zone).replace(second=0, microsecond=0)
    first_morning = dt.datetime.combine(gathering.starts_on, dt.time(7), zone)
    start = local_now if local_now.date() >= gathering.starts_on else first_morning
    end = dt.datetime.combine(gathering.ends_on, dt.time(23, 59), zone)
    if end <= start:
        end = start + dt.timedelta(hours=12)
    return PassInput(
        valid_from=start.strftime(LOCAL_FORMAT),
        valid_until=end.strftime(LOCAL_FORMAT),
        all_sessions=may_cover_all,
    )


def _clean_label(text: str) -> str:
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())


def _local_time(text: str, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    try:
        value = dt.datetime.strptime(text.strip()[:16], LOCAL_FORMAT)
    except ValueError:
        return None
    if not 2000 <= value.year <= 2100:  # also keeps the zone conversion from overflowing
        return None
    return value.replace(tzinfo=zone).astimezone(dt.UTC)


@dataclass(frozen=True)
class _Valid:
    label: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    pin: str
    pin_made: bool
    all_sessions: bool
    session_ids: list[int]


def _validated(form: PassInput, gathering: GatheringRow, known: set[int]) -> _Valid:
    errors: dict[str, str] = {}
    zone = zoneinfo.ZoneInfo(gathering.timezone)
    earliest, latest = _validity_bounds(gathering)
    label = _clean_label(form.label)
    if not label:
        errors["label"] = gettext(words.FORM_LABEL_MISSING)
    elif len(label) > MAX_LABEL:
        errors["label"] = gettext(words.FORM_LABEL_TOO_LONG).format(limit=MAX_LABEL)
    valid_from = _local_time(form.valid_from, zone)
    valid_until = _local_time(form.valid_until, zone)
    if valid_from is None:
        errors["valid_from"] = gettext(words.FORM_FROM_MISSING)
    if valid_until is None:
        errors["valid_until"] = gettext(words.FORM_UNTIL_MISSING)
    if valid_from and valid_until:
        if valid_until <= valid_from:
            errors["valid_until"] = gettext(words.FORM_UNTIL_BEFORE_FROM)
        elif valid_until - valid_from > MAX_VALIDITY:
            errors["valid_until"] = gettext(words.FORM_TOO_LONG)
        elif valid_until > latest:
            last_minute = latest - dt.timedelta(minutes=1)
            errors["valid_until"] = gettext(words.FORM_AFTER_GATHERING).format(
                latest=format_datetime(last_minute, _MOMENT, gathering.timezone)
            )
    if valid_from and valid_from < earliest:
        errors["valid_from"] = gettext(words.FORM_BEFORE_SETUP).format(
            earliest=format_datetime(earliest, _MOMENT, gathering.timezone)
        )
    elif valid_from and valid_from >= latest:
        errors["valid_from"] = gettext(words.FORM_GATHERING_OVER)
    pin = form.pin.strip()
    pin_made = not pin
    if pin_made:
        pin = f"{secrets.randbelow(10**6):06d}"
    elif not (pin.isascii() and pin.isdigit() and PIN_DIGITS[0] <= len(pin) <= PIN_DIGITS[1]):
        errors["pin"] = gettext(words.FORM_BAD_PIN)
    session_ids: list[int] = []
    if not form.all_sessions:
        for value in form.session_ids:
            if not (value.isascii() and value.isdigit() and len(value) < 12):
                errors["session_ids"] = gettext(words.FORM_UNKNOWN_SESSION)
                break
            if int(value) not in known:
                errors["session_ids"] = gettext(words.FORM_UNKNOWN_SESSION)
                break
            session_ids.append(int(value))
        if not session_ids and "session_ids" not in errors:
            errors["session_ids"] = gettext(words.FORM_NO_SESSION)
    if errors:
        raise InvalidInput(errors)
    assert valid_from is not None and valid_until is not None
    return _Valid(
        label,
        valid_from,
        valid_until,
        pin,
        pin_made,
        form.all_sessions,
        sorted(set(session_ids)),
    )


async def create_pass(
    db: Database, actor: Actor | None, slug: str, form: PassInput, *, now: dt.datetime
) -> CreatedPass:
    """Make a pass; InvalidInput (by field) if the form needs changing, Forbidden if the
    organiser may not cover what was asked."""
    actor = require_actor(actor)
    token = secrets.token_urlsafe(24)

    async def _write(conn: AsyncConnection) -> CreatedPass:
        gathering = await _gathering(conn, slug)
        zone = zoneinfo.ZoneInfo(gathering.timezone)
        sessions = {s.id: s for s in await queries.sessions_with_hosts(conn, gathering.id)}
        valid = _validated(form, gathering, set(sessions))
        if valid.all_sessions and not can_release(actor, gathering.host_organisation_id):
            raise Forbidden(gettext(words.FORM_ALL_SESSIONS_REFUSED))
        if not all(_hosts(actor, sessions[s]) for s in valid.session_ids):
            raise Forbidden(gettext(words.FORM_NOT_YOUR_SESSIONS))
        pass_id = await queries.insert_pass(
            conn,
            gathering_id=gathering.id,
            label=valid.label,
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            pin_hash=hash_password(valid.pin),
            all_sessions=valid.all_sessions,
            session_ids=valid.session_ids,
            valid_from=valid.valid_from,
            valid_until=valid.valid_until,
            created_by=actor.account_id if actor.account_id > 0 else None,
            now=now,
        )
        kind, actor_id = _audit_actor(actor)
        await audit.insert_audit_event(
            conn,
            now=now,
            actor_kind=kind,
            actor_id=actor_id,
            action="steward_pass_created",
            subject_kind="steward_pass",
            subject_id=pass_id,
            detail={
                "gathering": gathering.slug,
                "label": valid.label,
                "all_sessions": valid.all_sessions,
                "session_ids": valid.session_ids,
                "valid_from": valid.valid_from.isoformat(),
                "valid_until": valid.valid_until.isoformat(),
            },
        )
        return CreatedPass(
            pass_id,
            valid.label,
            token,
            valid.pin if valid.pin_made else "",
            valid.valid_from.astimezone(zone),
            valid.valid_until.astimezone(zone),
        )

    return await db.write(_write)


async def revoke_pass(
    db: Database, actor: Actor | None, slug: str, pass_id: int, *, now: dt.datetime
) -> bool:
    """Revoke at once: every device's next request is refused. False if already revoked."""
    actor = require_actor(actor)
    if not 0 < pass_id < 2**31:
        raise NotFound(gettext(words.NO_SUCH_STEWARD_PASS))

    async def _write(conn: AsyncConnection) -> bool:
        gathering = await _gathering(conn, slug)
        row = await door_queries.pass_by_id(conn, pass_id)
        if row is None or row.gathering_id != gathering.id:
            raise NotFound(gettext(words.NO_SUCH_STEWARD_PASS))
        sessions = {s.id: s for s in await queries.sessions_with_hosts(conn, gathering.id)}
        covered = (await queries.sessions_by_pass(conn, gathering.id)).get(pass_id, [])
        if not _may_handle(actor, gathering, row.all_sessions, covered, sessions, row.created_by):
            raise Forbidden(gettext(words.MAY_NOT_REVOKE))
        if not await queries.revoke_pass(conn, pass_id, now):
            return False
        kind, actor_id = _audit_actor(actor)
        await audit.insert_audit_event(
            conn,
            now=now,
            actor_kind=kind,
            actor_id=actor_id,
            action="steward_pass_revoked",
            subject_kind="steward_pass",
            subject_id=pass_id,
            detail={"gathering": gathering.slug, "label": row.label},
        )
        return True

    return await db.write(_write)


COMMAND_LINE = Actor(
    account_id=0,
    email="",
    display_name="the command line",
    is_admin=True,
    organisation_ids=frozenset(),
)
