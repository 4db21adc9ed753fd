"""Queries for erasing personal data: a whole gathering's after its retention period (the purge),
or one person's (from their manage link), and for making the erased bytes really gone.

The big reads (a gathering's audit events and door answers) return the stored JSON as text, so
the caller can decode and search it off the event loop; rows are then rewritten by id, in batches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import (
    audit_event,
    check_in,
    gathering,
    outbox,
    programme_session,
    registration,
    scan,
    steward_pass,
    supporter,
    throttle,
)

# What an erased registration's address becomes; ``.invalid`` can never be delivered (RFC 2606).
ERASED_DOMAIN = "@invalid"
# Keys of a stored door answer that say who it was about.
_SCAN_PERSONAL = ("name", "ticket_type", "access_needs")


class GatheringDue(NamedTuple):
    """What decides when a gathering's personal data goes."""

    id: int
    slug: str
    title: str
    ends_on: dt.date
    timezone: str
    retention_days: int
    anonymised_at: dt.datetime | None
    created_at: dt.datetime


class PersonalValues(NamedTuple):
    """A registration's personal values that may be quoted elsewhere (logs, door answers)."""

    id: int
    gathering_id: int
    name: str
    email: str
    ticket_code: str | None
    manage_key: str | None
    feed_key: str | None
    created_at: dt.datetime

    def searchable(self) -> Iterator[str]:
        """The values worth searching for in free text."""
        for value in (self.name, self.email, self.ticket_code, self.manage_key, self.feed_key):
            if value:
                yield value


class StoredAudit(NamedTuple):
    """An audit event with its detail as the JSON text stored (decoded by the caller)."""

    id: int
    actor_kind: str
    actor_id: int | None
    detail_json: str


class StoredScan(NamedTuple):
    """A door answer with its response as the JSON text stored."""

    id: int
    response_json: str


_GATHERING_DUE = (
    gathering.c.id,
    gathering.c.slug,
    gathering.c.title,
    gathering.c.ends_on,
    gathering.c.timezone,
    gathering.c.retention_days,
    gathering.c.anonymised_at,
    gathering.c.created_at,
)
_PERSONAL = (
    registration.c.id,
    registration.c.gathering_id,
    registration.c.name,
    registration.c.email,
    registration.c.ticket_code,
    registration.c.manage_key,
    registration.c.feed_key,
    registration.c.created_at,
)


def erased_address(registration_id: int | None) -> str:
    return (
        f"erased-{registration_id}{ERASED_DOMAIN}" if registration_id else f"erased{ERASED_DOMAIN}"
    )


# --- which gatherings, which people -------------------------------------------------------------


async def gatherings_for_retention(conn: AsyncConnection) -> list[GatheringDue]:
    """Every gathering with what decides when its personal data goes."""
    query = sa.select(*_GATHERING_DUE).order_by(gathering.c.ends_on, gathering.c.id)
    return [GatheringDue(*row) for row in await conn.execute(query)]


async def gathering_for_retention(conn: AsyncConnection, gathering_id: int) -> GatheringDue | None:
    """One gathering with what decides when its personal data goes; None if there is none."""
    query = sa.select(*_GATHERING_DUE).where(gathering.c.id == gathering_id)
    row = (await conn.execute(query)).first()
    return None if row is None else GatheringDue(*row)


async def live_personal_values(conn: AsyncConnection, gathering_id: int) -> list[PersonalValues]:
    """Name, email and secrets of every registration of the gathering not yet anonymised."""
    query = sa.select(*_PERSONAL).where(
        registration.c.gathering_id == gathering_id, registration.c.anonymised_at.is_(None)
    )
    return [PersonalValues(*row) for row in await conn.execute(query)]


async def personal_values_of(conn: AsyncConnection, registration_id: int) -> PersonalValues | None:
    """One registration's personal values; None if there is none."""
    query = sa.select(*_PERSONAL).where(registration.c.id == registration_id)
    row = (await conn.execute(query)).first()
    return None if row is None else PersonalValues(*row)


