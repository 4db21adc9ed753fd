"""Queries for privacy: what is held about one person (subject access), the facts a privacy
notice is built from, and the admin's audit log."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

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

# --- subject access -----------------------------------------------------------------------------


async def check_ins_of(conn: AsyncConnection, registration_id: int) -> Sequence[Any]:
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
    return (await conn.execute(query)).all()


async def mail_to(
    conn: AsyncConnection, registration_id: int, address: str, kinds: Collection[str]
) -> Sequence[Any]:
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
    return (await conn.execute(query)).all()


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


async def organisation_contact(conn: AsyncConnection, organisation_id: int | None) -> Any:
    """Name, contact address and website of an organisation, or None."""
    if organisation_id is None:
        return None
    query = sa.select(
        organisation.c.name, organisation.c.contact_email, organisation.c.website
    ).where(organisation.c.id == organisation_id)
    return (await conn.execute(query)).first()


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
) -> Sequence[Any]:
    """One page of audit events, newest first."""
    query = _filtered(sa.select(audit_event), action, actor_kind, actor_id)
    query = query.order_by(audit_event.c.at.desc(), audit_event.c.id.desc())
    return list((await conn.execute(query.offset(offset).limit(limit))).all())


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


async def audit_actors(conn: AsyncConnection) -> Sequence[Any]:
    """Every (actor_kind, actor_id) that appears in the log."""
    query = (
        sa.select(audit_event.c.actor_kind, audit_event.c.actor_id)
        .distinct()
        .order_by(audit_event.c.actor_kind, audit_event.c.actor_id)
    )
    return (await conn.execute(query)).all()


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
