"""Session and moment texts for registration mail, in the gathering's own time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from gathering.core import i18n
from gathering.core.i18n import gettext
from gathering.programme.release import PublicSession
from gathering.registration import words


def moment_text(moment: dt.datetime, timezone: str) -> str:
    """ "Saturday 25 September 2021 at 14:30 BST"; in Welsh "ddydd Sadwrn 25 Medi 2021 am 14:30 BST"
    (mutated: it follows "tan" or "ar", or stands alone as an adverb of time)."""
    local = moment.astimezone(zoneinfo.ZoneInfo(timezone))
    if i18n.current_language() != i18n.DEFAULT_LANGUAGE:
        day = i18n.format_date(local.date(), "EEEE d MMMM y")
        if day.startswith("Dydd "):  # Welsh: soft-mutated, as after 'tan', 'ar' or on its own
            day = "ddydd " + day[len("Dydd ") :]
        return gettext("{day} at {time}").format(day=day, time=f"{local:%H:%M} {local.tzname()}")
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} {local.tzname()}"


def session_context(session: PublicSession, timezone: str, status: str) -> dict[str, str]:
    """A session as mail templates show it: title, when, where and the person's status."""
    zone = zoneinfo.ZoneInfo(timezone)
    start, end = session.starts_at.astimezone(zone), session.ends_at.astimezone(zone)
    if session.room is not None:
        where = f"{session.room.name}, {session.room.venue.name}"
    else:
        place = words.ONLINE if session.format == "online" else words.VENUE_TBC
        where = gettext(place)
    if i18n.current_language() != i18n.DEFAULT_LANGUAGE:
        day = i18n.format_date(start.date(), "EEE d MMM")
        when = f"{day} {start:%H:%M}–{end:%H:%M} {start.tzname()}"
    else:
        when = f"{start:%a} {start.day} {start:%b} {start:%H:%M}–{end:%H:%M} {start.tzname()}"
    return {"title": session.title, "when_text": when, "where_text": where, "status": status}
