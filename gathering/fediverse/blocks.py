"""Blocking a fediverse instance: a network admin's decision (authorised here, in the rules)."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.clock import utc_now
from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.i18n import gettext
from gathering.core.permissions import Actor, require_admin
from gathering.fediverse import queries, words

# A host name, optionally with a port: what ``documents.host_of`` gives for a follower's id.
_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?(?::\d{1,5})?$")


def clean_host(raw: str) -> str:
    """The instance as typed (``social.example`` or a URL on it), lower-cased; InvalidInput if
    it is not a host name."""
    host = raw.strip().lower()
    if "://" in host:
        host = host.split("://", 1)[1]
    host = host.split("/", 1)[0].removeprefix("@")
    if "@" in host:  # an account such as alice@social.example
        host = host.rsplit("@", 1)[1]
    if not _HOST.match(host):
        raise InvalidInput({"host": gettext(words.HOST_NEEDED)}, gettext(words.HOST_NEEDED))
    return host


async def block_instance(db: Database, actor: Actor | None, raw_host: str) -> tuple[str, int]:
    """Block an instance: its followers go, its undelivered activities go, its inbox posts are
    refused from now on. Returns the host and how many followers were removed."""
    require_admin(actor)
    host = clean_host(raw_host)

    async def _write(conn: AsyncConnection) -> int:
        return await queries.block_instance(conn, host, utc_now())

    return host, await db.write(_write)


async def unblock_instance(db: Database, actor: Actor | None, raw_host: str) -> str:
    require_admin(actor)
    host = clean_host(raw_host)

    async def _write(conn: AsyncConnection) -> None:
        await queries.unblock_instance(conn, host)

    await db.write(_write)
    return host


async def blocked_instances(db: Database, actor: Actor | None) -> list[str]:
    require_admin(actor)
    return await db.read(queries.blocked_instances)
