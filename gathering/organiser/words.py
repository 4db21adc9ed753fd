"""What organisers read, in one place: refusals, field errors and notices.

Each is marked for the catalogue with ``N_`` and translated where it is shown, with
``gettext(words.X)`` (issue 18); ``str.format`` fields are filled after translation, and dates
are written in the reader's language before they go in. Keep the organiser's words: "session",
"host", "co-host", "supporters", never table or role names.
"""

from __future__ import annotations

from gathering.core.i18n import N_

# --- finding things -----------------------------------------------------------------------------
NO_GATHERING = N_("There is no such gathering.")
NO_SESSION = N_("There is no such session in this gathering.")

# --- who may -----------------------------------------------------------------------------------
ONLY_ORGANISERS_ADD = N_("Only organisers of an organisation may add sessions.")
ONLY_HOSTS_CHANGE_HOSTS = N_(
    "Only organisers of the organisation that hosts this session may change its hosts and co-hosts."
)
ONLY_OWNER_SUPPORTERS = N_(
    "Only organisers of the organisation that hosts this session may see or change its "
    "supporters list."
)
ONLY_HOSTS_SEE_PEOPLE = N_(
    "Only organisers of this session's hosts and co-hosts may see its people."
)
ONLY_HOSTS_SEE_NUMBERS = N_("Only organisers of this session's hosts and co-hosts see its numbers.")
ONLY_GATHERING_HOST_DASHBOARD = N_(
    "Only organisers of the gathering's host organisation see its whole dashboard. "
    "Your own sessions' dashboards are linked from your organiser page."
)

# --- the session editor ------------------------------------------------------------------------
TITLE_MISSING = N_("Enter a title.")
TITLE_TOO_LONG = N_("Keep the title to {max:,} characters or fewer.")
DESCRIPTION_TOO_LONG = N_("Keep the description to {max:,} characters or fewer.")
DAY_GARBLED = N_("Enter the date as a day, month and year.")
DAY_OUTSIDE = N_("Choose a day within the gathering ({first} to {last}).")
DAY_OUT_OF_RANGE = N_("Choose a day between the years {first} and {last}.")
START_GARBLED = N_("Enter the start time as hours and minutes, like 17:30.")
END_GARBLED = N_("Enter the end time as hours and minutes, like 19:00.")
END_BEFORE_START = N_("The end must be after the start.")
ROOM_UNKNOWN = N_("Choose a room or “Venue tbc”.")
TRACK_UNKNOWN = N_("Choose a track from the list.")
FORMAT_UNKNOWN = N_("Choose in person, online or hybrid.")
LINK_GARBLED = N_("Enter the joining link as a full https:// address.")
LINK_MISSING = N_("An online or hybrid session needs a joining link before it is published.")
CAPACITY_GARBLED = N_("Enter the number of places as a whole number, or leave it empty.")
ACCESS_UNKNOWN = N_("Choose who may come.")
INVITE_CODE_MISSING = N_("An invite-only session needs an invite code.")
INVITE_CODE_TOO_LONG = N_("Keep the invite code to 64 characters or fewer.")
ACCESS_NOTE_TOO_LONG = N_("Keep the note on access to 2,000 characters or fewer.")
LANGUAGE_GARBLED = N_("Enter a language code such as en or cy.")
STATUS_UNKNOWN = N_("Choose draft, published or cancelled.")
HOST_NOT_YOURS = N_("Choose the organisation that hosts this session (one of yours).")
CO_HOST_UNKNOWN = N_("Choose co-hosts from the list.")
SPEAKER_UNKNOWN = N_("Choose speakers from the list.")
CHAIR_NOT_SPEAKER = N_("The chair must be one of the session's speakers.")
NEW_SPEAKER_TOO_LONG = N_("Keep the new speaker's name and affiliation to 200 characters.")
CLASH_ROOM = N_("Same room at the same time as “{title}”.")
CLASH_SPEAKER = N_("A speaker is also in “{title}” at the same time.")

