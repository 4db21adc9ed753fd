"""Now and next: the sessions happening at an instant and those starting soon after it, in the
gathering's own time zone (issue 16 #7).

The answer depends on the instant, so its page cannot be kept per release like the programme:
``programme.glance_pages`` keeps it per (release generation, minute) instead.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from gathering.programme.published import Programme, PublicSession

# "Next": what starts within this long after now; when nothing does, the next start time's
# sessions (a long lunch break still shows what comes after it).
NEXT_WINDOW = dt.timedelta(minutes=90)


@dataclass(frozen=True)
class NowAndNext:
    """What is on at ``at`` (local to the gathering) and what starts next."""

    at: dt.datetime  # aware, in the gathering's zone
    phase: str  # before | during | after (the gathering's sessions as a whole)
    now: tuple[PublicSession, ...]
    next: tuple[PublicSession, ...]
    first_start: dt.datetime | None  # local; None when the programme has no sessions
    last_end: dt.datetime | None


def now_and_next(programme: Programme, at: dt.datetime) -> NowAndNext:
    """Sessions on at ``at`` and starting next; cancelled ones are kept (the page marks them)."""
    zone = zoneinfo.ZoneInfo(programme.gathering.timezone)
    local = at.astimezone(zone)
    sessions = sorted(programme.sessions, key=lambda s: (s.starts_at, s.id))
    if not sessions:
        return NowAndNext(local, "before", (), (), None, None)
    first = sessions[0].starts_at
    last = max(s.ends_at for s in sessions)
    phase = "before" if at < first else ("after" if at >= last else "during")
    on_now = tuple(s for s in sessions if s.starts_at <= at < s.ends_at)
    upcoming = [s for s in sessions if s.starts_at > at]
    soon = tuple(s for s in upcoming if s.starts_at <= at + NEXT_WINDOW)
    if not soon and upcoming:
        soon = tuple(s for s in upcoming if s.starts_at == upcoming[0].starts_at)
    return NowAndNext(local, phase, on_now, soon, first.astimezone(zone), last.astimezone(zone))
