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
OFFER_TAKEN = "You took up this place already: it is in your booking."

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
    "accepted": "The place is yours. See you there! Your ticket is on its way by email.",
    "added": "Added: you have a place at each session you chose. An email with your booking "
    "is on its way.",
    "waiting": "Added. Where a session was full you are on its waiting list: you have no place "
    "there yet, and we email you if one frees up.",
    "nothing": "Those sessions were in your booking already.",
    "ticket_type": "Your ticket type is changed.",
    "undone": "Undone: the place is yours again.",
    "restored": "Undone: your registration and its places are back.",
}
EVERYTHING_CANCELLED = "your registration and every session place in it"
WAITING_LIST_ONLY = (
    "There is no ticket yet: you are only on the waiting list, so the door would turn you "
    "away. We email you your ticket as soon as a place is yours."
)
CONFIRM_BEFORE_ADDING = "Confirm your email address first, with the link we sent you."
CHOOSE_SESSIONS_TO_ADD = "Choose at least one session to add."
REGISTRATION_CANCELLED = "This registration is cancelled."
TOO_LATE_TO_UNDO = (
    "It is too late to undo that: the place has gone to the next person waiting, or it was "
    "taken back already. You can add the session again while places are left."
)
UNDO_CANCELLED_FIRST = "Your whole registration is cancelled: undo that first."
REGISTERED_AGAIN_SINCE = (
    "You have registered again since, so this cancelled registration cannot come back: use the "
    "link in the newer email."
)


def supporters_only(titles: list[str]) -> str:
    return "Only supporters can book: " + ", ".join(f"“{t}”" for t in titles) + "."


def added(session_title: str, status: str) -> str:
    if status == "confirmed":
        return f"You have a place at “{session_title}”."
    return f"“{session_title}” is full: you are on its waiting list."


def ticket_type_changed(name: str) -> str:
    return f"Your ticket type is now {name}."


def gave_up_notice(session_title: str, until: str) -> str:
    return f"You gave up “{session_title}”. Changed your mind? You can undo it until {until}."


# --- mail ---------------------------------------------------------------------------------------

ONLINE = "Online"
VENUE_TBC = "Venue tbc"
A_SESSION = "a session"
WHOLE_GATHERING = "the whole gathering"


def given_up(session_title: str, *, was_waiting: bool = False) -> str:
    if was_waiting:
        return f"You left the waiting list for “{session_title}”."
    return f"You gave up your place at “{session_title}”."


def offer_taken(session_title: str) -> str:
    return f"You took up the place offered to you at “{session_title}”."


def my_sessions_calendar(gathering_title: str) -> str:
    return f"{gathering_title}: my sessions"
