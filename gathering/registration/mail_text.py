"""Session and moment texts for registration mail, in the gathering's own time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from gathering.programme.release import PublicSession
from gathering.registration import words


def moment_text(moment: dt.datetime, timezone: str) -> str:
    """ "Saturday 25 September 2021 at 14:30 BST"."""
    local = moment.astimezone(zoneinfo.ZoneInfo(timezone))
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} {local.tzname()}"


def session_context(session: PublicSession, timezone: str, status: str) -> dict[str, str]:
    """A session as mail templates show it: title, when, where and the person's status."""
    zone = zoneinfo.ZoneInfo(timezone)
    start, end = session.starts_at.astimezone(zone), session.ends_at.astimezone(zone)
    if session.room is not None:
        where = f"{session.room.name}, {session.room.venue.name}"
    else:
        where = words.ONLINE if session.format == "online" else words.VENUE_TBC
    when = f"{start:%a} {start.day} {start:%b} {start:%H:%M}–{end:%H:%M} {start.tzname()}"
    return {"title": session.title, "when_text": when, "where_text": where, "status": status}