def _registrations_of(gathering_id: int) -> sa.Select[Any]:
    return sa.select(registration.c.id).where(registration.c.gathering_id == gathering_id)


def _as_text(column: sa.Column[Any], name: str) -> sa.Label[str]:
    """A JSON column as its stored text, to be decoded by the caller (off the event loop when
    there are many rows)."""
    return sa.cast(column, sa.Text).label(name)


def _sessions_of(gathering_id: int) -> sa.Select[Any]:
    return sa.select(programme_session.c.id).where(programme_session.c.gathering_id == gathering_id)


async def first_registered_at(conn: AsyncConnection, gathering_id: int) -> dt.datetime | None:
    """When the gathering's earliest registration (erased or not) was made."""
    query = sa.select(sa.func.min(registration.c.created_at)).where(
        registration.c.gathering_id == gathering_id
    )
    value = (await conn.execute(query)).scalar_one()
    return value if isinstance(value, dt.datetime) else None


# --- registrations ------------------------------------------------------------------------------


async def anonymise_registrations(
    conn: AsyncConnection, gathering_id: int, now: dt.datetime
) -> int:
    """Erase name, email, answers and every secret of the gathering's registrations, keeping
    their status (so counts of confirmed, cancelled and checked-in people stay as they were)."""
    result = await conn.execute(
        sa.update(registration)
        .where(registration.c.gathering_id == gathering_id, registration.c.anonymised_at.is_(None))
        .values(
            name="",
            email=sa.literal("erased-")
            + sa.cast(registration.c.id, sa.String)
            + sa.literal(ERASED_DOMAIN),
            answers={},
            share_access_needs=False,
            ticket_code=None,
            manage_key=None,
            feed_key=None,
            anonymised_at=now,
        )
        .returning(registration.c.id)
    )
    return len(result.all())


async def mark_gathering_anonymised(
    conn: AsyncConnection, gathering_id: int, now: dt.datetime
) -> None:
    await conn.execute(
        sa.update(gathering)
        .where(gathering.c.id == gathering_id, gathering.c.anonymised_at.is_(None))
        .values(anonymised_at=now)
    )


# --- mail ---------------------------------------------------------------------------------------


def _mail_of_gathering(gathering_id: int, kinds: Collection[str]) -> sa.ColumnElement[bool]:
    """Outbox rows about the gathering's people not yet scrubbed: linked to a registration, or
    (mail queued before a registration existed, such as "supporters only") sent to the address
    of a registration not yet anonymised."""
    live_addresses = sa.select(registration.c.email).where(
        registration.c.gathering_id == gathering_id, registration.c.anonymised_at.is_(None)
    )
    linked = outbox.c.registration_id.in_(_registrations_of(gathering_id))
    unlinked = sa.and_(
        outbox.c.registration_id.is_(None),
        outbox.c.kind.in_(list(kinds)),
        outbox.c.to_address.in_(live_addresses),
    )
    return sa.and_(sa.or_(linked, unlinked), ~outbox.c.to_address.like("erased%" + ERASED_DOMAIN))


async def count_mail_of_gathering(
    conn: AsyncConnection, gathering_id: int, kinds: Collection[str]
) -> int:
    query = sa.select(sa.func.count()).where(_mail_of_gathering(gathering_id, kinds))
    return int((await conn.execute(query)).scalar_one())


async def scrub_mail(conn: AsyncConnection, where: sa.ColumnElement[bool]) -> int:
    """Unsent messages are dropped (mail stops); sent ones stay as a count, with no address,
    subject, body, attachment or context left. Returns how many rows changed."""
    unsent = await conn.execute(
        sa.delete(outbox).where(where, outbox.c.sent_at.is_(None)).returning(outbox.c.id)
    )
    # One statement for every sent message (a large gathering has tens of thousands), each
    # address becoming erased_address(its registration).
    address = sa.case(
        (outbox.c.registration_id.is_(None), sa.literal(erased_address(None))),
        else_=sa.literal("erased-")
        + sa.cast(outbox.c.registration_id, sa.String)
        + sa.literal(ERASED_DOMAIN),
    )
    sent = await conn.execute(
        sa.update(outbox)
        .where(where)
        .values(
            to_address=address,
            subject="",
            body_text="",
            body_html="",
            attachments=[],
            context=sa.null(),
            last_error="",
        )
        .returning(outbox.c.id)
    )
    return len(unsent.all()) + len(sent.all())


