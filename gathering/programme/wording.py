"""What the public reads about programmes, in one place (marked for gettext): refusals, labels,
changes in words, and moments on a gathering's clocks; shared by pages, exports, the API and mail.

Plain strings are sentences as shown; ``str.format`` fields are filled where they are used.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from gathering.core import i18n
from gathering.core.i18n import N_, gettext
from gathering.programme.published import Change

# --- finding things ----------------------------------------------------------------------------
NO_GATHERING_HERE = N_("There is no gathering at this address.")
NO_SUCH_GATHERING = N_("There is no such gathering.")
NO_SUCH_SESSION = N_("There is no such session in this gathering's programme.")
NO_SPEAKER_HERE = N_("There is no speaker at this address.")
NO_ORGANISATION_HERE = N_("There is no organisation at this address.")
NOTHING_TO_RELEASE = N_("Nothing has changed since the last release.")
SEARCH_TOO_LONG = N_("That search is too long.")
SEARCH_AT_MOST = N_("Please search with at most {limit} characters.")

# --- labels on pages -------------------------------------------------------------------------
VENUE_TBC = N_("Venue tbc")
ACCESS_LABELS = {
    "public": N_("Open to all"),
    "supporters": N_("Supporters only"),
    "invite": N_("By invitation"),
}
ROLE_LABELS = {
    "chair": N_("Chair"),
    "speaker": N_("Speaker"),
    "host": N_("Host"),
    "co_host": N_("Co-host"),
}
LANGUAGE_NAMES = {
    "en": N_("English"),
    "cy": N_("Welsh"),
    "gd": N_("Scottish Gaelic"),
    "ga": N_("Irish"),
    "bfi": N_("British Sign Language"),
    "fr": N_("French"),
    "de": N_("German"),
    "es": N_("Spanish"),
}

# --- the changes feed (Atom) -------------------------------------------------------------------
FEED_TITLE = N_("Programme changes: {title}")
FEED_AUTHOR = N_("Organisers of {title}")
RELEASE_TITLE = N_("Release {number}: {what}")
ONE_CHANGE = N_("1 change")
MANY_CHANGES = N_("{count} changes")
NO_SESSION_CHANGES = N_("no session changes")
NO_SESSION_CHANGED = N_("No session changed.")

# --- exports for conference apps ---------------------------------------------------------------
ONLINE_ROOM = N_("Online")
SESSION_PAGE = N_("Session page")
CANCELLED_TITLE = N_("Cancelled: {title}")
CANCELLED = N_("This session has been cancelled.")
VENUE_TO_BE_CONFIRMED = N_("Venue to be confirmed.")
CO_HOSTED_WITH = N_(" with ")
FORMAT_FACTS = {
    "in_person": N_("In person"),
    "online": N_("Online"),
    "hybrid": N_("In person and online"),
}
ACCESS_FACTS = {
    "public": "",
    "supporters": N_("Supporters only."),
    "invite": N_("By invitation (invite code needed)."),
}

# --- changes in words --------------------------------------------------------------------------
CHANGE_NEW = N_("New")
CHANGE_WITHDRAWN = N_("Withdrawn from the programme")
CHANGE_CANCELLED = N_("Cancelled")
CHANGE_REINSTATED = N_("Reinstated: no longer cancelled")
CHANGE_DETAILS = N_("Details updated")
TIME_LABEL = N_("Time")
END_TIME_LABEL = N_("End time")
FIELD_CHANGED = N_("{label} changed")
FIELD_CHANGED_FROM_TO = N_("{label} changed from {before} to {after}")
MOVED_FROM_TO = N_("Moved from {before} to {after}")
RENAMED_FROM = N_("Renamed from “{title}”")
SPEAKERS_FROM_TO = N_("Speakers changed from {before} to {after}")
NO_SPEAKERS = N_("none")


def in_zone(moment: dt.datetime, timezone: str) -> dt.datetime:
    """``moment`` on the clocks of ``timezone`` (an IANA name)."""
    return moment.astimezone(zoneinfo.ZoneInfo(timezone))


def clock(moment: dt.datetime, timezone: str) -> str:
    """'17:30' in ``timezone``."""
    return f"{in_zone(moment, timezone):%H:%M}"


def short_moment(moment: dt.datetime, timezone: str) -> str:
    """'Mon 23 Sep 18:30' in ``timezone`` ('Llun 23 Medi 18:30' in Welsh)."""
    if i18n.current_language() != i18n.DEFAULT_LANGUAGE:
        return i18n.format_datetime(moment, "EEE d MMM HH:mm", timezone)
    # English as it always read (CLDR's en_GB would say 'Sept').
    local = in_zone(moment, timezone)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def on_day(day_text: str) -> str:
    """A day ('Dydd Sul 22 Medi') as it reads inside a sentence, as an adverb of time or after
    'tan' or 'ar': Welsh mutates it ('ddydd Sul 22 Medi'); English is left as it is."""
    if day_text.startswith("Dydd ") and i18n.current_language() == "cy":
        return "ddydd " + day_text[len("Dydd ") :]
    return day_text


def moved_text(label: str, before: str | None, after: str | None, timezone: str) -> str:
    """'Time changed from Mon 23 Sep 18:30 to 19:00' (the clock only, on the same day)."""
    if before is None or after is None:
        return gettext(FIELD_CHANGED).format(label=label)
    old = dt.datetime.fromisoformat(before)
    new = dt.datetime.fromisoformat(after)
    same_day = in_zone(old, timezone).date() == in_zone(new, timezone).date()
    shown = clock(new, timezone) if same_day else short_moment(new, timezone)
    return gettext(FIELD_CHANGED_FROM_TO).format(
        label=label, before=short_moment(old, timezone), after=shown
    )


def _room(value: str | None) -> str | None:
    """A room as a release recorded it; 'Venue tbc' (recorded in English) in the reader's words."""
    return gettext(VENUE_TBC) if value is None or value == VENUE_TBC else value


