"""Creating and changing sessions: validation, who may, and clash warnings.

Input arrives as the strings a form sends (``SessionInput``), so a rejected form can be shown
again exactly as typed. Times are typed in the gathering's own zone and stored in UTC.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.admin import queries as manage_queries
from gathering.admin.dates import FIRST_YEAR, LAST_YEAR, is_within_bounds
from gathering.core import content
from gathering.core.database import Database
from gathering.core.errors import Forbidden, InvalidInput, NotFound
from gathering.core.i18n import gettext
from gathering.core.permissions import (
    Actor,
    require_actor,
    require_release,
    require_session_manager,
)
from gathering.core.schema import ACCESS_KINDS, MODES, SESSION_STATUSES
from gathering.organiser import host_changes, words
from gathering.organiser import session_queries as queries
from gathering.organiser.session_queries import EditedSession, SessionHost
from gathering.organiser.when import when
from gathering.programme import queries as programme_queries
from gathering.programme.queries import GatheringRow

MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class SessionInput:
    title: str = ""
    description: str = ""
    day: str = ""  # YYYY-MM-DD in the gathering's zone
    start: str = ""  # HH:MM
    end: str = ""
    room_id: str = ""  # "" = venue tbc
    track_id: str = ""
    format: str = "in_person"
    joining_link: str = ""
    capacity: str = ""
    allow_reentry: str = "1"  # "1": people scanned out may be scanned in again
    access: str = "public"
    access_note: str = ""
    invite_code: str = ""
    language: str = "en"
    status: str = "draft"
    host_id: str = ""
    co_host_ids: tuple[str, ...] = ()
    speaker_ids: tuple[str, ...] = ()
    chair_id: str = ""
    new_speaker_name: str = ""
    new_speaker_affiliation: str = ""
    translations: tuple[tuple[str, str], ...] = ()  # issue 18: ("title_cy", text) ...


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class EditorContext:
    """What the form needs: the gathering and the choices the organiser may make."""

    gathering_id: int
    gathering_slug: str
    gathering_title: str
    timezone: str
    starts_on: dt.date
    ends_on: dt.date
    rooms: tuple[Choice, ...]
    tracks: tuple[Choice, ...]
    hosts: tuple[Choice, ...]  # organisations the actor may host as
    organisations: tuple[Choice, ...]
    speakers: tuple[Choice, ...]
    clashes: tuple[str, ...] = field(default=())
    # False for a co-host: the form shows the hosts read-only and saving keeps them.
    may_change_hosts: bool = True
    hosted_by: str = ""  # the stored host and co-hosts, shown to those who may not change them
    co_hosted_by: tuple[str, ...] = ()


async def _context(conn: AsyncConnection, actor: Actor, gathering: GatheringRow) -> EditorContext:
    organisations = await queries.organisations(conn)
    host_choices = [o for o in organisations if actor.is_admin or o.id in actor.organisation_ids]
    return EditorContext(
        gathering_id=gathering.id,
        gathering_slug=gathering.slug,
        gathering_title=gathering.title,
        timezone=gathering.timezone,
        starts_on=gathering.starts_on,
        ends_on=gathering.ends_on,
        rooms=tuple(
            Choice(str(r.id), f"{r.name}, {r.venue_name}")
            for r in await queries.rooms_of_gathering(conn, gathering.id)
        ),
        tracks=tuple(
            Choice(str(t.id), t.name)
            for t in await manage_queries.tracks_of_gathering(conn, gathering.id)
        ),
        hosts=tuple(Choice(str(o.id), o.name) for o in host_choices),
        organisations=tuple(Choice(str(o.id), o.name) for o in organisations),
        speakers=tuple(
            Choice(str(s.id), f"{s.name} ({s.affiliation})" if s.affiliation else s.name)
            for s in await queries.speakers(conn)
        ),
    )


async def _gathering(conn: AsyncConnection, slug: str) -> GatheringRow:
    row = await programme_queries.gathering_row(conn, slug=slug)
    if row is None:
        raise NotFound(gettext(words.NO_GATHERING))
    return row


async def new_session_form(
    db: Database, actor: Actor | None, gathering_slug: str
) -> tuple[EditorContext, SessionInput]:
    """An empty form for a new session; any organiser may propose sessions their group hosts."""
    actor = require_actor(actor)
    if not actor.is_admin and not actor.organisation_ids:
        raise Forbidden(gettext(words.ONLY_ORGANISERS_ADD))

    async def _read(conn: AsyncConnection) -> tuple[EditorContext, SessionInput]:
        context = await _context(conn, actor, await _gathering(conn, gathering_slug))
        default_host = context.hosts[0].value if len(context.hosts) == 1 else ""
        return context, SessionInput(day=context.starts_on.isoformat(), host_id=default_host)

    return await db.read(_read)


async def edit_session_form(
    db: Database, actor: Actor | None, gathering_slug: str, session_id: int
) -> tuple[EditorContext, SessionInput]:
    """The form filled in from a stored session, with clash warnings."""

    async def _read(conn: AsyncConnection) -> tuple[EditorContext, SessionInput]:
        gathering = await _gathering(conn, gathering_slug)
        row = await queries.session_row(conn, session_id)
        if row is None or row.gathering_id != gathering.id:
            raise NotFound(gettext(words.NO_SESSION))
        hosts = await queries.session_hosts(conn, session_id)
        checked = require_session_manager(actor, [h.organisation_id for h in hosts])
        speakers = await queries.session_speakers(conn, session_id)
        zone = zoneinfo.ZoneInfo(gathering.timezone)
        start, end = row.starts_at.astimezone(zone), row.ends_at.astimezone(zone)
        context = await _context(conn, checked, gathering)
        names = {int(c.value): c.label for c in context.organisations}
        context = replace(
            context,
            clashes=tuple(await _clashes(conn, gathering.id, row)),
            may_change_hosts=host_changes.may_change_hosts(checked, hosts),
            hosted_by=", ".join(names[h.organisation_id] for h in hosts if h.role == "host"),
            co_hosted_by=tuple(names[h.organisation_id] for h in hosts if h.role == "co_host"),
        )
        form = SessionInput(
            title=row.title,
            description=row.description,
            day=start.date().isoformat(),
            start=start.strftime("%H:%M"),
            end=end.strftime("%H:%M"),
            room_id="" if row.room_id is None else str(row.room_id),
            track_id="" if row.track_id is None else str(row.track_id),
            format=row.format,
            joining_link=row.joining_link,
            capacity="" if row.capacity is None else str(row.capacity),
            allow_reentry="1" if row.allow_reentry else "",
            access=row.access,
            access_note=row.access_note,
            invite_code=row.invite_code,
            language=row.language,
            status=row.status,
            host_id=next((str(h.organisation_id) for h in hosts if h.role == "host"), ""),
            co_host_ids=tuple(str(h.organisation_id) for h in hosts if h.role == "co_host"),
            speaker_ids=tuple(str(s.speaker_id) for s in speakers),
            chair_id=next((str(s.speaker_id) for s in speakers if s.role == "chair"), ""),
            translations=tuple(content.form_values(row.translations).items()),
        )
        return context, form

    return await db.read(_read)


async def save_session(
    db: Database,
    actor: Actor | None,
    gathering_slug: str,
    form: SessionInput,
    session_id: int | None = None,
) -> int:
    """Create (``session_id`` None) or update a session; InvalidInput lists every bad field."""
    actor = require_actor(actor)

    async def _write(conn: AsyncConnection) -> int:
        now = dt.datetime.now(dt.UTC)
        gathering = await _gathering(conn, gathering_slug)
        before: list[SessionHost] = []
        kept_hosts: list[tuple[int, str]] | None = None
        if session_id is not None:
            row = await queries.session_row(conn, session_id)
            if row is None or row.gathering_id != gathering.id:
                raise NotFound(gettext(words.NO_SESSION))
            before = await queries.session_hosts(conn, session_id)
            require_session_manager(actor, [h.organisation_id for h in before])
            if not host_changes.may_change_hosts(actor, before):
                kept_hosts = _hosts_kept_by_co_host(form, before)
        context = await _context(conn, actor, gathering)
        values, hosts, speakers = _validated(form, context, kept_hosts)
        if form.new_speaker_name.strip():
            speakers.append(
                (
                    await _new_speaker(
                        conn, form.new_speaker_name, form.new_speaker_affiliation, now
                    ),
                    "speaker",
                )
            )
        values["updated_at"] = now
        if session_id is None:
            values.update(gathering_id=gathering.id, created_at=now)
            saved_id = await queries.insert_session(conn, values)
        else:
            saved_id = session_id
            await queries.update_session(conn, saved_id, values)
        after = [SessionHost(o, r) for o, r in hosts]
        if session_id is not None and not host_changes.same_hosts(before, after):
            await host_changes.record_host_change(conn, actor, saved_id, before, after, now=now)
        await queries.replace_hosts(conn, saved_id, hosts)
        await queries.replace_speakers(conn, saved_id, speakers)
        return saved_id

    return await db.write(_write)


def _hosts_kept_by_co_host(form: SessionInput, current: list[SessionHost]) -> list[tuple[int, str]]:
    """The stored hosts, for an editor who may not change them (a co-host).

    The form shows hosts read-only and sends none; a form that sends exactly the stored hosts
    (an older page) is accepted too. Anything else is an attempt to change them: Forbidden.
    """
    kept = [(h.organisation_id, h.role) for h in current]
    sent_host, sent_co_hosts = form.host_id.strip(), set(form.co_host_ids) - {form.host_id}
    if not sent_host and not sent_co_hosts:
        return kept
    stored_host = {str(o) for o, r in kept if r == "host"}
    stored_co_hosts = {str(o) for o, r in kept if r == "co_host"}
    if {sent_host} != stored_host or sent_co_hosts != stored_co_hosts:
        raise Forbidden(gettext(words.ONLY_HOSTS_CHANGE_HOSTS))
    return kept


def _validated(
    form: SessionInput,
    context: EditorContext,
    kept_hosts: list[tuple[int, str]] | None = None,
) -> tuple[dict[str, object], list[tuple[int, str]], list[tuple[int, str]]]:
    errors: dict[str, str] = {}
    title = _clean_line(form.title)
    if not title:
        errors["title"] = gettext(words.TITLE_MISSING)
    elif len(title) > MAX_TITLE:
        errors["title"] = gettext(words.TITLE_TOO_LONG).format(max=MAX_TITLE)
    if len(form.description) > MAX_DESCRIPTION:
        errors["description"] = gettext(words.DESCRIPTION_TOO_LONG).format(max=MAX_DESCRIPTION)
    zone = zoneinfo.ZoneInfo(context.timezone)
    starts = ends = None
    try:
        day = dt.date.fromisoformat(form.day)
    except ValueError:
        errors["day"] = gettext(words.DAY_GARBLED)
    else:
        if not is_within_bounds(day):
            errors["day"] = gettext(words.DAY_OUT_OF_RANGE).format(first=FIRST_YEAR, last=LAST_YEAR)
        elif not context.starts_on <= day <= context.ends_on:
            errors["day"] = gettext(words.DAY_OUTSIDE).format(
                first=when(context.starts_on, "dd MMMM"), last=when(context.ends_on, "dd MMMM y")
            )
        starts = _local(day, form.start, zone)
        ends = _local(day, form.end, zone)
        if starts is None:
            errors["start"] = gettext(words.START_GARBLED)
        if ends is None:
            errors["end"] = gettext(words.END_GARBLED)
        if starts and ends and ends <= starts:
            errors["end"] = gettext(words.END_BEFORE_START)
    room_id = _choice_id(
        form.room_id, context.rooms, "room_id", gettext(words.ROOM_UNKNOWN), errors
    )
    track_id = _choice_id(
        form.track_id, context.tracks, "track_id", gettext(words.TRACK_UNKNOWN), errors
    )
    if form.format not in MODES:
        errors["format"] = gettext(words.FORMAT_UNKNOWN)
    link = form.joining_link.strip()
    if link:
        parts = urlsplit(link)
        if parts.scheme != "https" or not parts.netloc or len(link) > 500:
            errors["joining_link"] = gettext(words.LINK_GARBLED)
    if form.format in ("online", "hybrid") and form.status == "published" and not link:
        errors["joining_link"] = gettext(words.LINK_MISSING)
    capacity = None
    if form.capacity.strip():
        try:
            capacity = int(form.capacity)
            if not 0 <= capacity <= 100_000:
                raise ValueError
        except ValueError:
            errors["capacity"] = gettext(words.CAPACITY_GARBLED)
    if form.access not in ACCESS_KINDS:
        errors["access"] = gettext(words.ACCESS_UNKNOWN)
    invite_code = form.invite_code.strip()
    if form.access == "invite" and not invite_code:
        errors["invite_code"] = gettext(words.INVITE_CODE_MISSING)
    if len(invite_code) > 64:
        errors["invite_code"] = gettext(words.INVITE_CODE_TOO_LONG)
    if len(form.access_note) > 2000:
        errors["access_note"] = gettext(words.ACCESS_NOTE_TOO_LONG)
    language = form.language.strip() or "en"
    if not _LANGUAGE.match(language):
        errors["language"] = gettext(words.LANGUAGE_GARBLED)
    if form.status not in SESSION_STATUSES:
        errors["status"] = gettext(words.STATUS_UNKNOWN)
    hosts = _validated_hosts(form, context, errors) if kept_hosts is None else kept_hosts
    speaker_values = {c.value for c in context.speakers}
    speakers: list[tuple[int, str]] = []
    for value in dict.fromkeys(form.speaker_ids):
        if value not in speaker_values:
            errors["speaker_ids"] = gettext(words.SPEAKER_UNKNOWN)
        else:
            speakers.append((int(value), "chair" if value == form.chair_id else "speaker"))
    if form.chair_id and form.chair_id not in form.speaker_ids:
        errors["chair_id"] = gettext(words.CHAIR_NOT_SPEAKER)
    new_name = _clean_line(form.new_speaker_name)
    if len(new_name) > 200 or len(form.new_speaker_affiliation) > 200:
        errors["new_speaker_name"] = gettext(words.NEW_SPEAKER_TOO_LONG)
    given = dict(form.translations)  # issue 18; a form without these fields keeps them
    translations = content.from_form(given.get, errors) if given else None
    if errors:
        raise InvalidInput(errors)
    assert starts is not None and ends is not None
    values = {
        "title": title,
        "description": form.description.replace("\r\n", "\n"),
        "starts_at": starts,
        "ends_at": ends,
        "room_id": room_id,
        "track_id": track_id,
        "format": form.format,
        "joining_link": link,
        "capacity": capacity,
        "allow_reentry": form.allow_reentry == "1",
        "access": form.access,
        "access_note": form.access_note.strip(),
        "invite_code": invite_code if form.access == "invite" else "",
        "language": language,
        "status": form.status,
    }
    if translations is not None:
        values["translations"] = translations
    return values, hosts, speakers


def _validated_hosts(
    form: SessionInput, context: EditorContext, errors: dict[str, str]
) -> list[tuple[int, str]]:
    """Host (one of the actor's organisations, see ``_context``) and co-hosts from the form."""
    hosts: list[tuple[int, str]] = []
    if form.host_id not in {c.value for c in context.hosts}:
        errors["host_id"] = gettext(words.HOST_NOT_YOURS)
    else:
        hosts.append((int(form.host_id), "host"))
    org_values = {c.value for c in context.organisations}
    for value in dict.fromkeys(form.co_host_ids):
        if value not in org_values:
            errors["co_host_ids"] = gettext(words.CO_HOST_UNKNOWN)
        elif value != form.host_id:
            hosts.append((int(value), "co_host"))
    return hosts


def _clean_line(text: str) -> str:
    """One line of text: control characters dropped, spaces folded."""
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())


