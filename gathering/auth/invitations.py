"""Joining an organisation by invitation (issue 16, item 11): the link, and accepting it.

An invitation link carries a token signed with the secret key (itsdangerous, timed) holding the
invitation's id and a random secret whose SHA-256 alone is stored. It works for
``INVITATION_LIFETIME``, once, and not after the organisation withdrew it; a copy of the database
cannot make one, and a guessed or altered link fails the signature before anything is read.
The link itself is kept nowhere once it is mailed: the outbox row of the invitation's mail is
emptied once sent, and an unsent one is dropped when the invitation ends
(``member_queries.seal_invitation_mails``, also run by housekeeping).

Accepting makes an account (name and password, argon2) for an address that has none, and the
membership with the invited role, in one unit. An address that already has an account must be
signed in as it to join: an invitation never sets the password of an existing account.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import anyio.to_thread
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth import account_queries
from gathering.auth import words as auth_words
from gathering.auth.accounts import MIN_PASSWORD_LENGTH
from gathering.auth.passwords import hash_password
from gathering.core.audit import insert_audit_event
from gathering.core.clock import utc_now
from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.i18n import gettext
from gathering.core.permissions import Actor
from gathering.organiser import member_queries as queries
from gathering.organiser import member_words as words

INVITATION_LIFETIME = dt.timedelta(days=7)
_SALT = "gathering.organiser-invitation"


@dataclass(frozen=True)
class NewSecret:
    secret: str  # goes into the link only
    secret_hash: str  # stored


def new_secret() -> NewSecret:
    secret = secrets.token_urlsafe(32)
    return NewSecret(secret, _hash(secret))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def make_token(secret_key: str, invitation_id: int, secret: str) -> str:
    """The token of an invitation's link."""
    return URLSafeTimedSerializer(secret_key, salt=_SALT).dumps([invitation_id, secret])


def _read_token(secret_key: str, token: str) -> tuple[int, str]:
    if len(token) > 400:
        raise InvalidInput({"token": gettext(words.INVITATION_INVALID)})
    try:
        invitation_id, secret = URLSafeTimedSerializer(secret_key, salt=_SALT).loads(
            token, max_age=int(INVITATION_LIFETIME.total_seconds())
        )
        return int(invitation_id), str(secret)
    except SignatureExpired:
        raise InvalidInput({"token": gettext(words.INVITATION_EXPIRED)}) from None
    except (BadSignature, ValueError, TypeError):
        raise InvalidInput({"token": gettext(words.INVITATION_INVALID)}) from None


@dataclass(frozen=True)
class Invitation:
    """What the invitation page shows."""

    organisation_name: str
    email: str
    role: str
    role_label: str
    invited_by: str
    has_account: bool


async def _live(
    conn: AsyncConnection, invitation_id: int, secret: str, now: dt.datetime
) -> queries.InvitationRow:
    row = await queries.invitation_by_id(conn, invitation_id)
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
        raise InvalidInput({"token": gettext(words.INVITATION_INVALID)})
    if row.revoked_at is not None:
        raise InvalidInput({"token": gettext(words.INVITATION_REVOKED)})
    if row.accepted_at is not None:
        raise InvalidInput({"token": gettext(words.INVITATION_USED)})
    if row.expires_at <= now:
        raise InvalidInput({"token": gettext(words.INVITATION_EXPIRED)})
    return row


async def invitation(db: Database, token: str, *, secret_key: str) -> Invitation:
    """The invitation behind a link; InvalidInput (in words) if it cannot be used."""
    invitation_id, secret = _read_token(secret_key, token)

    async def _read(conn: AsyncConnection) -> Invitation:
        row = await _live(conn, invitation_id, secret, utc_now())
        [org] = await queries.organisations_by_id(conn, frozenset({row.organisation_id}))
        return Invitation(
            organisation_name=org.name,
            email=row.email,
            role=row.role,
            role_label=gettext(words.ROLE_LABELS[row.role]),
            invited_by=row.invited_by_name or "",
            has_account=await queries.account_by_email(conn, row.email) is not None,
        )

    return await db.read(_read)


@dataclass(frozen=True)
class Joined:
    account_id: int
    email: str
    organisation_name: str
    role_label: str
    created_account: bool


async def accept(
    db: Database,
    token: str,
    *,
    secret_key: str,
    actor: Actor | None,
    display_name: str = "",
    password: str = "",
) -> Joined:
    """Use an invitation: a new account (name, password) or the signed-in one joins."""
    invitation_id, secret = _read_token(secret_key, token)
    display_name = display_name.strip()
    password_hash: str | None = None
    if actor is None:
        errors = {}
        if not display_name or len(display_name) > 200 or "\x00" in display_name:
            errors["name"] = gettext(words.ENTER_NAME)
        if len(password) < MIN_PASSWORD_LENGTH:
            errors["password"] = gettext(auth_words.TOO_SHORT).format(length=MIN_PASSWORD_LENGTH)
        if errors:
            raise InvalidInput(errors)
        # Slow on purpose, so outside the write unit.
        password_hash = await anyio.to_thread.run_sync(hash_password, password)

    invited: list[str] = []  # the address, for the answer to a lost race below

    async def _write(conn: AsyncConnection) -> Joined:
        now = utc_now()
        row = await _live(conn, invitation_id, secret, now)
        invited[:] = [row.email]
        existing = await queries.account_by_email(conn, row.email)
        created = False
        if existing is not None:
            if actor is None or actor.account_id != existing[0]:
                raise InvalidInput({"token": gettext(words.SIGN_IN_AS).format(email=row.email)})
            account_id = existing[0]
        else:
            if actor is not None or password_hash is None:
                # Signed in as someone else: the invitation is for another address.
                raise InvalidInput({"token": gettext(words.SIGN_IN_AS).format(email=row.email)})
            account_id = await account_queries.insert_account(
                conn,
                email=row.email,
                display_name=display_name,
                password_hash=password_hash,
                is_admin=False,
                now=now,
            )
            created = True
        if not await queries.mark_accepted(conn, row.id, now):
            raise InvalidInput({"token": gettext(words.INVITATION_USED)})
        await queries.seal_invitation_mails(conn, now)  # its link is used: out of the outbox
        role = row.role
        if await queries.member_role(conn, row.organisation_id, account_id) is None:
            await queries.insert_membership(conn, row.organisation_id, account_id, role, now)
        else:  # already a member: the invitation changes nothing of their role
            role = str(await queries.member_role(conn, row.organisation_id, account_id))
        if created:
            await insert_audit_event(
                conn,
                now=now,
                actor_kind="account",
                actor_id=account_id,
                action="account_created",
                subject_kind="account",
                subject_id=account_id,
                detail={"is_admin": False, "invitation_id": row.id},
            )
        await insert_audit_event(
            conn,
            now=now,
            actor_kind="account",
            actor_id=account_id,
            action="membership_joined",
            subject_kind="account",
            subject_id=account_id,
            detail={"organisation_id": row.organisation_id, "role": role, "invitation_id": row.id},
        )
        [org] = await queries.organisations_by_id(conn, frozenset({row.organisation_id}))
        return Joined(account_id, row.email, org.name, gettext(words.ROLE_LABELS[role]), created)

    try:
        return await db.write(_write)
    except IntegrityError:
        # Two invitations to one new address accepted at the same moment (PostgreSQL): the
        # other made the account first, and this unit was rolled back whole. Its invitation is
        # still unused: the person signs in as that account and opens the link again.
        raise InvalidInput({"token": gettext(words.SIGN_IN_AS).format(email=invited[0])}) from None