# --- hosts changed (the notice on the organiser home of every organisation involved) ----------
NOBODY = N_("nobody")
HOSTS_CHANGED = N_("The hosts of “{session}” changed on {day} at {time} UTC: {before} → {after}.")
HOSTED_BY = N_("hosted by {host}")
CO_HOSTED_BY = N_("co-hosted by {co_hosts}")
REMOVED_ORGANISATION = N_("a removed organisation")
REMOVED_SESSION = N_("a deleted session")

# --- supporters --------------------------------------------------------------------------------
SUPPORTERS_MODE_UNKNOWN = N_("Choose whether to add to the list or replace it.")
SUPPORTERS_TOO_MUCH_TEXT = N_("That is too much text at once; paste fewer addresses.")
SUPPORTERS_BAD_LINE = N_("Line {number}: {quoted} is not an email address.")
SUPPORTERS_BAD_LINES = N_("Line {number}: {quoted} are not email addresses.")
# " And {more} more line(s) like these." is a plural: supporters.py says it with ngettext.
NOTHING_SAVED = N_(" Nothing was saved.")
SUPPORTERS_TOO_MANY = N_(
    "That is {count:,} addresses; a list holds at most {max:,}. Nothing was saved."
)
SUPPORTERS_WOULD_BE_TOO_MANY = N_(
    "With these the list would hold {count:,} addresses; it holds at most {max:,}. "
    "Nothing was saved."
)
SUPPORTERS_SAVED = N_("Saved. {added:,} added")
SUPPORTERS_REMOVED = N_("{removed:,} removed")
SUPPORTERS_ON_LIST = N_("; {count:,} on the list.")

# --- a session's people ------------------------------------------------------------------------
ORGANISATION_UNKNOWN = N_("Choose an organisation from the list.")
EXPORT_CHOOSE = N_("Choose which organisation's contact list to download.")
EXPORT_CHOOSE_WHY = N_(
    "Choose which organisation's contact list to download: it holds only the people who agreed "
    "to hear from that organisation."
)
EXPORT_NOT_YOURS = N_("You may download contact lists only for organisations you organise for.")

# --- messages to registrants -------------------------------------------------------------------
SUBJECT_MISSING = N_("Enter a subject, for example “Venue confirmed: Brighthelm Centre”.")
SUBJECT_TOO_LONG = N_("Keep the subject to {max} characters or fewer (it has {length:,}).")
BODY_MISSING = N_("Write the message you want to send.")
BODY_TOO_LONG = N_(
    "Keep the message to {max:,} characters or fewer (it has {length:,}); link to a longer "
    "text instead."
)
FORM_EXPIRED = N_("This form has expired. Check the message and press Send again.")
MESSAGE_ALREADY_SENT = N_("This message had already been sent to {people}. It was not sent again.")
MESSAGE_ON_ITS_WAY = N_("Your message is on its way to {people}.")

# --- the dashboard -----------------------------------------------------------------------------
FEWER_THAN = N_("Fewer than {n}")
OR_MORE = N_("{n} or more")
NO_TICKET_TYPE = N_("No ticket type")
OTHER_CONSTITUENCIES = N_("Other constituencies")
NOT_GIVEN = N_("Not given")
ONE_HOUR = N_("hour")
HOURS = N_("{n} hours")
MINUTES = N_("{n} minutes")
DAY = N_("day")
WEEK = N_("week")
SPAN = N_("{start} to {end}")
WEEK_FROM = N_("Week from {day}")
ARRIVALS_X = N_("Time of first check-in, per {step}")
ARRIVALS_Y = N_("Arrivals")
REGISTRATIONS_Y = N_("Registrations")
BOOKINGS_Y = N_("Bookings")
REGISTERED_X = N_("Day registered, per {step}")
BOOKED_X = N_("Day booked, per {step}")
NOTHING_YET = {
    "registrations": N_("No registrations yet."),
    "bookings": N_("No bookings yet."),
    "arrivals": N_("No arrivals yet."),
}