def _local(day: dt.date, text: str, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    try:
        clock = dt.time.fromisoformat(text.strip())
    except ValueError:
        return None
    return dt.datetime.combine(day, clock.replace(second=0, microsecond=0), zone).astimezone(dt.UTC)


def _choice_id(
    value: str, choices: tuple[Choice, ...], name: str, message: str, errors: dict[str, str]
) -> int | None:
    if not value:
        return None
    if value not in {c.value for c in choices}:
        errors[name] = message
        return None
    return int(value)


async def _new_speaker(conn: AsyncConnection, name: str, affiliation: str, now: dt.datetime) -> int:
    name = _clean_line(name)
    base = (
        re.sub(
            r"[^a-z0-9]+",
            "-",
            unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower(),
        ).strip("-")
        or "speaker"
    )
    slug, n = base[:70], 1
    while await queries.slug_taken(conn, slug):
        n += 1
        slug = f"{base[:70]}-{n}"
    return await queries.insert_speaker(
        conn, slug=slug, name=name, affiliation=_clean_line(affiliation), now=now
    )


async def _clashes(conn: AsyncConnection, gathering_id: int, row: EditedSession) -> list[str]:
    """Warnings: another session in the same room at the same time; a speaker in two places."""
    if row.status == "cancelled":
        return []
    others = await queries.overlapping_sessions(
        conn, gathering_id, row.id, row.starts_at, row.ends_at
    )
    warnings = [
        gettext(words.CLASH_ROOM).format(title=o.title)
        for o in others
        if row.room_id is not None and o.room_id == row.room_id
    ]
    speakers = await queries.speaker_ids_of(conn, [row.id, *(o.id for o in others)])
    mine = speakers.get(row.id, set())
    for other in others:
        if mine & speakers.get(other.id, set()):
            warnings.append(gettext(words.CLASH_SPEAKER).format(title=other.title))
    return warnings


# --- releasing from the organiser pages ------------------------------------------------------


@dataclass(frozen=True)
class ReleaseTarget:
    gathering_id: int
    slug: str
    title: str


async def release_target(db: Database, actor: Actor | None, gathering_slug: str) -> ReleaseTarget:
    """The gathering to release, if this actor may release it."""

    async def _read(conn: AsyncConnection) -> ReleaseTarget:
        gathering = await _gathering(conn, gathering_slug)
        require_release(actor, gathering.host_organisation_id)
        return ReleaseTarget(gathering.id, gathering.slug, gathering.title)

    return await db.read(_read)
