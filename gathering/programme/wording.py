"""What the public reads about programmes, in one place (ready for gettext): refusals, labels,
changes in words, and moments on a gathering's clocks; shared by pages, exports, the API and mail.

Plain strings are sentences as shown; ``str.format`` fields are filled where they are used.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from gathering.programme.published import Change

# --- finding things ----------------------------------------------------------------------------
NO_GATHERING_HERE = "There is no gathering at this address."
NO_SUCH_GATHERING = "There is no such gathering."
NO_SUCH_SESSION = "There is no such session in this gathering's programme."
NO_SPEAKER_HERE = "There is no speaker at this address."
NO_ORGANISATION_HERE = "There is no organisation at this address."
NOTHING_TO_RELEASE = "Nothing has changed since the last release."
SEARCH_TOO_LONG = "That search is too long."
SEARCH_AT_MOST = "Please search with at most {limit} characters."

# --- labels on pages -------------------------------------------------------------------------
VENUE_TBC = "Venue tbc"
ACCESS_LABELS = {
    "public": "Open to all",
    "supporters": "Supporters only",
    "invite": "By invitation",
}
ROLE_LABELS = {"chair": "Chair", "speaker": "Speaker", "host": "Host", "co_host": "Co-host"}
LANGUAGE_NAMES = {
    "en": "English",
    "cy": "Welsh",
    "gd": "Scottish Gaelic",
    "ga": "Irish",
    "bfi": "British Sign Language",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
}

# --- the changes feed (Atom) -------------------------------------------------------------------
FEED_TITLE = "Programme changes: {title}"
FEED_AUTHOR = "Organisers of {title}"
RELEASE_TITLE = "Release {number}: {what}"
ONE_CHANGE = "1 change"
MANY_CHANGES = "{count} changes"
NO_SESSION_CHANGES = "no session changes"
NO_SESSION_CHANGED = "No session changed."

# --- exports for conference apps ---------------------------------------------------------------
ONLINE_ROOM = "Online"
SESSION_PAGE = "Session page"
CANCELLED_TITLE = "Cancelled: {title}"
CANCELLED = "This session has been cancelled."
VENUE_TO_BE_CONFIRMED = "Venue to be confirmed."
CO_HOSTED_WITH = " with "
FORMAT_FACTS = {"in_person": "In person", "online": "Online", "hybrid": "In person and online"}
ACCESS_FACTS = {
    "public": "",
    "supporters": "Supporters only.",
    "invite": "By invitation (invite code needed).",
}

# --- changes in words --------------------------------------------------------------------------
CHANGE_NEW = "New"
CHANGE_WITHDRAWN = "Withdrawn from the programme"
CHANGE_CANCELLED = "Cancelled"
CHANGE_REINSTATED = "Reinstated: no longer cancelled"
CHANGE_DETAILS = "Details updated"
TIME_LABEL = "Time"
END_TIME_LABEL = "End time"
FIELD_CHANGED = "{label} changed"
FIELD_CHANGED_FROM_TO = "{label} changed from {before} to {after}"
MOVED_FROM_TO = "Moved from {before} to {after}"
RENAMED_FROM = "Renamed from “{title}”"
SPEAKERS_FROM_TO = "Speakers changed from {before} to {after}"
NO_SPEAKERS = "none"


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
    """'Time changed from Mon 23 Sep 18:30 to 19:00' (the clock only, on the same day)."""
    if before is None or after is None:
        return FIELD_CHANGED.format(label=label)
    old = dt.datetime.fromisoformat(before)
    new = dt.datetime.fromisoformat(after)
    same_day = in_zone(old, timezone).date() == in_zone(new, timezone).date()
    shown = clock(new, timezone) if same_day else short_moment(new, timezone)
    return FIELD_CHANGED_FROM_TO.format(
        label=label, before=short_moment(old, timezone), after=shown
    )


def change_lines(change: Change, timezone: str) -> list[str]:
    """A change in words: ['Moved from Venue tbc to Main hall, Brighthelm Centre', ...]."""
    before, after = change.before, change.after
    lines: list[str] = []
    for kind in change.kinds:
        if kind == "new":
            lines.append(CHANGE_NEW)
        elif kind == "withdrawn":
            lines.append(CHANGE_WITHDRAWN)
        elif kind == "cancelled":
            lines.append(CHANGE_CANCELLED)
        elif kind == "reinstated":
            lines.append(CHANGE_REINSTATED)
        elif kind == "moved_time":
            if "starts_at" in before:
                lines.append(
                    moved_text(TIME_LABEL, before["starts_at"], after.get("starts_at"), timezone)
                )
            if "ends_at" in before and "starts_at" not in before:
                lines.append(
                    moved_text(END_TIME_LABEL, before["ends_at"], after.get("ends_at"), timezone)
                )
        elif kind == "moved_room":
            lines.append(
                MOVED_FROM_TO.format(before=before.get("room", VENUE_TBC), after=after.get("room"))
            )
        elif kind == "retitled":
            lines.append(RENAMED_FROM.format(title=before.get("title", "")))
        elif kind == "speakers_changed":
            now = ", ".join(after.get("speakers") or []) or NO_SPEAKERS
            was = ", ".join(before.get("speakers") or []) or NO_SPEAKERS
            lines.append(SPEAKERS_FROM_TO.format(before=was, after=now))
        elif kind == "details_changed":
            lines.append(CHANGE_DETAILS)
        else:
            lines.append(kind.replace("_", " ").capitalize())
    return lines
