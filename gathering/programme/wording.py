"""Moments and changes in words, shared by pages, feeds and mail."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from gathering.programme.release import Change


def in_zone(moment: dt.datetime, timezone: str) -> dt.datetime:
    """``moment`` on the clocks of ``timezone`` (an IANA name)."""
    return moment.astimezone(zoneinfo.ZoneInfo(timezone))


def clock(moment: dt.datetime, timezone: str) -> str:
    """'17:30' in ``timezone``."""
    return f"{in_zone(moment, timezone):%H:%M}"


def short_moment(moment: dt.datetime, timezone: str) -> str:
    """'Mon 23 Sep 18:30' in ``timezone``."""
    local = in_zone(moment, timezone)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def moved_text(label: str, before: str | None, after: str | None, timezone: str) -> str:
    if before is None or after is None:
        return f"{label} changed"
    old = dt.datetime.fromisoformat(before)
    new = dt.datetime.fromisoformat(after)
    same_day = in_zone(old, timezone).date() == in_zone(new, timezone).date()
    shown = clock(new, timezone) if same_day else short_moment(new, timezone)
    return f"{label} changed from {short_moment(old, timezone)} to {shown}"


def change_lines(change: Change, timezone: str) -> list[str]:
    """A change in words: ['Moved from Venue tbc to Main hall, Brighthelm Centre', ...]."""
    before, after = change.before, change.after
    lines: list[str] = []
    for kind in change.kinds:
        if kind == "new":
            lines.append("New")
        elif kind == "withdrawn":
            lines.append("Withdrawn from the programme")
        elif kind == "cancelled":
            lines.append("Cancelled")
        elif kind == "reinstated":
            lines.append("Reinstated: no longer cancelled")
        elif kind == "moved_time":
            if "starts_at" in before:
                lines.append(
                    moved_text("Time", before["starts_at"], after.get("starts_at"), timezone)
                )
            if "ends_at" in before and "starts_at" not in before:
                lines.append(
                    moved_text("End time", before["ends_at"], after.get("ends_at"), timezone)
                )
        elif kind == "moved_room":
            lines.append(f"Moved from {before.get('room', 'Venue tbc')} to {after.get('room')}")
        elif kind == "retitled":
            lines.append(f"Renamed from “{before.get('title', '')}”")
        elif kind == "speakers_changed":
            now = ", ".join(after.get("speakers") or []) or "none"
            was = ", ".join(before.get("speakers") or []) or "none"
            lines.append(f"Speakers changed from {was} to {now}")
        elif kind == "details_changed":
            lines.append("Details updated")
        else:
            lines.append(kind.replace("_", " ").capitalize())
    return lines