def change_lines(change: Change, timezone: str) -> list[str]:
    """A change in words: ['Moved from Venue tbc to Main hall, Brighthelm Centre', ...], in the
    current language."""
    before, after = change.before, change.after
    lines: list[str] = []
    for kind in change.kinds:
        if kind == "new":
            lines.append(gettext(CHANGE_NEW))
        elif kind == "withdrawn":
            lines.append(gettext(CHANGE_WITHDRAWN))
        elif kind == "cancelled":
            lines.append(gettext(CHANGE_CANCELLED))
        elif kind == "reinstated":
            lines.append(gettext(CHANGE_REINSTATED))
        elif kind == "moved_time":
            if "starts_at" in before:
                label = gettext(TIME_LABEL)
                lines.append(
                    moved_text(label, before["starts_at"], after.get("starts_at"), timezone)
                )
            if "ends_at" in before and "starts_at" not in before:
                label = gettext(END_TIME_LABEL)
                lines.append(moved_text(label, before["ends_at"], after.get("ends_at"), timezone))
        elif kind == "moved_room":
            lines.append(
                gettext(MOVED_FROM_TO).format(
                    before=_room(before.get("room")),
                    after=_room(after.get("room")) if "room" in after else None,
                )
            )
        elif kind == "retitled":
            lines.append(gettext(RENAMED_FROM).format(title=before.get("title", "")))
        elif kind == "speakers_changed":
            none = gettext(NO_SPEAKERS)
            now = ", ".join(after.get("speakers") or []) or none
            was = ", ".join(before.get("speakers") or []) or none
            lines.append(gettext(SPEAKERS_FROM_TO).format(before=was, after=now))
        elif kind == "details_changed":
            lines.append(gettext(CHANGE_DETAILS))
        else:
            lines.append(kind.replace("_", " ").capitalize())
    return lines
