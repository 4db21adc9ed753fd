"""An organisation's members and invitations (issue 16, item 11), checked here in the rules.

- Organisers of an organisation (and the network admin) see its members and pending invitations,
  invite people by email (role organiser or viewer), withdraw invitations, change a member's role
  and remove members. Viewers and everyone else are refused.
- An organisation always keeps at least one organiser: its last organiser can neither leave, be
  removed, nor become a viewer. On PostgreSQL the write units are serialisable, on SQLite
  serialised, so two organisers removing each other at once cannot both succeed.
- An organiser who becomes a viewer or is removed loses the door with the role: their live
  "all sessions" steward passes for the organisation's gatherings are revoked in the same unit,
  and passes for chosen sessions follow the maker's role at every use.
- Every change of membership (invited, invitation withdrawn, joined, role changed, removed) is in
  the audit log with the organisation and the role, never a typed address.
- Invitations per organisation are limited (``INVITATIONS``), so the form cannot be used to mail
  strangers in bulk.
- An invitation's address is kept while it may be used and ``KEEP_ENDED_INVITATIONS`` after it
  ended (used, withdrawn or expired); housekeeping (``forget_and_seal``, every minute) deletes
  older ones, and so does the next invitation sent.
- The invitation's mail holds a working link only until it is sent: then its outbox row keeps
  only that a mail went, and a mail not yet sent when its invitation ends is not sent at all
  (``member_queries.seal_invitation_mails``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth import invitations
from gathering.core.audit import insert_audit_event
from gathering.core.clock import utc_now
from gathering.core.database import Database
from gathering.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from gathering.core.i18n import gettext
from gathering.core.permissions import Actor, require_actor
from gathering.core.schema import MEMBER_ROLES
from gathering.core.throttles import AttemptRate, count_attempt
from gathering.mail import messages as mail
from gathering.organiser import member_queries as queries
from gathering.organiser import member_words as words
from gathering.organiser.member_queries import OrganisationRef

INVITATIONS = AttemptRate(
    "invitations",
    limit=30,
    window=dt.timedelta(hours=1),
    refusal=words.TOO_MANY_INVITATIONS,
)
# How long an invitation's address is kept once it was used, withdrawn or expired.
KEEP_ENDED_INVITATIONS = dt.timedelta(days=30)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Member:
    account_id: int
    name: str
    email: str
    role: str
    role_label: str
    is_me: bool
    is_last_organiser: bool


@dataclass(frozen=True)
class PendingInvitation:
    id: int
    email: str
    role_label: str
    invited_by: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class MembersPage:
    organisation: OrganisationRef
    members: tuple[Member, ...]
    invitations: tuple[PendingInvitation, ...]


async def _organisation(conn: AsyncConnection, actor: Actor, slug: str) -> OrganisationRef:
    org = await queries.organisation_by_slug(conn, slug)
    if org is not None and (actor.is_admin or org.id in actor.organisation_ids):
        return org
    if org is not None and org.id in actor.viewer_organisation_ids:
        raise Forbidden(gettext(words.VIEWERS_SEE_NUMBERS_ONLY))
    if org is None and actor.is_admin:
        raise NotFound(gettext(words.NO_ORGANISATION))
    # Not theirs, or no such organisation: the same answer either way.
    raise Forbidden(gettext(words.ONLY_ORGANISERS_MANAGE))


async def _authorised(db: Database, actor: Actor | None, slug: str) -> Actor:
    """The actor, once they are known to manage the organisation's members."""
    actor = require_actor(actor)

    async def _read(conn: AsyncConnection) -> None:
        await _organisation(conn, actor, slug)

    await db.read(_read)
    return actor


async def my_organisations(db: Database, actor: Actor | None) -> list[OrganisationRef]:
    """The organisations whose members this actor manages (every one, for the admin)."""
    actor = require_actor(actor)

    async def _read(conn: AsyncConnection) -> list[OrganisationRef]:
        if actor.is_admin:
            return await queries.all_organisations(conn)
        return await queries.organisations_by_id(conn, actor.organisation_ids)

    return await db.read(_read)


