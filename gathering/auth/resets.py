"""Password resets by emailed link: the mail goes through the outbox like every other message.

The link carries a signed, timed token naming the account and a fingerprint of its current
password hash, so it stops working after an hour and once the password has changed (single use).
Asking says nothing about whether the address has an account (no account probing), and at most
``RESET_MAILS.limit`` mails go to one address per window.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

import anyio.to_thread
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth import queries, words
from gathering.auth.accounts import MIN_PASSWORD_LENGTH, check_email
from gathering.auth.passwords import hash_password
from gathering.core.audit import insert_audit_event
from gathering.core.clock import utc_now
from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.i18n import gettext
from gathering.core.throttles import AttemptRate, Throttled, count_attempt
from gathering.mail import messages as mail

log = logging.getLogger(__name__)

RESET_LIFETIME = dt.timedelta(hours=1)
# Per address: the form answers the same past it, and nothing more is mailed.
RESET_MAILS = AttemptRate("reset", limit=3, window=dt.timedelta(minutes=15), refusal="")


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="gathering.password-reset")


def _hash_fingerprint(password_hash: str) -> str:
    # In the token, so a reset link stops working once the password has changed (single use).
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


async def request_password_reset(
    db: Database, email: str, *, secret_key: str, reset_url: str, log_link: bool
) -> None:
    """Queue a reset email if the account exists; says nothing either way (no account probing).

    ``reset_url`` contains ``{token}``. ``log_link`` (development, when asked for by
    ``GATHERING_LOG_RESET_LINKS``) also writes the link and the address to the app log.
    """
    email = check_email(email)

    async def _write(conn: AsyncConnection) -> str | None:
        now = utc_now()
        try:
            await count_attempt(conn, RESET_MAILS, email, now)
        except Throttled:
            return None
        row = await queries.account_by_email(conn, email)
        if row is None or not row.is_active:
            return None
        token = _serializer(secret_key).dumps([row.id, _hash_fingerprint(row.password_hash)])
        link = reset_url.format(token=token)
        minutes = int(RESET_LIFETIME.total_seconds() // 60)
        await mail.queue(
            conn,
            kind="password_reset",
            to_address=email,
            context={"name": row.display_name, "reset_url": link, "minutes": minutes},
            now=now,
        )
        await insert_audit_event(
            conn, now=now, actor_kind="account", actor_id=row.id, action="password_reset_requested"
        )
        return link

    link = await db.write(_write)
    if link and log_link:
        log.info("password reset link for %s: %s", email, link)


async def reset_password(db: Database, token: str, password: str, *, secret_key: str) -> None:
    """Set a new password from a reset link; every session of the account is signed out."""
    try:
        account_id, fingerprint = _serializer(secret_key).loads(
            token, max_age=int(RESET_LIFETIME.total_seconds())
        )
        account_id = int(account_id)
    except SignatureExpired:
        raise InvalidInput({"token": gettext(words.RESET_EXPIRED)}) from None
    except (BadSignature, ValueError, TypeError):
        raise InvalidInput({"token": gettext(words.RESET_INVALID)}) from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            {"password": gettext(words.TOO_SHORT).format(length=MIN_PASSWORD_LENGTH)}
        )
    new_hash = await anyio.to_thread.run_sync(hash_password, password)  # slow on purpose

    async def _write(conn: AsyncConnection) -> None:
        row = await queries.account_by_id(conn, account_id)
        if row is None or _hash_fingerprint(row.password_hash) != fingerprint:
            raise InvalidInput({"token": gettext(words.RESET_USED)})
        await queries.set_password_hash(conn, row.id, new_hash)
        await queries.delete_sessions_of(conn, row.id)
        await insert_audit_event(
            conn, now=utc_now(), actor_kind="account", actor_id=row.id, action="password_reset"
        )

    await db.write(_write)
