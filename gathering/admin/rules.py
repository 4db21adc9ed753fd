"""The network admin's rules for gatherings, venues, rooms, tracks, organisations, speakers,
and how a gathering takes registrations (open or closed, ticket types, questions).

Every function takes the actor first and refuses anyone but a network admin. Form values come in
as plain strings (what a browser sends); each write is one unit of work with an audit event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.admin import queries
from gathering.admin.dates import FIRST_YEAR, LAST_YEAR, is_within_bounds
from gathering.auth.accounts import check_email
from gathering.core.audit import insert_audit_event
from gathering.core.clock import utc_now
from gathering.core.database import Database
from gathering.core.errors import Conflict, InvalidInput, NotFound
from gathering.core.permissions import Actor, require_admin
from gathering.core.schema import MODES

Form = Mapping[str, str]
Clean = Callable[[Form], tuple[dict[str, Any], dict[str, str]]]

MAX_PHOTO_BYTES = 2 * 1024 * 1024
MAX_LONG_TEXT = 20_000
MAX_BIO = 5_000
TRISTATE = ("unknown", "yes", "no")
COMMON_TIMEZONES = (
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Brussels",
    "Europe/Amsterdam",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Vienna",
    "Europe/Prague",
    "Europe/Warsaw",
    "Europe/Copenhagen",
    "Europe/Stockholm",
    "Europe/Oslo",
    "Europe/Helsinki",
    "Europe/Athens",
    "Europe/Istanbul",
    "UTC",
)
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Magic numbers: the bytes decide the type, never the file name or the declared type.
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
# Parent of each kind, for rows created inside another (a room inside a venue).
PARENTS = {"venue": ("gathering", "gathering_id"), "room": ("venue", "venue_id")}
PARENTS["track"] = ("gathering", "gathering_id")
PARENTS["ticket_type"] = ("gathering", "gathering_id")
LABEL_FIELD = {"gathering": "title"}
# How each kind is named in messages.
KIND_LABEL = {"ticket_type": "ticket type"}
MAX_POSITION = 10_000


@dataclass(frozen=True)
class StandardQuestion:
    """A question the registration form may ask, offered with a default wording."""

    key: str
    title: str  # what the admin page calls it
    label: str  # the default wording attendees see
    help: str = ""


# The only questions a gathering may ask: the registration form and the steward pages rely on
# these keys (access_needs above all), so organisers choose among them rather than invent keys.
STANDARD_QUESTIONS = (
    StandardQuestion("constituency", "Constituency / CLP", "Constituency Labour Party (CLP)"),
    StandardQuestion("organisation", "Organisation", "Union branch or group, if any"),
    StandardQuestion(
        "access_needs",
        "Access needs",
        "Access needs we should plan for",
        "For example step-free access, a hearing loop, BSL interpretation or a quiet room.",
    ),
    StandardQuestion("dietary", "Dietary needs", "Dietary needs"),
    StandardQuestion("free_text", "Free text", "Anything else you would like us to know"),
)
QUESTION_KEYS = tuple(q.key for q in STANDARD_QUESTIONS)


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def slugify(text: str) -> str:
    """'Labour Left Alliance — Fringe' → 'labour-left-alliance-fringe' (at most 80 characters)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].strip("-")


def photo_type(data: bytes) -> str | None:
    """The image type the bytes really are (JPEG, PNG or WebP), or None."""
    if data.startswith(_PNG):
        return "image/png"
    if data.startswith(_JPEG):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


# --- validation -------------------------------------------------------------------------------


def _text(
    form: Form, name: str, errors: dict[str, str], label: str, max_len: int, required: bool = False
) -> str:
    value = form.get(name, "").strip()
    if "\x00" in value:
        errors[name] = f"{label} contains a character that cannot be stored."
    elif required and not value:
        errors[name] = f"Enter {label.lower()}."
    elif len(value) > max_len:
        errors[name] = f"{label} must be at most {max_len:,} characters (it has {len(value):,})."
    return value


def _slug(form: Form, errors: dict[str, str], source: str) -> str:
    value = form.get("slug", "").strip().lower()
    if not value:
        value = slugify(source)
        if not value and source:
            errors["slug"] = "Enter a short address name using letters a–z, digits and hyphens."
        return value
    if len(value) > 80 or not _SLUG.match(value):
        errors["slug"] = "Use only a–z, 0–9 and single hyphens between them (at most 80)."
    return value