async def scrub_mail_of_gathering(
    conn: AsyncConnection, gathering_id: int, kinds: Collection[str]
) -> int:
    return await scrub_mail(conn, _mail_of_gathering(gathering_id, kinds))


async def scrub_unlinked_mail_to(
    conn: AsyncConnection, address: str, kinds: Collection[str]
) -> int:
    """Mail to ``address`` queued without a registration (templated kinds only: an organiser's
    own password-reset mail to the same address is theirs, not the attendee's)."""
    where = sa.and_(
        outbox.c.registration_id.is_(None),
        outbox.c.kind.in_(list(kinds)),
        outbox.c.to_address == address,
    )
    return await scrub_mail(conn, where)


# --- the door -----------------------------------------------------------------------------------


def steward_passes_of(gathering_id: int) -> sa.Select[Any]:
    return sa.select(steward_pass.c.id).where(steward_pass.c.gathering_id == gathering_id)


def _scans_of(gathering_id: int) -> sa.ColumnElement[bool]:
    """Scans made with the gathering's passes, for its sessions, or recording a check-in of one
    of its registrations."""
    check_ins = sa.select(check_in.c.id).where(
        check_in.c.registration_id.in_(_registrations_of(gathering_id))
    )
    return sa.or_(
        scan.c.pass_id.in_(steward_passes_of(gathering_id)),
        scan.c.session_id.in_(_sessions_of(gathering_id)),
        scan.c.check_in_id.in_(check_ins),
    )


async def scans_naming_people(
    conn: AsyncConnection, gathering_id: int, *, after_id: int = 0, name: str | None = None
) -> list[StoredScan]:
    """(id, response_json: the stored answer as JSON text) of the gathering's scans whose answer
    still says who it was about (only those naming ``name``, if given), oldest first."""
    names_someone = sa.or_(
        *(scan.c.response[key].as_string().is_not(None) for key in _SCAN_PERSONAL)
    )
    query = (
        sa.select(scan.c.id, _as_text(scan.c.response, "response_json"))
        .where(_scans_of(gathering_id), names_someone, scan.c.id > after_id)
        .order_by(scan.c.id)
    )
    if name is not None:
        query = query.where(scan.c.response["name"].as_string() == name)
    return [StoredScan(*row) for row in await conn.execute(query)]


async def scans_by_ids(conn: AsyncConnection, ids: Collection[int]) -> list[StoredScan]:
    """(id, response_json) of these scans, read again inside a write unit."""
    query = sa.select(scan.c.id, _as_text(scan.c.response, "response_json")).where(
        scan.c.id.in_(list(ids))
    )
    return [StoredScan(*row) for row in await conn.execute(query.order_by(scan.c.id))]


async def set_scan_responses(
    conn: AsyncConnection, changes: Sequence[tuple[int, dict[str, Any]]]
) -> None:
    """Rewrite the stored answers of these scans, (id, new answer), in one statement."""
    if changes:
        await conn.execute(
            sa.update(scan)
            .where(scan.c.id == sa.bindparam("scan_id"))
            .values(response=sa.bindparam("new_response", type_=scan.c.response.type)),
            [{"scan_id": i, "new_response": response} for i, response in changes],
        )


# --- supporters lists ---------------------------------------------------------------------------


def _supporters_of(gathering_id: int) -> sa.ColumnElement[bool]:
    return supporter.c.session_id.in_(_sessions_of(gathering_id))


async def count_supporters_of_gathering(conn: AsyncConnection, gathering_id: int) -> int:
    query = sa.select(sa.func.count()).where(_supporters_of(gathering_id))
    return int((await conn.execute(query)).scalar_one())


