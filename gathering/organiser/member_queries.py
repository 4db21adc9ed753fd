"""Queries for an organisation's members and invitations (issue 16, item 11), as typed rows."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import (
    account,
    gathering,
    membership,
    organisation,
    organiser_invitation,
    outbox,
    steward_pass,
)

INVITATION_MAIL = "organiser_invitation"  # the outbox kind of an invitation's mail


class OrganisationRef(NamedTuple):
    id: int
    slug: str
    name: str


class MemberRow(NamedTuple):
    account_id: int
    display_name: str
    email: str
    role: str
    joined_at: dt.datetime


class InvitationRow(NamedTuple):
    id: int
    organisation_id: int
    email: str
    role: str
    secret_hash: str
    invited_by_name: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    accepted_at: dt.datetime | None
    revoked_at: dt.datetime | None


async def organisation_by_slug(conn: AsyncConnection, slug: str) -> OrganisationRef | None:
    query = sa.select(organisation.c.id, organisation.c.slug, organisation.c.name).where(
        organisation.c.slug == slug
    )
    row = (await conn.execute(query)).first()
    return None if row is None else OrganisationRef(*row)


async def organisations_by_id(conn: AsyncConnection, ids: frozenset[int]) -> list[OrganisationRef]:
    query = (
        sa.select(organisation.c.id, organisation.c.slug, organisation.c.name)
        .where(organisation.c.id.in_(sorted(ids)))
        .order_by(organisation.c.name)
    )
    return [OrganisationRef(*row) for row in await conn.execute(query)]


async def members_of(conn: AsyncConnection, organisation_id: int) -> list[MemberRow]:
    query = (
        sa.select(
            account.c.id,
            account.c.display_name,
            account.c.email,
            membership.c.role,
            membership.c.created_at,
        )
        .join(account, account.c.id == membership.c.account_id)
        .where(membership.c.organisation_id == organisation_id)
        .order_by(membership.c.role, account.c.display_name, account.c.id)
    )
    return [MemberRow(*row) for row in await conn.execute(query)]


async def member_role(conn: AsyncConnection, organisation_id: int, account_id: int) -> str | None:
    query = sa.select(membership.c.role).where(
        membership.c.organisation_id == organisation_id, membership.c.account_id == account_id
    )
    role = (await conn.execute(query)).scalar_one_or_none()
    return None if role is None else str(role)


async def count_organisers(conn: AsyncConnection, organisation_id: int) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(membership)
        .where(membership.c.organisation_id == organisation_id, membership.c.role == "organiser")
    )
    return int((await conn.execute(query)).scalar_one())


async def set_role(conn: AsyncConnection, organisation_id: int, account_id: int, role: str) -> None:
    await conn.execute(
        sa.update(membership)
        .where(
            membership.c.organisation_id == organisation_id, membership.c.account_id == account_id
        )
        .values(role=role)
    )


async def delete_membership(conn: AsyncConnection, organisation_id: int, account_id: int) -> None:
    await conn.execute(
        sa.delete(membership).where(
            membership.c.organisation_id == organisation_id, membership.c.account_id == account_id
        )
    )


async def insert_membership(
    conn: AsyncConnection, organisation_id: int, account_id: int, role: str, now: dt.datetime
) -> None:
    await conn.execute(
        sa.insert(membership).values(
            organisation_id=organisation_id, account_id=account_id, role=role, created_at=now
        )
    )


_INVITATION = sa.select(
    organiser_invitation.c.id,
    organiser_invitation.c.organisation_id,
    organiser_invitation.c.email,
    organiser_invitation.c.role,
    organiser_invitation.c.secret_hash,
    account.c.display_name,
    organiser_invitation.c.created_at,
    organiser_invitation.c.expires_at,
    organiser_invitation.c.accepted_at,
    organiser_invitation.c.revoked_at,
).outerjoin(account, account.c.id == organiser_invitation.c.invited_by)


async def pending_invitations(
    conn: AsyncConnection, organisation_id: int, now: dt.datetime
) -> list[InvitationRow]:
    """Invitations neither used, withdrawn nor expired, newest first."""
    query = _INVITATION.where(
        organiser_invitation.c.organisation_id == organisation_id,
        organiser_invitation.c.accepted_at.is_(None),
        organiser_invitation.c.revoked_at.is_(None),
        organiser_invitation.c.expires_at > now,
    ).order_by(organiser_invitation.c.created_at.desc(), organiser_invitation.c.id.desc())
    return [InvitationRow._make(row) for row in await conn.execute(query)]


async def invitation_by_id(conn: AsyncConnection, invitation_id: int) -> InvitationRow | None:
    if not 0 < invitation_id < 2**31:  # no id column holds it (PostgreSQL would raise)
        return None
    query = _INVITATION.where(organiser_invitation.c.id == invitation_id)
    row = (await conn.execute(query)).first()
    return None if row is None else InvitationRow._make(row)


async def insert_invitation(
    conn: AsyncConnection,
    *,
    organisation_id: int,
    email: str,
    role: str,
    secret_hash: str,
    invited_by: int | None,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> int:
    result = await conn.execute(
        sa.insert(organiser_invitation)
        .values(
            organisation_id=organisation_id,
            email=email,
            role=role,
            secret_hash=secret_hash,
            invited_by=invited_by,
            created_at=now,
            expires_at=expires_at,
        )
        .returning(organiser_invitation.c.id)
    )
    return int(result.scalar_one())


async def revoke_pending_to(
    conn: AsyncConnection, organisation_id: int, email: str, now: dt.datetime
) -> list[int]:
    """Withdraw every unused invitation of the organisation to this address; their ids."""
    result = await conn.execute(
        sa.update(organiser_invitation)
        .where(
            organiser_invitation.c.organisation_id == organisation_id,
            organiser_invitation.c.email == email,
            organiser_invitation.c.accepted_at.is_(None),
            organiser_invitation.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .returning(organiser_invitation.c.id)
    )
    return [int(i) for i in result.scalars()]


async def mark_revoked(conn: AsyncConnection, invitation_id: int, now: dt.datetime) -> bool:
    """Withdraw one invitation if still unused; False if it was used or withdrawn already."""
    result = await conn.execute(
        sa.update(organiser_invitation)
        .where(
            organiser_invitation.c.id == invitation_id,
            organiser_invitation.c.accepted_at.is_(None),
            organiser_invitation.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return bool(result.rowcount)


async def mark_accepted(conn: AsyncConnection, invitation_id: int, now: dt.datetime) -> bool:
    """Use one invitation, once: one conditional update, so two clicks cannot both join."""
    result = await conn.execute(
        sa.update(organiser_invitation)
        .where(
            organiser_invitation.c.id == invitation_id,
            organiser_invitation.c.accepted_at.is_(None),
            organiser_invitation.c.revoked_at.is_(None),
            organiser_invitation.c.expires_at > now,
        )
        .values(accepted_at=now)
    )
    return bool(result.rowcount)


async def account_by_email(conn: AsyncConnection, email: str) -> tuple[int, str] | None:
    query = sa.select(account.c.id, account.c.display_name).where(account.c.email == email)
    row = (await conn.execute(query)).first()
    return None if row is None else (int(row[0]), str(row[1]))


async def all_organisations(conn: AsyncConnection) -> list[OrganisationRef]:
    query = sa.select(organisation.c.id, organisation.c.slug, organisation.c.name).order_by(
        organisation.c.name
    )
    return [OrganisationRef(*row) for row in await conn.execute(query)]


async def forget_ended_invitations(conn: AsyncConnection, before: dt.datetime) -> int:
    """Delete invitations used, withdrawn or expired before ``before`` (their addresses with
    them); how many went."""
    i = organiser_invitation
    result = await conn.execute(
        sa.delete(i).where(
            sa.or_(i.c.accepted_at < before, i.c.revoked_at < before, i.c.expires_at < before)
        )
    )
    return int(result.rowcount or 0)


async def revoke_gathering_passes(
    conn: AsyncConnection, account_id: int, organisation_id: int, now: dt.datetime
) -> list[int]:
    """Revoke the live "all sessions" steward passes this account made for gatherings the
    organisation hosts (a right it had as their organiser); their ids. Passes for chosen sessions
    follow the maker's role at every use (``door.queries.hosted_by_maker``)."""
    hosted = sa.select(gathering.c.id).where(gathering.c.host_organisation_id == organisation_id)
    is_admin = sa.select(account.c.is_admin).where(account.c.id == account_id).scalar_subquery()
    result = await conn.execute(
        sa.update(steward_pass)
        .where(
            steward_pass.c.created_by == account_id,
            steward_pass.c.all_sessions.is_(True),
            steward_pass.c.revoked_at.is_(None),
            steward_pass.c.gathering_id.in_(hosted),
            is_admin.is_(False),
        )
        .values(revoked_at=now)
        .returning(steward_pass.c.id)
    )
    return [int(i) for i in result.scalars()]


