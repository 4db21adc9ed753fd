"""Signing organisers in and out: argon2 passwords, server-side sessions, throttling, resets."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth import queries
from gathering.auth.accounts import MIN_PASSWORD_LENGTH, check_email, hash_password
from gathering.auth.passwords import DUMMY_HASH as DUMMY_HASH
from gathering.auth.passwords import verify_password as verify_password
from gathering.core.clock import utc_now
from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.permissions import Actor
from gathering.core.throttles import Throttled as Throttled
from gathering.mail.queries import queue_message

log = logging.getLogger(__name__)

SESSION_LIFETIME = dt.timedelta(days=14)
THROTTLE_WINDOW = dt.timedelta(minutes=15)
MAX_ATTEMPTS_PER_EMAIL = 5
MAX_ATTEMPTS_PER_ADDRESS = 30
RESET_LIFETIME = dt.timedelta(hours=1)


@dataclass(frozen=True)
class SignedIn:
    token: str  # goes into the cookie; only its hash is stored
    actor: Actor
    expires_at: dt.datetime


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def sign_in(db: Database, email: str, password: str, *, client_address: str) -> SignedIn:
    """Check the password and open a session; InvalidInput or Throttled on failure."""
    email = email.strip().lower()
    if not email or not password:
        raise InvalidInput({"email": "Enter your email address and password."})

    async def _count_attempt(conn: AsyncConnection) -> None:
        now = utc_now()
        by_email, start = await queries.hit_throttle(conn, f"signin:{email}", now, THROTTLE_WINDOW)
        by_address, _ = await queries.hit_throttle(
            conn, f"signin-ip:{client_address}", now, THROTTLE_WINDOW
        )
        if by_email > MAX_ATTEMPTS_PER_EMAIL or by_address > MAX_ATTEMPTS_PER_ADDRESS:
            minutes = max(1, int((start + THROTTLE_WINDOW - now).total_seconds() // 60) + 1)
            raise Throttled(
                f"Too many sign-in attempts. Please wait {minutes} minutes and try again, "
                "or reset your password."
            )

    # Counted in its own unit so the count survives a failed attempt.
    await db.write(_count_attempt)

    async def _read(conn: AsyncConnection) -> tuple[int, str, bool] | None:
        row = await queries.account_by_email(conn, email)
        return None if row is None else (row.id, row.password_hash, row.is_active)

    found = await db.read(_read)
    ok = await verify_password(found[1] if found else DUMMY_HASH, password)
    if found is None or not ok or not found[2]:
        raise InvalidInput(
            {"password": "That email address and password do not match an account."},
            "Sign-in failed.",
        )
    account_id = found[0]
    token = secrets.token_urlsafe(32)

    async def _open(conn: AsyncConnection) -> SignedIn:
        now = utc_now()
        expires = now + SESSION_LIFETIME
        await queries.insert_login_session(conn, _token_hash(token), account_id, now, expires)
        await queries.clear_throttle(conn, f"signin:{email}")
        await queries.insert_audit_event(
            conn, now=now, actor_kind="account", actor_id=account_id, action="signin"
        )
        actor = await _actor(conn, account_id)
        assert actor is not None
        return SignedIn(token, actor, expires)

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
    )


async def actor_for_token(db: Database, token: str) -> Actor | None:
    """The signed-in actor behind a session cookie, or None if it is unknown or expired."""
    if not token or len(token) > 100:
        return None

    async def _read(conn: AsyncConnection) -> Actor | None:
        row = await queries.live_session_account(conn, _token_hash(token), utc_now())
        return None if row is None else await _actor(conn, row.id)

    return await db.read(_read)


async def sign_out(db: Database, token: str) -> None:
    """End this session on the server: the cookie stops working even if it was copied."""

    async def _write(conn: AsyncConnection) -> None:
        await queries.delete_login_session(conn, _token_hash(token))

    await db.write(_write)


# --- password reset ------------------------------------------------------------------------


def _reset_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="gathering.password-reset")


def _hash_fingerprint(password_hash: str) -> str:
    # In the token, so a reset link stops working once the password has changed (single use).
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


async def request_password_reset(
    db: Database, email: str, *, secret_key: str, reset_url: str, log_link: bool
) -> None:
    """Queue a reset email if the account exists; says nothing either way (no account probing).

    ``reset_url`` contains ``{token}``.
    """
    email = check_email(email)

    async def _write(conn: AsyncConnection) -> str | None:
        now = utc_now()
        count, _ = await queries.hit_throttle(conn, f"reset:{email}", now, THROTTLE_WINDOW)
        row = await queries.account_by_email(conn, email)
        if row is None or not row.is_active or count > 3:
            return None
        token = _reset_serializer(secret_key).dumps([row.id, _hash_fingerprint(row.password_hash)])
        link = reset_url.format(token=token)
        await queue_message(
            conn,
            kind="password_reset",
            to_address=email,
            subject="Reset your Gathering password",
            body_text=(
                "Someone (we hope you) asked to reset the password of this Gathering "
                f"account.\n\nChoose a new password here within an hour:\n{link}\n\n"
                "If it wasn't you, ignore this message: your password stays as it is.\n"
            ),
            now=now,
        )
        await queries.insert_audit_event(
            conn, now=now, actor_kind="account", actor_id=row.id, action="password_reset_requested"
        )
        return link

    link = await db.write(_write)
    if link and log_link:
        # Development only: without SMTP the mail waits in the outbox; the log saves a click.
        log.info("password reset link for %s: %s", email, link)


async def reset_password(db: Database, token: str, password: str, *, secret_key: str) -> None:
    """Set a new password from a reset link; every session of the account is signed out."""
    try:
        account_id, fingerprint = _reset_serializer(secret_key).loads(
            token, max_age=int(RESET_LIFETIME.total_seconds())
        )
    except SignatureExpired:
        raise InvalidInput({"token": "This reset link has expired. Ask for a new one."}) from None
    except (BadSignature, ValueError, TypeError):
        raise InvalidInput({"token": "This reset link is not valid. Ask for a new one."}) from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            {"password": f"Use a password of at least {MIN_PASSWORD_LENGTH} characters."}
        )
    new_hash = hash_password(password)

    async def _write(conn: AsyncConnection) -> None:
        row = await queries.account_by_id(conn, int(account_id))
        if row is None or _hash_fingerprint(row.password_hash) != fingerprint:
            raise InvalidInput(
                {"token": "This reset link has already been used. Ask for a new one."}
            )
        await queries.set_password_hash(conn, row.id, new_hash)
        await queries.delete_sessions_of(conn, row.id)
        await queries.insert_audit_event(
            conn, now=utc_now(), actor_kind="account", actor_id=row.id, action="password_reset"
        )

    await db.write(_write)