async def members_page(db: Database, actor: Actor | None, slug: str) -> MembersPage:
    """An organisation's members and pending invitations, for its organisers."""
    actor = require_actor(actor)

    async def _read(conn: AsyncConnection) -> MembersPage:
        org = await _organisation(conn, actor, slug)
        rows = await queries.members_of(conn, org.id)
        organisers = sum(1 for r in rows if r.role == "organiser")
        members = tuple(
            Member(
                r.account_id,
                r.display_name,
                r.email,
                r.role,
                gettext(words.ROLE_LABELS[r.role]),
                r.account_id == actor.account_id,
                r.role == "organiser" and organisers == 1,
            )
            for r in rows
        )
        pending = tuple(
            PendingInvitation(
                i.id,
                i.email,
                gettext(words.ROLE_LABELS[i.role]),
                i.invited_by_name or "",
                i.expires_at,
            )
            for i in await queries.pending_invitations(conn, org.id, utc_now())
        )
        return MembersPage(org, members, pending)

    return await db.read(_read)


def _role(value: str, field: str = "role") -> str:
    if value not in MEMBER_ROLES:
        raise InvalidInput({field: gettext(words.CHOOSE_ROLE)})
    return value


async def _audit(
    conn: AsyncConnection,
    actor: Actor,
    action: str,
    now: dt.datetime,
    subject_kind: str,
    subject_id: int,
    detail: dict[str, object],
) -> None:
    await insert_audit_event(
        conn,
        now=now,
        actor_kind="account",
        actor_id=actor.account_id,
        action=action,
        subject_kind=subject_kind,
        subject_id=subject_id,
        detail=detail,
    )


async def invite(
    db: Database,
    actor: Actor | None,
    slug: str,
    *,
    email: str,
    role: str,
    secret_key: str,
    accept_url: str,
) -> str:
    """Invite someone by email; the address, normalised. ``accept_url`` holds ``{token}``.

    The mail is an outbox row in the same unit; a pending invitation to the same address is
    withdrawn, so only the newest link works.
    """
    actor = await _authorised(db, actor, slug)  # who may, before what they typed
    email = email.strip().lower()
    errors: dict[str, str] = {}
    if len(email) > 320 or not _EMAIL.match(email):
        errors["email"] = gettext(words.ENTER_EMAIL)
    if role not in MEMBER_ROLES:
        errors["role"] = gettext(words.CHOOSE_ROLE)
    if errors:
        raise InvalidInput(errors)
    fresh = invitations.new_secret()

    async def _write(conn: AsyncConnection) -> str:
        now = utc_now()
        org = await _organisation(conn, actor, slug)
        existing = await queries.account_by_email(conn, email)
        if existing is not None and await queries.member_role(conn, org.id, existing[0]):
            raise InvalidInput(
                {"email": gettext(words.ALREADY_MEMBER).format(email=email, organisation=org.name)}
            )
        await count_attempt(conn, INVITATIONS, str(org.id), now)
        # Ended invitations are kept a while for the members page's history, then forgotten.
        await queries.forget_ended_invitations(conn, now - KEEP_ENDED_INVITATIONS)
        for old in await queries.revoke_pending_to(conn, org.id, email, now):
            await _audit(
                conn,
                actor,
                "membership_invitation_revoked",
                now,
                "invitation",
                old,
                {"organisation_id": org.id, "replaced": True},
            )
        expires = now + invitations.INVITATION_LIFETIME
        invitation_id = await queries.insert_invitation(
            conn,
            organisation_id=org.id,
            email=email,
            role=role,
            secret_hash=fresh.secret_hash,
            invited_by=actor.account_id,
            now=now,
            expires_at=expires,
        )
        token = invitations.make_token(secret_key, invitation_id, fresh.secret)
        await mail.queue(
            conn,
            kind=queries.INVITATION_MAIL,
            to_address=email,
            now=now,
            context={
                "organisation_name": org.name,
                "invited_by": actor.display_name,
                # In the request's language, which the mail is written in (mail.queue).
                "role_label": gettext(words.ROLE_LABELS[role]),
                "role_explained": gettext(words.ROLE_EXPLAINED[role]),
                "accept_url": accept_url.format(token=token),
                "days": invitations.INVITATION_LIFETIME.days,
                "invitation_id": invitation_id,  # so the row is emptied when it ends
            },
        )
        await queries.seal_invitation_mails(conn, now)  # the replaced invitation's, if unsent
        await _audit(
            conn,
            actor,
            "membership_invited",
            now,
            "invitation",
            invitation_id,
            {"organisation_id": org.id, "role": role},
        )
        return email

    return await db.write(_write)


