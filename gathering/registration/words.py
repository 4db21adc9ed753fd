"""What the registration feature says to people, in one place, marked for gettext.

Errors are in the person's terms (what to do next), never the code's. Functions take what
varies, so a translation can move the words around it; they answer in the current language.
Constants are msgids: translate them where they are shown (``gettext(words.X)``).
"""

from __future__ import annotations

from gathering.core.i18n import N_, gettext

MAX_NAME = 200
MAX_ANSWER = 2000

# --- the form -----------------------------------------------------------------------------------

NO_GATHERING = N_("There is no gathering at this address.")
NOT_OPEN = N_("Registration for this gathering is not open.")
NAME_MISSING = N_("Enter the name you would like on your ticket.")
NAME_TOO_LONG = N_("Keep your name to {limit} characters or fewer.")  # limit=MAX_NAME
ANSWER_TOO_LONG = N_("Keep this answer to {limit} characters or fewer.")  # limit="2,000"
CHOOSE_TICKET_TYPE = N_("Choose a ticket type.")
CHOOSE_SESSIONS = N_("Choose sessions from the programme.")
CHOOSE_ORGANISATIONS = N_("Choose organisations from the list.")
MATCH_TEXT = N_("Put me in touch with other attendees from my constituency.")
TOO_MANY_FROM_HERE = N_(
    "Too many registrations from this network just now. Please try again in {wait}."
)


def please_answer(label: str) -> str:
    return gettext("Please answer: {label}.").format(label=label)


def invite_code_needed(session_title: str) -> str:
    return gettext("“{title}” needs its invite code.").format(title=session_title)


def invite_code_wrong(session_title: str) -> str:
    return gettext("That invite code for “{title}” is not right.").format(title=session_title)


def contact_text(organisation: str) -> str:
    """The consent text for contact by ``organisation``."""
    return gettext("{organisation} may contact me about its work.").format(
        organisation=organisation
    )


# --- links --------------------------------------------------------------------------------------

CONFIRM_LINK_EXPIRED = N_("This confirmation link has expired. Please register again.")
CONFIRM_LINK_INVALID = N_("This confirmation link is not valid.")
REGISTRATION_GONE = N_("This registration has expired or was cancelled. Please register again.")
MANAGE_LINK_INVALID = N_("This link is not valid any more. Check the latest email from us.")
OFFER_LINK_INVALID = N_("This offer link is not valid.")
OFFER_LAPSED = N_("Sorry, this offer has lapsed and the place went to the next person.")
OFFER_TAKEN = N_("You took up this place already: it is in your booking.")

# --- the manage page ----------------------------------------------------------------------------

NOTHING_HERE = N_("There is nothing at this address.")
JOIN_LINK_DEAD = N_(
    "This joining link does not work: the place was given up or cancelled, or the session was "
    "cancelled. Check your latest email from us, or your ticket page."
)
NOT_YOUR_PLACE = N_("That place is not part of this booking.")
NO_TICKET_YET = N_("There is no ticket until you confirm your email address.")
NOTICES = {
    "place": N_("That place is cancelled; if anyone was waiting, it has been offered to them."),
    "answers": N_("Your answers are saved."),
    "accepted": N_("The place is yours. See you there! Your ticket is on its way by email."),
    "added": N_(
        "Added: you have a place at each session you chose. An email with your booking "
        "is on its way."
    ),
    "waiting": N_(
        "Added. Where a session was full you are on its waiting list: you have no place "
        "there yet, and we email you if one frees up."
    ),
    "nothing": N_("Those sessions were in your booking already."),
    "ticket_type": N_("Your ticket type is changed."),
    "undone": N_("Undone: the place is yours again."),
    "restored": N_("Undone: your registration and its places are back."),
}
EVERYTHING_CANCELLED = N_("your registration and every session place in it")
WAITING_LIST_ONLY = N_(
    "There is no ticket yet: you are only on the waiting list, so the door would turn you "
    "away. We email you your ticket as soon as a place is yours."
)
CONFIRM_BEFORE_ADDING = N_("Confirm your email address first, with the link we sent you.")
CHOOSE_SESSIONS_TO_ADD = N_("Choose at least one session to add.")
REGISTRATION_CANCELLED = N_("This registration is cancelled.")
TOO_LATE_TO_UNDO = N_(
    "It is too late to undo that: the place has gone to the next person waiting, or it was "
    "taken back already. You can add the session again while places are left."
)
UNDO_CANCELLED_FIRST = N_("Your whole registration is cancelled: undo that first.")
REGISTERED_AGAIN_SINCE = N_(
    "You have registered again since, so this cancelled registration cannot come back: use the "
    "link in the newer email."
)


def supporters_only(titles: list[str]) -> str:
    titled = ", ".join(f"“{t}”" for t in titles)
    return gettext("Only supporters can book: {titles}.").format(titles=titled)


def added(session_title: str, status: str) -> str:
    if status == "confirmed":
        return gettext("You have a place at “{title}”.").format(title=session_title)
    return gettext("“{title}” is full: you are on its waiting list.").format(title=session_title)


def ticket_type_changed(name: str) -> str:
    return gettext("Your ticket type is now {name}.").format(name=name)


def gave_up_notice(session_title: str, until: str) -> str:
    return gettext(
        "You gave up “{title}”. Changed your mind? You can undo it until {until}."
    ).format(title=session_title, until=until)


# --- mail ---------------------------------------------------------------------------------------

ONLINE = N_("Online")
VENUE_TBC = N_("Venue tbc")
A_SESSION = N_("a session")
WHOLE_GATHERING = N_("the whole gathering")


def given_up(session_title: str, *, was_waiting: bool = False) -> str:
    if was_waiting:
        return gettext("You left the waiting list for “{title}”.").format(title=session_title)
    return gettext("You gave up your place at “{title}”.").format(title=session_title)


def offer_taken(session_title: str) -> str:
    return gettext("You took up the place offered to you at “{title}”.").format(title=session_title)


def my_sessions_calendar(gathering_title: str) -> str:
    return gettext("{title}: my sessions").format(title=gathering_title)
