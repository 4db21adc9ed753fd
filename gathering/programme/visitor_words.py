"""What visitors read on the programme's phone-first views (issue 16 #7, #8): the timetable's
columns, now and next, starred sessions and their feed, in one place (ready for gettext).

``str.format`` fields are filled where the words are used.
"""

from __future__ import annotations

from gathering.core.i18n import N_

# --- the timetable grid ------------------------------------------------------------------------
ONLINE_COLUMN = N_("Online")
TBC_COLUMN = N_("Venue tbc")

# --- starred sessions --------------------------------------------------------------------------
STARRED_FEED_NAME = N_("Starred sessions · {title}")
STARRED_FEED_DESCRIPTION = N_(
    "The sessions you starred in the programme of {title}, kept up to date as they change."
)
STARRED_NONE = N_(
    "This address names no sessions. Star sessions on the programme page, then subscribe to "
    "your starred sessions from there."
)
STARRED_NOT_A_NUMBER = N_(
    "This address lists sessions by their numbers, separated by commas; “{value}” is not one."
)
STARRED_TOO_MANY = N_("A starred list holds at most {limit} sessions; this address names {count}.")
STARRED_TOO_LONG = N_("This address is too long to be a list of starred sessions.")
STARRED_NOT_IN_PROGRAMME = N_(
    "None of these sessions is in the published programme of {title}: they may have been "
    "withdrawn. Star sessions again on the programme page."
)
