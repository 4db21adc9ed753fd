"""What people read about registration windows (issue 16), ready for translation."""

from __future__ import annotations

from gathering.core.i18n import N_

OPEN = N_("Registration is open.")
OPEN_UNTIL = N_("Registration is open until {moment}.")
OPENS_ON = N_("Registration opens on {moment}.")
CLOSED = N_("Registration is closed.")
CLOSED_ON = N_("Registration closed on {moment}.")
NOT_OPENED = N_("Registration is not open: the organisers have not opened it.")
GATHERING_ENDED = N_("Registration is closed: this gathering has ended.")
SESSION_ENDED = N_("Registration is closed: this session has ended.")
SESSION_CANCELLED = N_("This session has been cancelled.")
NOT_RELEASED = N_("Registration opens once the programme is published.")
FULL = N_("Full — join the waiting list.")
SESSION_CLOSED = N_("Registration for {title} is closed.")
SESSION_NOT_YET = N_("Registration for {title} opens on {moment}.")
SESSION_ENDED_NAMED = N_("Registration for {title} is closed: it has ended.")

# For organisers: what the state means for them, and what they can do.
ORGANISER = {
    "open": N_("People can register now."),
    "not_yet": N_(
        "People can register from the opening time; until then the public pages say when."
    ),
    "closed": N_(
        "Nobody can register. Open registration below when you are ready; the public pages "
        "say it is closed."
    ),
    "ended": N_(
        "The gathering has ended, so registration closed by itself. Its pages stay as a "
        "record; nobody can register."
    ),
    "unreleased": N_(
        "Nobody can register until the programme is released, even when registration is open here."
    ),
}

# The organiser's registration settings form.
OPENS_AT_LABEL = N_("Opens at")
CLOSES_AT_LABEL = N_("Closes at")
BAD_MOMENT = N_("Give a date and time such as 2027-03-13 10:00, or leave it empty.")
CLOSES_BEFORE_OPENS = N_("The closing time must be after the opening time.")
MOMENT_OUT_OF_RANGE = N_("Give a date between the years 2000 and 2100.")