def _tristate(form: Form, name: str, errors: dict[str, str]) -> bool | None:
    value = form.get(name, "unknown")
    if value not in TRISTATE:
        errors[name] = "Choose yes, no or not known."
        return None
    return {"yes": True, "no": False}.get(value)


def _int(
    form: Form, name: str, errors: dict[str, str], label: str, low: int, high: int
) -> int | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        errors[name] = f"{label} must be a whole number."
        return None
    if not low <= value <= high:
        errors[name] = f"{label} must be between {low:,} and {high:,}."
    return value


def _date(form: Form, name: str, errors: dict[str, str], label: str) -> dt.date | None:
    raw = form.get(name, "").strip()
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = f"Enter {label.lower()} as a date, like 2026-09-27."
        return None
    if not is_within_bounds(day):
        errors[name] = (
            f"Enter {label.lower()} between the years {FIRST_YEAR} and {LAST_YEAR} "
            f"(you entered {raw})."
        )
        return None
    return day


def clean_gathering(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    title = _text(form, "title", errors, "Title", 200, required=True)
    values: dict[str, Any] = {
        "title": title,
        "slug": _slug(form, errors, title),
        "description": _text(form, "description", errors, "Description", MAX_LONG_TEXT),
        "location": _text(form, "location", errors, "Location", 200),
        "data_controller": _text(form, "data_controller", errors, "Data controller", 300),
        "privacy_contact": _text(form, "privacy_contact", errors, "Privacy contact", 320),
        "is_listed": form.get("is_listed", "") == "on",
        "registration_open": form.get("registration_open", "") == "on",
    }
    starts = _date(form, "starts_on", errors, "First day")
    ends = _date(form, "ends_on", errors, "Last day")
    if starts and ends and ends < starts:
        errors["ends_on"] = "The last day must be on or after the first day."
    values.update(starts_on=starts, ends_on=ends)
    zone = form.get("timezone", "").strip()
    if zone not in _zones():
        errors["timezone"] = "Enter an IANA time zone such as Europe/London."
    values["timezone"] = zone
    if form.get("mode", "") not in MODES:
        errors["mode"] = "Choose in person, online or hybrid."
    values["mode"] = form.get("mode", "")
    host = _int(form, "host_organisation_id", errors, "Host organisation", 1, 2**31 - 1)
    values["host_organisation_id"] = host
    if values["privacy_contact"] and "privacy_contact" not in errors:
        try:
            values["privacy_contact"] = check_email(values["privacy_contact"], "privacy_contact")
        except InvalidInput as error:
            errors.update(error.errors)
    days = _int(form, "retention_days", errors, "Retention", 1, 3650)
    if days is None and "retention_days" not in errors:
        errors["retention_days"] = "Enter how many days to keep personal data (1 to 3,650)."
    values["retention_days"] = days
    return values, errors


def clean_venue(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "name": _text(form, "name", errors, "Name", 200, required=True),
        "address": _text(form, "address", errors, "Address", 2000),
        "access_notes": _text(form, "access_notes", errors, "Access notes", MAX_BIO),
    }
    for name in ("step_free", "hearing_loop", "bsl", "quiet_room"):
        values[name] = _tristate(form, name, errors)
    return values, errors


def clean_room(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "name": _text(form, "name", errors, "Name", 200, required=True),
        "capacity": _int(form, "capacity", errors, "Capacity", 0, 1_000_000),
        "step_free": _tristate(form, "step_free", errors),
        "access_notes": _text(form, "access_notes", errors, "Access notes", MAX_BIO),
    }
    return values, errors


def clean_track(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    name = _text(form, "name", errors, "Name", 120, required=True)
    return {"name": name, "slug": _slug(form, errors, name)}, errors


def clean_organisation(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    name = _text(form, "name", errors, "Name", 200, required=True)
    values: dict[str, Any] = {
        "name": name,
        "slug": _slug(form, errors, name),
        "short_name": _text(form, "short_name", errors, "Short name", 40),
        "description": _text(form, "description", errors, "Description", MAX_LONG_TEXT),
        "website": _text(form, "website", errors, "Website", 300),
        "contact_email": _text(form, "contact_email", errors, "Contact email", 320),
    }
    website = values["website"]
    if website and "website" not in errors:
        parts = urlsplit(website)
        if parts.scheme != "https" or not parts.hostname or " " in website:
            errors["website"] = "Enter a full https:// address, or leave it empty."
    if values["contact_email"] and "contact_email" not in errors:
        try:
            values["contact_email"] = check_email(values["contact_email"], "contact_email")
        except InvalidInput as error:
            errors.update(error.errors)
    return values, errors


def clean_speaker(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    name = _text(form, "name", errors, "Name", 200, required=True)
    values: dict[str, Any] = {
        "name": name,
        "slug": _slug(form, errors, name),
        "affiliation": _text(form, "affiliation", errors, "Affiliation", 200),
        "bio": _text(form, "bio", errors, "Short bio", MAX_BIO),
    }
    return values, errors


def clean_ticket_type(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "name": _text(form, "name", errors, "Name", 80, required=True),
        "suggested_contribution": _text(
            form, "suggested_contribution", errors, "Suggested contribution", 200
        ),
        "position": _int(form, "position", errors, "Position", 0, MAX_POSITION),
    }
    return values, errors


def clean_questions(form: Form) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The standard questions a form asks for: key → label, help, is_required (enabled only)."""
    errors: dict[str, str] = {}
    asked: dict[str, dict[str, Any]] = {}
    for q in STANDARD_QUESTIONS:
        enabled = form.get(f"{q.key}_enabled", "") == "on"
        required = form.get(f"{q.key}_required", "") == "on"
        name = f"{q.key}_label"
        label = _text(form, name, errors, f"Wording of “{q.title}”", 200, required=enabled)
        if enabled and name in errors and not label:
            errors[name] = f"Enter the wording of the “{q.title}” question, or stop asking it."
        help_text = _text(form, f"{q.key}_help", errors, f"Help for “{q.title}”", 400)
        if required and not enabled:
            errors[f"{q.key}_required"] = (
                f"“{q.title}” can only be required if it is asked: tick “Ask this question” too."
            )
        if enabled:
            asked[q.key] = {"label": label, "help": help_text, "is_required": required}
    return asked, errors


CLEANERS: dict[str, Clean] = {
    "gathering": clean_gathering,
    "venue": clean_venue,
    "room": clean_room,
    "track": clean_track,
    "organisation": clean_organisation,
    "speaker": clean_speaker,
    "ticket_type": clean_ticket_type,
}


def _form_value(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "on"
    if value is False:
        return ""
    return str(value)


def form_of(kind: str, row: Any) -> dict[str, str]:
    """A row as the strings its edit form shows."""
    values = {key: _form_value(value) for key, value in row._mapping.items()}
    if kind in ("venue", "room"):
        for name in ("step_free", "hearing_loop", "bsl", "quiet_room"):
            if name in row._mapping:
                values[name] = {True: "yes", False: "no"}.get(row._mapping[name], "unknown")
    return values


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """What the list pages show."""

    gatherings: Sequence[Any] = ()
    organisations: Sequence[Any] = ()
    speakers: Sequence[Any] = ()


@dataclass(frozen=True)
class Editing:
    """A row to edit, as form strings, with its children and the choices its form offers."""

    kind: str
    row_id: int
    form: dict[str, str]
    label: str
    parent_id: int | None = None
    children: dict[str, Sequence[Any]] = field(default_factory=dict)
    organisations: Sequence[Any] = ()


async def listing(db: Database, actor: Actor | None) -> Listing:
    """Every gathering, organisation and speaker, for the admin lists."""
    require_admin(actor)

    async def _read(conn: AsyncConnection) -> Listing:
        return Listing(
            gatherings=await queries.all_gatherings(conn),
            organisations=await queries.all_organisations(conn),
            speakers=await queries.all_speakers(conn),
        )

    return await db.read(_read)


async def organisation_choices(db: Database, actor: Actor | None) -> Sequence[Any]:
    """Organisations for the host select of a gathering form."""
    require_admin(actor)
    return await db.read(queries.all_organisations)


async def parent_label(db: Database, actor: Actor | None, kind: str, parent_id: int) -> str:
    """The name of the gathering or venue a new row goes into; NotFound if there is none."""
    require_admin(actor)
    parent_kind = PARENTS[kind][0]
    row = await db.read(lambda conn: queries.row_by_id(conn, parent_kind, parent_id))
    if row is None:
        raise NotFound(f"There is no such {parent_kind}.")
    return str(row.title if parent_kind == "gathering" else row.name)


async def editing(db: Database, actor: Actor | None, kind: str, row_id: int) -> Editing:
    """One row for its edit (or delete) page; NotFound if it is gone."""
    require_admin(actor)

    async def _read(conn: AsyncConnection) -> Editing:
        row = await queries.row_by_id(conn, kind, row_id)
        if row is None:
            raise NotFound(
                f"There is no such {KIND_LABEL.get(kind, kind)}. It may have been deleted."
            )
        children: dict[str, Sequence[Any]] = {}
        organisations: Sequence[Any] = ()
        if kind == "gathering":
            children["venues"] = await queries.venues_of_gathering(conn, row_id)
            children["tracks"] = await queries.tracks_of_gathering(conn, row_id)
            children["ticket_types"] = await queries.ticket_types_of_gathering(conn, row_id)
            children["questions"] = await queries.questions_of_gathering(conn, row_id)
            organisations = await queries.all_organisations(conn)
        elif kind == "venue":
            children["rooms"] = await queries.rooms_of_venue(conn, row_id)
        parent_id = getattr(row, PARENTS[kind][1]) if kind in PARENTS else None
        label = getattr(row, LABEL_FIELD.get(kind, "name"))
        return Editing(kind, row_id, form_of(kind, row), label, parent_id, children, organisations)

    return await db.read(_read)


async def speaker_photo(db: Database, slug: str) -> tuple[str, bytes, dt.datetime]:
    """A speaker's photo (public): content type, bytes, when it changed. NotFound if none."""
    row = await db.read(lambda conn: queries.speaker_photo_by_slug(conn, slug))
    if row is None:
        raise NotFound("This speaker has no photo.")
    return str(row.content_type), bytes(row.data), row.updated_at


# --- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Photo:
    """An uploaded file: at most MAX_PHOTO_BYTES + 1 bytes of it, so too-large files are seen."""

    data: bytes
    filename: str


def _check_photo(photo: Photo | None, errors: dict[str, str]) -> str | None:
    if photo is None:
        return None
    if len(photo.data) > MAX_PHOTO_BYTES:
        errors["photo"] = "The photo is larger than 2 MB. Choose a smaller image."
        return None
    if not photo.data:
        errors["photo"] = "The chosen file is empty."
        return None
    content_type = photo_type(photo.data)
    if content_type is None:
        errors["photo"] = "The photo must be a JPEG, PNG or WebP image."
    return content_type


async def _unique_slug(
    conn: AsyncConnection,
    kind: str,
    values: dict[str, Any],
    row_id: int | None,
    generated: bool,
    gathering_id: int | None,
) -> None:
    base = values["slug"]
    for n in range(1, 100):
        candidate = base if n == 1 else f"{base[:75]}-{n}"
        owner = await queries.slug_owner(conn, kind, candidate, gathering_id=gathering_id)
        if owner is None or owner == row_id:
            values["slug"] = candidate
            return
        if not generated:
            break
    raise InvalidInput({"slug": "That short address name is already used. Choose another."})


async def _save(
    db: Database,
    actor: Actor | None,
    kind: str,
    form: Form,
    *,
    row_id: int | None = None,
    parent_id: int | None = None,
    photo: Photo | None = None,
    remove_photo: bool = False,
) -> int:
    admin = require_admin(actor)
    values, errors = CLEANERS[kind](form)
    content_type = _check_photo(photo, errors) if kind == "speaker" else None
    if errors:
        raise InvalidInput(errors)
    generated = "slug" in values and not form.get("slug", "").strip()

    async def _write(conn: AsyncConnection) -> int:
        now = utc_now()
        gathering_id: int | None = None
        if row_id is None and kind in PARENTS:
            parent_kind, column = PARENTS[kind]
            if parent_id is None or await queries.row_by_id(conn, parent_kind, parent_id) is None:
                raise NotFound(f"There is no such {parent_kind}.")
            values[column] = parent_id
        current = None
        if row_id is not None:
            current = await queries.row_by_id(conn, kind, row_id)
            if current is None:
                raise NotFound(
                    f"There is no such {KIND_LABEL.get(kind, kind)}. It may have been deleted."
                )
        if kind == "track":
            gathering_id = parent_id if current is None else current.gathering_id
        if "slug" in values:
            await _unique_slug(conn, kind, values, row_id, generated, gathering_id)
        host = values.get("host_organisation_id")
        if host is not None and await queries.row_by_id(conn, "organisation", host) is None:
            raise InvalidInput({"host_organisation_id": "Choose an organisation from the list."})
        if kind == "gathering":
            values["updated_at"] = now
        if kind == "ticket_type" and values.get("position") is None:
            if current is None:  # a new ticket type goes last unless told otherwise
                values["position"] = await queries.next_ticket_type_position(conn, parent_id or 0)
            else:  # left empty when editing: stays where it is
                values.pop("position", None)
        if photo is not None and content_type is not None:
            values["photo"] = hashlib.sha256(photo.data).hexdigest()[:12]
        elif remove_photo:
            values["photo"] = None
        if current is None:
            if kind not in ("track", "ticket_type"):  # these have no created_at
                values["created_at"] = now
            saved_id = await queries.insert_row(conn, kind, values)
            action = "created"
        else:
            await queries.update_row(conn, kind, row_id or 0, values)
            saved_id = current.id
            action = "updated"
        if photo is not None and content_type is not None:
            await queries.replace_speaker_photo(conn, saved_id, content_type, photo.data, now)
        elif remove_photo:
            await queries.delete_speaker_photo(conn, saved_id)
        detail: dict[str, Any] = {k: values[k] for k in ("slug", "name", "title") if k in values}
        await insert_audit_event(
            conn,
            now=now,
            actor_kind="account",
            actor_id=admin.account_id,
            action=f"admin.{kind}_{action}",
            subject_kind=kind,
            subject_id=saved_id,
            detail=detail,
        )
        return saved_id

    return await db.write(_write)


async def create_gathering(db: Database, actor: Actor | None, form: Form) -> int:
    return await _save(db, actor, "gathering", form)


async def update_gathering(db: Database, actor: Actor | None, row_id: int, form: Form) -> int:
    return await _save(db, actor, "gathering", form, row_id=row_id)


async def create_venue(db: Database, actor: Actor | None, gathering_id: int, form: Form) -> int:
    return await _save(db, actor, "venue", form, parent_id=gathering_id)


async def update_venue(db: Database, actor: Actor | None, row_id: int, form: Form) -> int:
    return await _save(db, actor, "venue", form, row_id=row_id)


async def create_room(db: Database, actor: Actor | None, venue_id: int, form: Form) -> int:
    return await _save(db, actor, "room", form, parent_id=venue_id)


async def update_room(db: Database, actor: Actor | None, row_id: int, form: Form) -> int:
    return await _save(db, actor, "room", form, row_id=row_id)


async def create_track(db: Database, actor: Actor | None, gathering_id: int, form: Form) -> int:
    return await _save(db, actor, "track", form, parent_id=gathering_id)


async def update_track(db: Database, actor: Actor | None, row_id: int, form: Form) -> int:
    return await _save(db, actor, "track", form, row_id=row_id)


async def create_organisation(db: Database, actor: Actor | None, form: Form) -> int:
    return await _save(db, actor, "organisation", form)


async def update_organisation(db: Database, actor: Actor | None, row_id: int, form: Form) -> int:
    return await _save(db, actor, "organisation", form, row_id=row_id)


async def create_speaker(
    db: Database, actor: Actor | None, form: Form, photo: Photo | None = None
) -> int:
    return await _save(db, actor, "speaker", form, photo=photo)


async def update_speaker(
    db: Database,
    actor: Actor | None,
    row_id: int,
    form: Form,
    photo: Photo | None = None,
    *,
    remove_photo: bool = False,
) -> int:
    return await _save(
        db, actor, "speaker", form, row_id=row_id, photo=photo, remove_photo=remove_photo
    )


async def create_ticket_type(
    db: Database, actor: Actor | None, gathering_id: int, form: Form
) -> int:
    return await _save(db, actor, "ticket_type", form, parent_id=gathering_id)


async def update_ticket_type(db: Database, actor: Actor | None, row_id: int, form: Form) -> int:
    return await _save(db, actor, "ticket_type", form, row_id=row_id)


@dataclass(frozen=True)
class QuestionSettings:
    """The standard questions of one gathering, as the strings of the questions form."""

    gathering_id: int
    gathering_label: str
    form: dict[str, str]
    standard: Sequence[StandardQuestion] = STANDARD_QUESTIONS


def _question_form(rows: Sequence[Any]) -> dict[str, str]:
    stored = {row.key: row for row in rows}
    form: dict[str, str] = {}
    for q in STANDARD_QUESTIONS:
        row = stored.get(q.key)
        form[f"{q.key}_enabled"] = "on" if row is not None else ""
        form[f"{q.key}_required"] = "on" if row is not None and row.is_required else ""
        form[f"{q.key}_label"] = row.label if row is not None else q.label
        form[f"{q.key}_help"] = row.help if row is not None else q.help
    return form


async def question_settings(
    db: Database, actor: Actor | None, gathering_id: int
) -> QuestionSettings:
    """Which standard questions a gathering asks, for its questions form. NotFound if none."""
    require_admin(actor)

    async def _read(conn: AsyncConnection) -> QuestionSettings:
        row = await queries.row_by_id(conn, "gathering", gathering_id)
        if row is None:
            raise NotFound("There is no such gathering. It may have been deleted.")
        rows = await queries.questions_of_gathering(conn, gathering_id)
        return QuestionSettings(gathering_id, str(row.title), _question_form(rows))

    return await db.read(_read)


async def save_questions(db: Database, actor: Actor | None, gathering_id: int, form: Form) -> None:
    """Ask the enabled standard questions (with their wording) and stop asking the others.

    A question that is no longer asked loses its row; answers already given stay in their
    registrations.
    """
    admin = require_admin(actor)
    asked, errors = clean_questions(form)
    if errors:
        raise InvalidInput(errors)

    async def _write(conn: AsyncConnection) -> None:
        if await queries.row_by_id(conn, "gathering", gathering_id) is None:
            raise NotFound("There is no such gathering. It may have been deleted.")
        stored = {row.key for row in await queries.questions_of_gathering(conn, gathering_id)}
        for position, q in enumerate(STANDARD_QUESTIONS):
            if q.key in asked:
                values = {**asked[q.key], "position": position}
                if q.key in stored:
                    await queries.update_question(conn, gathering_id, q.key, values)
                else:
                    await queries.insert_question(
                        conn, {**values, "gathering_id": gathering_id, "key": q.key}
                    )
            elif q.key in stored:
                await queries.delete_question(conn, gathering_id, q.key)
        await insert_audit_event(
            conn,
            now=utc_now(),
            actor_kind="account",
            actor_id=admin.account_id,
            action="admin.questions_updated",
            subject_kind="gathering",
            subject_id=gathering_id,
            detail={
                "asked": list(asked),
                "required": [key for key, q in asked.items() if q["is_required"]],
            },
        )

    await db.write(_write)


async def dependents(db: Database, actor: Actor | None, kind: str, row_id: int) -> dict[str, int]:
    """What stops a row from being deleted (empty when it may go)."""
    require_admin(actor)
    return await db.read(lambda conn: queries.dependents(conn, kind, row_id))


async def delete(db: Database, actor: Actor | None, kind: str, row_id: int) -> int | None:
    """Delete a row nothing depends on; return its parent's id. Conflict if rows depend on it."""
    admin = require_admin(actor)
    named = KIND_LABEL.get(kind, kind)

    async def _write(conn: AsyncConnection) -> int | None:
        row = await queries.row_by_id(conn, kind, row_id)
        if row is None:
            raise NotFound(f"There is no such {named}. It may have been deleted already.")
        blocking = await queries.dependents(conn, kind, row_id)
        if blocking:
            listed = ", ".join(f"{n} {what}" for what, n in blocking.items())
            raise Conflict(
                f"This {named} cannot be deleted while it has {listed}. Nothing changed."
            )
        await queries.delete_row(conn, kind, row_id)
        await insert_audit_event(
            conn,
            now=utc_now(),
            actor_kind="account",
            actor_id=admin.account_id,
            action=f"admin.{kind}_deleted",
            subject_kind=kind,
            subject_id=row_id,
            detail={"label": str(getattr(row, LABEL_FIELD.get(kind, "name")))},
        )
        return int(getattr(row, PARENTS[kind][1])) if kind in PARENTS else None

    return await db.write(_write)
