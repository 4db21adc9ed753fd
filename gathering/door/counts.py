"""Numbers for the door: who is inside now, how many are registered, places left. Never names."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.door import move_queries, queries
from gathering.door.devices import StewardDevice, refused, usable_pass


@dataclass(frozen=True)
class Counts:
    session_id: int | None
    checked_in: int  # inside now
    registered: int  # confirmed registrations (whole gathering) or confirmed places (session)
    capacity_left: int | None  # the session's capacity minus those inside; None: no capacity


async def counts(
    db: Database, device: StewardDevice, session_id: int | None, *, now: dt.datetime
) -> Counts:
    """Numbers for the door (never names): inside now, registered, capacity left."""

    async def _read(conn: AsyncConnection) -> Counts:
        pass_row = await usable_pass(conn, device, now)
        capacity = None
        if session_id is None and not pass_row.all_sessions:
            raise refused("session_not_on_pass")
        if session_id is not None:
            session = await queries.session_on_pass(conn, pass_row, session_id)
            if session is None:
                raise refused("session_not_on_pass")
            capacity = session.capacity
        gathering_id = pass_row.gathering_id
        inside = await move_queries.present_count(conn, gathering_id, session_id)
        registered = await move_queries.registered_count(conn, gathering_id, session_id)
        left = None if capacity is None else max(0, capacity - inside)
        return Counts(session_id, inside, registered, left)

    return await db.read(_read)
