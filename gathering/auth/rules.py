"""Signing organisers in and out: argon2 passwords, server-side sessions, throttled guessing.

Throttling follows ``gathering.core.throttles``' secret-guessing policy (issue 14, item 11): only
wrong passwords count, each one past the first few makes the next try wait longer (never a
lock-out), and the right password clears them. Who is held up depends on where a try comes from:

- a device that signed in to this account before (``gathering.auth.devices``) counts only its
  own failures, so strangers guessing an organiser's password never delay the organiser there;
- any other device counts failures per account (``signin:<email>``) and per network address
  (``signin-ip:<address>``); a right password clears the account's and gives back its own try
  at the address, so a venue's shared address is never used up by people signing in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth import devices, queries, words
from gathering.auth.devices import Device
from gathering.auth.passwords import verify_password
from gathering.core.audit import insert_audit_event
from gathering.core.clock import utc_now
from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.i18n import gettext
from gathering.core.permissions import Actor
from gathering.core.throttles import GuessLimit, claim_guess, clear_guesses, refund_guess
from gathering.core.throttles import Throttled as Throttled

SESSION_LIFETIME = dt.timedelta(days=14)

# Five wrong passwords for an account, then 2 s, 4 s ... up to 5 minutes between tries from
# devices it has never signed in on: about a dozen guesses an hour against a 10-character
# password, and at worst a 5-minute wait for the owner on a new device while under attack.
BY_ACCOUNT = GuessLimit(
    "signin",
    free_failures=4,
    first_delay=dt.timedelta(seconds=2),
    max_delay=dt.timedelta(minutes=5),
    forget_after=dt.timedelta(days=1),
    refusal=words.TOO_MANY_FOR_ACCOUNT,
)
# A venue's network shares one address: thirty typos go free, then delays up to 5 minutes.
BY_ADDRESS = GuessLimit(
    "signin-ip",
    free_failures=30,
    first_delay=dt.timedelta(seconds=1),
    max_delay=dt.timedelta(minutes=5),
    forget_after=dt.timedelta(hours=1),
    refusal=words.TOO_MANY_FROM_NETWORK,
)
BY_DEVICE = GuessLimit(
    "signin-device",
    free_failures=4,
    first_delay=dt.timedelta(seconds=2),
    max_delay=dt.timedelta(minutes=5),
    forget_after=dt.timedelta(days=1),
    refusal=words.TOO_MANY_ON_DEVICE,
)


@dataclass(frozen=True)
class SignedIn:
    token: str  # goes into the session cookie; only its hash is stored
    actor: Actor
    expires_at: dt.datetime
    device_token: str  # goes into the trusted-device cookie


@dataclass(frozen=True)
class _Claimed:
    account_id: int | None
    password_hash: str | None
    is_active: bool
    trusted: Device | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def sign_in(
    db: Database,
    email: str,
    password: str,
    *,
    client_address: str,
    secret_key: str,
    device_token: str = "",
) -> SignedIn:
    """Check the password and open a session; InvalidInput or Throttled on failure."""
    email = email.strip().lower()
    if not email or not password:
        raise InvalidInput({"email": gettext(words.ENTER_BOTH)})
    device = devices.read_device(device_token, secret_key=secret_key)

    async def _claim(conn: AsyncConnection) -> _Claimed:
        now = utc_now()
        row = await queries.account_by_email(conn, email)
        trusted = device if device is not None and row and device.trusts(row.id) else None
        if trusted is not None:
            await claim_guess(conn, BY_DEVICE, trusted.id, now)
        else:
            await claim_guess(conn, BY_ADDRESS, client_address, now)
            await claim_guess(conn, BY_ACCOUNT, email, now)
        if row is None:
            return _Claimed(None, None, False, None)
        return _Claimed(row.id, row.password_hash, row.is_active, trusted)

    # Counted as a failure before the slow check, in its own unit: parallel guesses cannot
    # outrun the count, and the count survives the failed attempt.
    claimed = await db.write(_claim, serializable=False)
    is_right = await verify_password(claimed.password_hash, password)
    if claimed.account_id is None or not is_right or not claimed.is_active:
        raise InvalidInput({"password": gettext(words.NO_MATCH)}, gettext(words.SIGN_IN_FAILED))
    account_id = claimed.account_id
    token = secrets.token_urlsafe(32)

    async def _open(conn: AsyncConnection) -> SignedIn:
        now = utc_now()
        if claimed.trusted is not None:
            await clear_guesses(conn, BY_DEVICE, claimed.trusted.id)
        else:
            await clear_guesses(conn, BY_ACCOUNT, email)
            await refund_guess(conn, BY_ADDRESS, client_address, now)
        expires = now + SESSION_LIFETIME
        await queries.insert_login_session(conn, token_hash(token), account_id, now, expires)
        await insert_audit_event(
            conn, now=now, actor_kind="account", actor_id=account_id, action="signin"
        )
        actor = await _actor(conn, account_id)
        assert actor is not None
        remembered = devices.remember(device, account_id, secret_key=secret_key)
        return SignedIn(token, actor, expires, remembered)

    return await db.write(_open)


async def _actor(conn: AsyncConnection, account_id: int) -> Actor | None:
    row = await queries.account_by_id(conn, account_id)
    if row is None or not row.is_active:
        return None
    return Actor(
        account_id=row.id,
        email=row.email,
        display_name=row.display_name,
        is_admin=row.is_admin,
        organisation_ids=await queries.organisation_ids_of(conn, row.id),
        viewer_organisation_ids=await queries.organisation_ids_of(conn, row.id, "viewer"),
    )


async def actor_for_token(db: Database, token: str) -> Actor | None:
    """The signed-in actor behind a session cookie, or None if it is unknown or expired."""
    if not token or len(token) > 100:
        return None

    async def _read(conn: AsyncConnection) -> Actor | None:
        row = await queries.live_session_account(conn, token_hash(token), utc_now())
        return None if row is None else await _actor(conn, row.id)

    return await db.read(_read)


async def sign_out(db: Database, token: str) -> None:
    """End this session on the server: the cookie stops working even if it was copied."""

    async def _write(conn: AsyncConnection) -> None:
        await queries.delete_login_session(conn, token_hash(token))

    await db.write(_write)
