"""What people read about registration windows (issue 16), ready for translation."""

from __future__ import annotations

OPEN = "Registration is open."
OPEN_UNTIL = "Registration is open until {moment}."
OPENS_ON = "Registration opens on {moment}."
CLOSED = "Registration is closed."
CLOSED_ON = "Registration closed on {moment}."
NOT_OPENED = "Registration is not open: the organisers have not opened it."
GATHERING_ENDED = "Registration is closed: this gathering has ended."
SESSION_ENDED = "Registration is closed: this session has ended."
SESSION_CANCELLED = "This session has been cancelled."
NOT_RELEASED = "Registration opens once the programme is published."
FULL = "Full — join the waiting list."
SESSION_CLOSED = "Registration for {title} is closed."
SESSION_NOT_YET = "Registration for {title} opens on {moment}."
SESSION_ENDED_NAMED = "Registration for {title} is closed: it has ended."

# For organisers: what the state means for them, and what they can do.
ORGANISER = {
    "open": "People can register now.",
    "not_yet": "People can register from the opening time; until then the public pages say when.",
    "closed": "Nobody can register. Open registration below when you are ready; the public pages "
    "say it is closed.",
    "ended": "The gathering has ended, so registration closed by itself. Its pages stay as a "
    "record; nobody can register.",
    "unreleased": "Nobody can register until the programme is released, even when registration "
    "is open here.",
}

# The organiser's registration settings form.
OPENS_AT_LABEL = "Opens at"
CLOSES_AT_LABEL = "Closes at"
BAD_MOMENT = "Give a date and time such as 2027-03-13 10:00, or leave it empty."
CLOSES_BEFORE_OPENS = "The closing time must be after the opening time."
MOMENT_OUT_OF_RANGE = "Give a date between the years 2000 and 2100."