async def delete_supporters_of_gathering(conn: AsyncConnection, gathering_id: int) -> int:
    result = await conn.execute(
        sa.delete(supporter).where(_supporters_of(gathering_id)).returning(supporter.c.id)
    )
    return len(result.all())


async def delete_supporter_address(conn: AsyncConnection, gathering_id: int, email: str) -> int:
    """Take one address off every supporters list of the gathering's sessions."""
    result = await conn.execute(
        sa.delete(supporter)
        .where(_supporters_of(gathering_id), supporter.c.email == email)
        .returning(supporter.c.id)
    )
    return len(result.all())


# --- audit events and throttles -----------------------------------------------------------------


def _audit_of(gathering_id: int) -> sa.ColumnElement[bool]:
    """Audit events about the gathering, its sessions, registrations or steward passes, or
    written by one of its passes: the only ones whose details can be about its people."""
    a = audit_event.c
    passes = steward_passes_of(gathering_id)
    return sa.or_(
        sa.and_(a.subject_kind == "gathering", a.subject_id == gathering_id),
        sa.and_(a.subject_kind == "session", a.subject_id.in_(_sessions_of(gathering_id))),
        sa.and_(
            a.subject_kind == "registration", a.subject_id.in_(_registrations_of(gathering_id))
        ),
        sa.and_(a.subject_kind == "steward_pass", a.subject_id.in_(passes)),
        sa.and_(a.actor_kind == "steward_pass", a.actor_id.in_(passes)),
    )


async def audit_of_gathering(
    conn: AsyncConnection,
    gathering_id: int,
    *,
    since: dt.datetime | None = None,
    after_id: int = 0,
) -> list[StoredAudit]:
    """(id, actor_kind, actor_id, detail_json: the detail as JSON text) of the audit events
    about the gathering (see ``_audit_of``), from ``since`` and after event ``after_id``."""
    query = (
        sa.select(
            audit_event.c.id,
            audit_event.c.actor_kind,
            audit_event.c.actor_id,
            _as_text(audit_event.c.detail, "detail_json"),
        )
        .where(_audit_of(gathering_id), audit_event.c.id > after_id)
        .order_by(audit_event.c.id)
    )
    if since is not None:
        query = query.where(audit_event.c.at >= since)
    return [StoredAudit(*row) for row in await conn.execute(query)]


async def audit_by_ids(conn: AsyncConnection, ids: Collection[int]) -> list[StoredAudit]:
    """(id, actor_kind, actor_id, detail_json) of these audit events, read again in a write
    unit."""
    query = sa.select(
        audit_event.c.id,
        audit_event.c.actor_kind,
        audit_event.c.actor_id,
        _as_text(audit_event.c.detail, "detail_json"),
    ).where(audit_event.c.id.in_(list(ids)))
    return [StoredAudit(*row) for row in await conn.execute(query.order_by(audit_event.c.id))]


async def pass_ids_of_gathering(conn: AsyncConnection, gathering_id: int) -> frozenset[int]:
    return frozenset((await conn.execute(steward_passes_of(gathering_id))).scalars())


async def set_audit_details(conn: AsyncConnection, changes: Sequence[tuple[int, Any]]) -> None:
    """Rewrite the details of these audit events, (id, new detail), in one statement."""
    if changes:
        await conn.execute(
            sa.update(audit_event)
            .where(audit_event.c.id == sa.bindparam("event_id"))
            .values(detail=sa.bindparam("new_detail", type_=audit_event.c.detail.type)),
            [{"event_id": i, "new_detail": detail} for i, detail in changes],
        )


async def throttle_keys(conn: AsyncConnection) -> list[str]:
    return list((await conn.execute(sa.select(throttle.c.key))).scalars())


async def delete_throttles(conn: AsyncConnection, keys: Collection[str]) -> None:
    if keys:
        await conn.execute(sa.delete(throttle).where(throttle.c.key.in_(list(keys))))
