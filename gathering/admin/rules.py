"""The network admin's rules for gatherings, venues, rooms, tracks, organisations, speakers,
and how a gathering takes registrations (open or closed, ticket types, questions).

Every function takes the actor first and refuses anyone but a network admin. Form values come in
as plain strings (what a browser sends); each write is one unit of work with an audit event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.admin import queries, words
from gathering.admin.forms import (
    CLEANERS,
    PARENTS,
    STANDARD_QUESTIONS,
    Form,
    Photo,
    StandardQuestion,
    check_photo,
    clean_questions,
    form_of,
    reader_wording,
)
from gathering.admin.queries import (
    GatheringListed,
    OrganisationListed,
    QuestionListed,
    RoomListed,
    SpeakerListed,
    TicketTypeListed,
    TrackListed,
    VenueListed,
)
from gathering.core.audit import insert_audit_event
from gathering.core.clock import utc_now
from gathering.core.database import Database
from gathering.core.errors import Conflict, InvalidInput, NotFound
from gathering.core.i18n import gettext
from gathering.core.permissions import Actor, require_admin
from gathering.programme.speaker_notices import forget_speaker

# The rows listed under a gathering or venue on its edit page.
Child = VenueListed | TrackListed | TicketTypeListed | QuestionListed | RoomListed

# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """What the list pages show."""

    gatherings: Sequence[GatheringListed] = ()
    organisations: Sequence[OrganisationListed] = ()
    speakers: Sequence[SpeakerListed] = ()


@dataclass(frozen=True)
class Editing:
    """A row to edit, as form strings, with its children and the choices its form offers."""

    kind: str
    row_id: int
    form: dict[str, str]
    label: str
    parent_id: int | None = None
    children: dict[str, Sequence[Child]] = field(default_factory=dict)
    organisations: Sequence[OrganisationListed] = ()


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


async def organisation_choices(db: Database, actor: Actor | None) -> list[OrganisationListed]:
    """Organisations for the host select of a gathering form."""
    require_admin(actor)
    return await db.read(queries.all_organisations)


async def parent_label(db: Database, actor: Actor | None, kind: str, parent_id: int) -> str:
    """The name of the gathering or venue a new row goes into; NotFound if there is none."""
    require_admin(actor)
    parent_kind = PARENTS[kind][0]
    row = await db.read(lambda conn: queries.row_by_id(conn, parent_kind, parent_id))
    if row is None:
        raise NotFound(gettext(words.NO_SUCH).format(kind=words.kind_name(parent_kind)))
    return row.label


async def editing(db: Database, actor: Actor | None, kind: str, row_id: int) -> Editing:
    """One row for its edit (or delete) page; NotFound if it is gone."""
    require_admin(actor)

    async def _read(conn: AsyncConnection) -> Editing:
        row = await queries.row_by_id(conn, kind, row_id)
        if row is None:
            raise NotFound(gettext(words.NO_SUCH_NOW).format(kind=words.kind_name(kind)))
        children: dict[str, Sequence[Child]] = {}
        organisations: Sequence[OrganisationListed] = ()
        if kind == "gathering":
            children["venues"] = await queries.venues_of_gathering(conn, row_id)
            children["tracks"] = await queries.tracks_of_gathering(conn, row_id)
            children["ticket_types"] = await queries.ticket_types_of_gathering(conn, row_id)
            children["questions"] = [  # the default wording in the reader's language
                q._replace(label=reader_wording(q.key, q.label, q.help)[0])
                for q in await queries.questions_of_gathering(conn, row_id)
            ]
            organisations = await queries.all_organisations(conn)
        elif kind == "venue":
            children["rooms"] = await queries.rooms_of_venue(conn, row_id)
        parent_id = row.column_id(PARENTS[kind][1]) if kind in PARENTS else None
        form = form_of(kind, row.columns)
        return Editing(kind, row_id, form, row.label, parent_id, children, organisations)

    return await db.read(_read)


async def speaker_photo(db: Database, slug: str) -> tuple[str, bytes, dt.datetime]:
    """A speaker's photo (public): content type, bytes, when it changed. NotFound if none."""
    row = await db.read(lambda conn: queries.speaker_photo_by_slug(conn, slug))
    if row is None:
        raise NotFound(gettext(words.NO_PHOTO))
    return row.content_type, row.data, row.updated_at


# --- writing ---------------------------------------------------------------------------------


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
    raise InvalidInput({"slug": gettext(words.SLUG_TAKEN)})


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
    content_type = check_photo(photo, errors) if kind == "speaker" else None
    if errors:
        raise InvalidInput(errors)
    generated = "slug" in values and not form.get("slug", "").strip()

    async def _write(conn: AsyncConnection) -> int:
        now = utc_now()
        gathering_id: int | None = None
        if row_id is None and kind in PARENTS:
            parent_kind, column = PARENTS[kind]
            if parent_id is None or await queries.row_by_id(conn, parent_kind, parent_id) is None:
                raise NotFound(gettext(words.NO_SUCH).format(kind=words.kind_name(parent_kind)))
            values[column] = parent_id
        current = None
        if row_id is not None:
            current = await queries.row_by_id(conn, kind, row_id)
            if current is None:
                raise NotFound(gettext(words.NO_SUCH_NOW).format(kind=words.kind_name(kind)))
        if kind == "track":
            gathering_id = parent_id if current is None else current.column_id("gathering_id")
        if "slug" in values:
            await _unique_slug(conn, kind, values, row_id, generated, gathering_id)
        host = values.get("host_organisation_id")
        if host is not None and await queries.row_by_id(conn, "organisation", host) is None:
            raise InvalidInput({"host_organisation_id": gettext(words.ORGANISATION_UNKNOWN)})
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


def _question_form(rows: Sequence[QuestionListed]) -> dict[str, str]:
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
            raise NotFound(gettext(words.NO_SUCH_NOW).format(kind=words.kind_name("gathering")))
        rows = await queries.questions_of_gathering(conn, gathering_id)
        return QuestionSettings(gathering_id, row.label, _question_form(rows))

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
            raise NotFound(gettext(words.NO_SUCH_NOW).format(kind=words.kind_name("gathering")))
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
    named = words.kind_name(kind)

    async def _write(conn: AsyncConnection) -> int | None:
        row = await queries.row_by_id(conn, kind, row_id)
        if row is None:
            raise NotFound(gettext(words.NO_SUCH_ANY_MORE).format(kind=named))
        blocking = await queries.dependents(conn, kind, row_id)
        if blocking:
            listed = ", ".join(words.counted(what, n) for what, n in blocking.items())
            raise Conflict(gettext(words.CANNOT_DELETE).format(kind=named, listed=listed))
        if kind == "speaker":  # their private address goes with them, and mail sent to it
            await forget_speaker(conn, row_id, now=utc_now(), actor_id=admin.account_id)
        await queries.delete_row(conn, kind, row_id)
        await insert_audit_event(
            conn,
            now=utc_now(),
            actor_kind="account",
            actor_id=admin.account_id,
            action=f"admin.{kind}_deleted",
            subject_kind=kind,
            subject_id=row_id,
            detail={"label": row.label},
        )
        return row.column_id(PARENTS[kind][1]) if kind in PARENTS else None

    return await db.write(_write)
