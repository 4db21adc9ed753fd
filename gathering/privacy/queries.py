"""Queries for privacy: what is held about one person (subject access), the facts a privacy
notice is built from, and the admin's audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import (
    account,
    audit_event,
    check_in,
    gathering,
    organisation,
    outbox,
    programme_session,
    steward_pass,
    supporter,
)


class CheckInHeld(NamedTuple):
    """An entry, exit or undo recorded for a person, with the session's title (None: the whole
    gathering)."""

    kind: str
    door: str
    at: dt.datetime
    undone_at: dt.datetime | None
    session_title: str | None


class MailHeld(NamedTuple):
    """A message queued for a person: its kind and when."""

    kind: str
    created_at: dt.datetime
    sent_at: dt.datetime | None


class OrganisationContact(NamedTuple):
    name: str
    contact_email: str
    website: str


class AuditRow(NamedTuple):
    """One audit event as stored; ``detail`` is its decoded JSON (an object, normally)."""

    id: int
    at: dt.datetime
    actor_kind: str
    actor_id: int | None
    action: str
    subject_kind: str
    subject_id: int | None
    detail: object


class AuditActor(NamedTuple):
    actor_kind: str
    actor_id: int | None


# --- subject access -----------------------------------------------------------------------------


async def check_ins_of(conn: AsyncConnection, registration_id: int) -> list[CheckInHeld]:
    """Every entry, exit and undo recorded for a registration, oldest first, with the session."""
    query = (
        sa.select(
            check_in.c.kind,
            check_in.c.door,
            check_in.c.at,
            check_in.c.undone_at,
            programme_session.c.title.label("session_title"),
        )
        .outerjoin(programme_session, programme_session.c.id == check_in.c.session_id)
        .where(check_in.c.registration_id == registration_id)
        .order_by(check_in.c.at, check_in.c.id)
    )
    return [CheckInHeld(*row) for row in await conn.execute(query)]


async def mail_to(
    conn: AsyncConnection, registration_id: int, address: str, kinds: Collection[str]
) -> list[MailHeld]:
    """Messages queued for a registration, or to its address before it existed (templated kinds
    only), oldest first."""
    query = (
        sa.select(outbox.c.kind, outbox.c.created_at, outbox.c.sent_at)
        .where(
            sa.or_(
                outbox.c.registration_id == registration_id,
                sa.and_(
                    outbox.c.registration_id.is_(None),
                    outbox.c.kind.in_(list(kinds)),
                    outbox.c.to_address == address,
                ),
            )
        )
        .order_by(outbox.c.created_at, outbox.c.id)
    )
    return [MailHeld(*row) for row in await conn.execute(query)]


async def supporter_lists_with(conn: AsyncConnection, gathering_id: int, email: str) -> list[str]:
    """Titles of the gathering's sessions whose supporters list holds ``email``."""
    query = (
        sa.select(programme_session.c.title)
        .join(supporter, supporter.c.session_id == programme_session.c.id)
        .where(programme_session.c.gathering_id == gathering_id, supporter.c.email == email)
        .order_by(programme_session.c.starts_at, programme_session.c.id)
    )
    return list((await conn.execute(query)).scalars())


# --- the privacy notice -------------------------------------------------------------------------


async def organisation_contact(
    conn: AsyncConnection, organisation_id: int | None
) -> OrganisationContact | None:
    """Name, contact address and website of an organisation, or None."""
    if organisation_id is None:
        return None
    query = sa.select(
        organisation.c.name, organisation.c.contact_email, organisation.c.website
    ).where(organisation.c.id == organisation_id)
    row = (await conn.execute(query)).first()
    return None if row is None else OrganisationContact(*row)


# --- the audit log ------------------------------------------------------------------------------


def _filtered(
    query: sa.Select[Any], action: str | None, actor_kind: str | None, actor_id: int | None
) -> sa.Select[Any]:
    if action:
        query = query.where(audit_event.c.action == action)
    if actor_kind:
        query = query.where(audit_event.c.actor_kind == actor_kind)
        if actor_id is not None:
            query = query.where(audit_event.c.actor_id == actor_id)
    return query


async def audit_events(
    conn: AsyncConnection,
    *,
    action: str | None,
    actor_kind: str | None,
    actor_id: int | None,
    offset: int,
    limit: int,
) -> list[AuditRow]:
    """One page of audit events, newest first."""
    a = audit_event.c
    columns = (a.id, a.at, a.actor_kind, a.actor_id, a.action, a.subject_kind, a.subject_id)
    query = _filtered(sa.select(*columns, a.detail), action, actor_kind, actor_id)
    query = query.order_by(a.at.desc(), a.id.desc()).offset(offset).limit(limit)
    return [AuditRow(*row) for row in await conn.execute(query)]


async def audit_event_count(
    conn: AsyncConnection, *, action: str | None, actor_kind: str | None, actor_id: int | None
) -> int:
    query = _filtered(
        sa.select(sa.func.count()).select_from(audit_event), action, actor_kind, actor_id
    )
    return int((await conn.execute(query)).scalar_one())


async def audit_actions(conn: AsyncConnection) -> list[str]:
    query = sa.select(audit_event.c.action).distinct().order_by(audit_event.c.action)
    return list((await conn.execute(query)).scalars())


async def audit_actors(conn: AsyncConnection) -> list[AuditActor]:
    """Every (actor_kind, actor_id) that appears in the log."""
    query = (
        sa.select(audit_event.c.actor_kind, audit_event.c.actor_id)
        .distinct()
        .order_by(audit_event.c.actor_kind, audit_event.c.actor_id)
    )
    return [AuditActor(*row) for row in await conn.execute(query)]


_NAMED: dict[str, tuple[sa.Table, str]] = {
    "account": (account, "display_name"),
    "gathering": (gathering, "title"),
    "session": (programme_session, "title"),
    "organisation": (organisation, "name"),
    "steward_pass": (steward_pass, "label"),
}


async def names_of(conn: AsyncConnection, kind: str, ids: Collection[int]) -> dict[int, str]:
    """id → display name for rows of a kind the audit log refers to (accounts, gatherings,
    sessions, organisations, steward passes); other kinds and missing rows are left out."""
    if kind not in _NAMED or not ids:
        return {}
    table, column = _NAMED[kind]
    label: sa.ColumnElement[Any] = table.c[column]
    if kind == "account":
        label = account.c.display_name + " (" + account.c.email + ")"
    query = sa.select(table.c.id, label).where(table.c.id.in_(list(ids)))
    return {row[0]: str(row[1]) for row in (await conn.execute(query)).all()}
