"""Organiser and admin accounts."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth import account_queries as queries
from gathering.auth import words
from gathering.auth.passwords import hash_password as hash_password
from gathering.core.audit import insert_audit_event
from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.i18n import gettext
from gathering.programme.catalogue_queries import organisation_id_by_slug

MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str, field: str = "email") -> str:
    """The address, normalised; InvalidInput if it cannot be an address."""
    email = normalise_email(email)
    if len(email) > 320 or not _EMAIL.match(email):
        raise InvalidInput({field: gettext(words.ENTER_EMAIL)})
    return email


@dataclass(frozen=True)
class AccountCreated:
    account_id: int
    created: bool


async def create_or_update_account(
    db: Database,
    *,
    email: str,
    display_name: str,
    password: str,
    is_admin: bool = False,
    organisation_slug: str | None = None,
) -> AccountCreated:
    """Create an account (or reset an existing one's password), optionally in an organisation."""
    email = check_email(email)
    errors = {}
    display_name = display_name.strip()
    if not display_name or len(display_name) > 200:
        errors["name"] = gettext(words.ENTER_NAME)
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = gettext(words.TOO_SHORT).format(length=MIN_PASSWORD_LENGTH)
    if errors:
        raise InvalidInput(errors)
    password_hash = hash_password(password)  # slow on purpose; outside the write unit

    async def _write(conn: AsyncConnection) -> AccountCreated:
        now = dt.datetime.now(dt.UTC)
        organisation_id = None
        if organisation_slug:
            organisation_id = await organisation_id_by_slug(conn, organisation_slug)
            if organisation_id is None:
                raise InvalidInput(
                    {"organisation": gettext(words.NO_ORGANISATION).format(slug=organisation_slug)}
                )
        account_id = await queries.account_id_by_email(conn, email)
        created = account_id is None
        was_admin = (
            False if account_id is None else await queries.account_is_admin(conn, account_id)
        )
        if account_id is None:
            account_id = await queries.insert_account(
                conn,
                email=email,
                display_name=display_name,
                password_hash=password_hash,
                is_admin=is_admin,
                now=now,
            )
        else:
            await queries.update_account_password(
                conn,
                account_id,
                display_name=display_name,
                password_hash=password_hash,
                is_admin=is_admin,
            )
        joined = organisation_id is not None and await queries.ensure_membership(
            conn, account_id, organisation_id, now
        )
        # Role changes go to the audit log (done from the command line: no account acted).
        changes: list[tuple[str, dict[str, object]]] = []
        if created:
            changes.append(("account_created", {"is_admin": is_admin}))
        elif was_admin != is_admin:
            changes.append(("role_changed", {"is_admin": is_admin}))
        if joined:
            changes.append(
                ("role_changed", {"organisation": organisation_slug, "role": "organiser"})
            )
        for action, detail in changes:
            await insert_audit_event(
                conn,
                now=now,
                actor_kind="command_line",
                actor_id=None,
                action=action,
                subject_kind="account",
                subject_id=account_id,
                detail=detail,
            )
        return AccountCreated(account_id, created)

    return await db.write(_write)