async def revoke(db: Database, actor: Actor | None, slug: str, invitation_id: int) -> str:
    """Withdraw a pending invitation; the address it went to."""
    actor = require_actor(actor)

    async def _write(conn: AsyncConnection) -> str:
        now = utc_now()
        org = await _organisation(conn, actor, slug)
        row = await queries.invitation_by_id(conn, invitation_id)
        if row is None or row.organisation_id != org.id:
            raise NotFound(gettext(words.NO_INVITATION))
        if not await queries.mark_revoked(conn, row.id, now):
            raise Conflict(gettext(words.NO_INVITATION))
        await queries.seal_invitation_mails(conn, now)
        await _audit(
            conn,
            actor,
            "membership_invitation_revoked",
            now,
            "invitation",
            row.id,
            {"organisation_id": org.id, "role": row.role},
        )
        return row.email

    return await db.write(_write)


async def forget_and_seal(db: Database) -> None:
    """Housekeeping: forget invitations ended ``KEEP_ENDED_INVITATIONS`` ago, and take the
    links out of invitation mail that went or can no longer be used."""

    async def _write(conn: AsyncConnection) -> None:
        now = utc_now()
        await queries.forget_ended_invitations(conn, now - KEEP_ENDED_INVITATIONS)
        await queries.seal_invitation_mails(conn, now)

    await db.write(_write)


async def _revoke_passes(
    conn: AsyncConnection, actor: Actor, account_id: int, org_id: int, now: dt.datetime
) -> None:
    """An organiser who stops organising takes their whole-gathering door passes with them."""
    for pass_id in await queries.revoke_gathering_passes(conn, account_id, org_id, now):
        await _audit(
            conn,
            actor,
            "steward_pass_revoked",
            now,
            "steward_pass",
            pass_id,
            {"reason": "maker_no_longer_organiser", "organisation_id": org_id},
        )


async def _member(conn: AsyncConnection, org_id: int, account_id: int) -> queries.MemberRow:
    for row in await queries.members_of(conn, org_id):
        if row.account_id == account_id:
            return row
    raise NotFound(gettext(words.NO_MEMBER))


async def change_role(
    db: Database, actor: Actor | None, slug: str, account_id: int, role: str
) -> queries.MemberRow:
    """Make a member an organiser or a viewer; the member as they now are."""
    actor = await _authorised(db, actor, slug)  # who may, before what they typed
    role = _role(role)

    async def _write(conn: AsyncConnection) -> queries.MemberRow:
        now = utc_now()
        org = await _organisation(conn, actor, slug)
        member = await _member(conn, org.id, account_id)
        if member.role == role:
            return member
        if member.role == "organiser" and await queries.count_organisers(conn, org.id) <= 1:
            raise Conflict(gettext(words.LAST_ORGANISER))
        await queries.set_role(conn, org.id, account_id, role)
        if member.role == "organiser":
            await _revoke_passes(conn, actor, account_id, org.id, now)
        await _audit(
            conn,
            actor,
            "membership_role_changed",
            now,
            "account",
            account_id,
            {"organisation_id": org.id, "role": role, "was": member.role},
        )
        return member._replace(role=role)

    return await db.write(_write)


async def remove(
    db: Database, actor: Actor | None, slug: str, account_id: int
) -> tuple[queries.MemberRow, OrganisationRef]:
    """Remove a member from the organisation (their account stays); who it was."""
    actor = require_actor(actor)

    async def _write(conn: AsyncConnection) -> tuple[queries.MemberRow, OrganisationRef]:
        now = utc_now()
        org = await _organisation(conn, actor, slug)
        member = await _member(conn, org.id, account_id)
        if member.role == "organiser" and await queries.count_organisers(conn, org.id) <= 1:
            raise Conflict(gettext(words.LAST_ORGANISER))
        await queries.delete_membership(conn, org.id, account_id)
        if member.role == "organiser":
            await _revoke_passes(conn, actor, account_id, org.id, now)
        await _audit(
            conn,
            actor,
            "membership_removed",
            now,
            "account",
            account_id,
            {"organisation_id": org.id, "role": member.role},
        )
        return member, org

    return await db.write(_write)
