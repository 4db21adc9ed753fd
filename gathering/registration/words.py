"""What the registration feature says to people, in one place, ready for gettext.

Errors are in the person's terms (what to do next), never the code's. Functions take what
varies, so a translation can move the words around it.
"""

from __future__ import annotations

MAX_NAME = 200
MAX_ANSWER = 2000

# --- the form -----------------------------------------------------------------------------------

NO_GATHERING = "There is no gathering at this address."
NOT_OPEN = "Registration for this gathering is not open."
NAME_MISSING = "Enter the name you would like on your ticket."
NAME_TOO_LONG = f"Keep your name to {MAX_NAME} characters or fewer."
ANSWER_TOO_LONG = f"Keep this answer to {MAX_ANSWER:,} characters or fewer."
CHOOSE_TICKET_TYPE = "Choose a ticket type."
CHOOSE_SESSIONS = "Choose sessions from the programme."
CHOOSE_ORGANISATIONS = "Choose organisations from the list."
MATCH_TEXT = "Put me in touch with other attendees from my constituency."
TOO_MANY_FROM_HERE = (
    "Too many registrations from this network just now. Please try again in {wait}."
)


def please_answer(label: str) -> str:
    return f"Please answer: {label}."


def invite_code_needed(session_title: str) -> str:
    return f"“{session_title}” needs its invite code."


def invite_code_wrong(session_title: str) -> str:
    return f"That invite code for “{session_title}” is not right."


def contact_text(organisation: str) -> str:
    """The consent text for contact by ``organisation``."""
    return f"{organisation} may contact me about its work."


# --- links --------------------------------------------------------------------------------------

CONFIRM_LINK_EXPIRED = "This confirmation link has expired. Please register again."
CONFIRM_LINK_INVALID = "This confirmation link is not valid."
REGISTRATION_GONE = "This registration has expired or was cancelled. Please register again."
MANAGE_LINK_INVALID = "This link is not valid any more. Check the latest email from us."
OFFER_LINK_INVALID = "This offer link is not valid."
OFFER_LAPSED = "Sorry, this offer has lapsed and the place went to the next person."

# --- the manage page ----------------------------------------------------------------------------

NOTHING_HERE = "There is nothing at this address."
JOIN_LINK_DEAD = (
    "This joining link does not work: the place was given up or cancelled, or the session was "
    "cancelled. Check your latest email from us, or your ticket page."
)
NOT_YOUR_PLACE = "That place is not part of this booking."
NO_TICKET_YET = "There is no ticket until you confirm your email address."
NOTICES = {
    "place": "That place is cancelled; if anyone was waiting, it has been offered to them.",
    "answers": "Your answers are saved.",
    "accepted": "The place is yours. See you there!",
}
EVERYTHING_CANCELLED = "your registration and every session place in it"

# --- mail ---------------------------------------------------------------------------------------

ONLINE = "Online"
VENUE_TBC = "Venue tbc"
A_SESSION = "a session"
WHOLE_GATHERING = "the whole gathering"


def my_sessions_calendar(gathering_title: str) -> str:
    return f"{gathering_title}: my sessions"