class InvitationMail(NamedTuple):
    id: int
    context: dict[str, object]
    sent_at: dt.datetime | None


async def invitation_mails(conn: AsyncConnection) -> list[InvitationMail]:
    """Invitation mails whose outbox row still holds what was (or will be) sent."""
    query = sa.select(outbox.c.id, outbox.c.context, outbox.c.sent_at).where(
        outbox.c.kind == INVITATION_MAIL, outbox.c.context.is_not(None)
    )
    return [InvitationMail(*row) for row in await conn.execute(query)]


async def usable_invitation_ids(conn: AsyncConnection, ids: set[int], now: dt.datetime) -> set[int]:
    """Those of ``ids`` whose invitation is neither used, withdrawn, expired nor forgotten."""
    if not ids:
        return set()
    i = organiser_invitation
    query = sa.select(i.c.id).where(
        i.c.id.in_(sorted(ids)),
        i.c.accepted_at.is_(None),
        i.c.revoked_at.is_(None),
        i.c.expires_at > now,
    )
    return {int(row.id) for row in await conn.execute(query)}


async def empty_mails(conn: AsyncConnection, ids: list[int]) -> None:
    """Keep these outbox rows as a record that mail went, without what it said."""
    if ids:
        await conn.execute(
            sa.update(outbox)
            .where(outbox.c.id.in_(ids))
            .values(context=sa.null(), subject="", body_text="", body_html="")
        )


async def delete_unsent_mails(conn: AsyncConnection, ids: list[int]) -> None:
    if ids:
        await conn.execute(
            sa.delete(outbox).where(outbox.c.id.in_(ids), outbox.c.sent_at.is_(None))
        )


async def seal_invitation_mails(conn: AsyncConnection, now: dt.datetime) -> None:
    """Take the working links out of the outbox: an invitation mail that was sent keeps only
    that it went; one not yet sent whose invitation ended (used, withdrawn, expired or
    forgotten) is not sent. Mails queued without their invitation's id are emptied once sent."""
    mails = await invitation_mails(conn)
    of = {m.id: _invitation_of(m.context) for m in mails}
    usable = await usable_invitation_ids(conn, {i for i in of.values() if i is not None}, now)
    ended = [m.id for m in mails if m.sent_at is None and of[m.id] not in (None, *usable)]
    await delete_unsent_mails(conn, ended)
    await empty_mails(conn, [m.id for m in mails if m.sent_at is not None])


def _invitation_of(context: dict[str, object]) -> int | None:
    value = context.get("invitation_id")
    return value if isinstance(value, int) else None
