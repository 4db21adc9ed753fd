"""What the door's two pages show of a steward pass: the link's pass before the PIN, and the
scan page's sessions. Never people; the scanning itself is in ``gathering.door.scanning``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.core.errors import NotFound
from gathering.core.i18n import gettext
from gathering.door import queries, words
from gathering.door.devices import (
    PassInfo,
    PassSession,
    StewardDevice,
    pass_info,
    pass_problem,
    token_hash,
)
from gathering.door.scanning import ADMISSION_OPENS_BEFORE

# Pass tokens are URL-safe random strings; anything else (such as "scan" or "api") is no pass.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,200}")


@dataclass(frozen=True)
class PassLink:
    """A pass as its shared link shows it, before the PIN: no sessions, no people."""

    label: str
    gathering_title: str
    timezone: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    problem: str | None  # pass_revoked | pass_expired | not_yet_valid: opening would fail
    is_open_here: bool  # this device already carries a device token for this pass


@dataclass(frozen=True)
class DoorPage:
    """What the scan page needs: the pass, whether it admits to the whole gathering, and the
    session to offer first (the one admitting now, if any)."""

    info: PassInfo
    covers_whole_gathering: bool
    suggested_session_id: int | None  # None: the whole gathering


async def pass_link(
    db: Database, token: str, *, device: StewardDevice | None, now: dt.datetime
) -> PassLink:
    """The pass behind a shared link; NotFound (in words) if there is none."""
    if not _TOKEN.fullmatch(token):
        raise NotFound(gettext(words.UNKNOWN_LINK))
    hashed = token_hash(token)

    async def _read(conn: AsyncConnection) -> PassLink | None:
        row = await queries.pass_by_token_hash(conn, hashed)
        if row is None:
            return None
        found = await queries.gathering_for_pass(conn, row.gathering_id)
        return PassLink(
            label=row.label,
            gathering_title=found.title,
            timezone=found.timezone,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            problem=pass_problem(row, None, now),
            is_open_here=device is not None and device.pass_id == row.id,
        )

    link = await db.read(_read)
    if link is None:
        raise NotFound(gettext(words.UNKNOWN_LINK))
    return link


def _admitting_now(session: PassSession, now: dt.datetime) -> bool:
    opens = session.starts_at - ADMISSION_OPENS_BEFORE
    return not session.is_cancelled and opens <= now < session.ends_at


async def door_page(db: Database, device: StewardDevice, *, now: dt.datetime) -> DoorPage:
    """The scan page's pass; PassRefused (with its code and words) if it cannot be used."""
    info = await pass_info(db, device, now=now)
    covers_all = info.all_sessions
    current = [s.id for s in info.sessions if _admitting_now(s, now)]
    upcoming = [s.id for s in info.sessions if not s.is_cancelled and s.ends_at > now]
    listed = [s.id for s in info.sessions]
    suggested: int | None = None
    if current:
        suggested = current[0]
    elif not covers_all and (upcoming or listed):
        suggested = (upcoming or listed)[0]
    return DoorPage(info, covers_all, suggested)
