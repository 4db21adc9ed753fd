"""What organisers read, in one place (ready for gettext): refusals, field errors and notices.

Plain strings are sentences as shown; ``str.format`` fields are filled by the rules. Keep the
organiser's words: "session", "host", "co-host", "supporters", never table or role names.
"""

from __future__ import annotations

# --- finding things -----------------------------------------------------------------------------
NO_GATHERING = "There is no such gathering."
NO_SESSION = "There is no such session in this gathering."

# --- who may -----------------------------------------------------------------------------------
ONLY_ORGANISERS_ADD = "Only organisers of an organisation may add sessions."
ONLY_HOSTS_CHANGE_HOSTS = (
    "Only organisers of the organisation that hosts this session may change its hosts and co-hosts."
)
ONLY_OWNER_SUPPORTERS = (
    "Only organisers of the organisation that hosts this session may see or change its "
    "supporters list."
)
ONLY_HOSTS_SEE_PEOPLE = "Only organisers of this session's hosts and co-hosts may see its people."
ONLY_HOSTS_SEE_NUMBERS = "Only organisers of this session's hosts and co-hosts see its numbers."
ONLY_GATHERING_HOST_DASHBOARD = (
    "Only organisers of the gathering's host organisation see its whole dashboard. "
    "Your own sessions' dashboards are linked from your organiser page."
)

# --- the session editor ------------------------------------------------------------------------
TITLE_MISSING = "Enter a title."
TITLE_TOO_LONG = "Keep the title to {max:,} characters or fewer."
DESCRIPTION_TOO_LONG = "Keep the description to {max:,} characters or fewer."
DAY_GARBLED = "Enter the date as a day, month and year."
DAY_OUTSIDE = "Choose a day within the gathering ({first:%d %B} to {last:%d %B %Y})."
DAY_OUT_OF_RANGE = "Choose a day between the years {first} and {last}."
START_GARBLED = "Enter the start time as hours and minutes, like 17:30."
END_GARBLED = "Enter the end time as hours and minutes, like 19:00."
END_BEFORE_START = "The end must be after the start."
ROOM_UNKNOWN = "Choose a room or “Venue tbc”."
TRACK_UNKNOWN = "Choose a track from the list."
FORMAT_UNKNOWN = "Choose in person, online or hybrid."
LINK_GARBLED = "Enter the joining link as a full https:// address."
LINK_MISSING = "An online or hybrid session needs a joining link before it is published."
CAPACITY_GARBLED = "Enter the number of places as a whole number, or leave it empty."
ACCESS_UNKNOWN = "Choose who may come."
INVITE_CODE_MISSING = "An invite-only session needs an invite code."
INVITE_CODE_TOO_LONG = "Keep the invite code to 64 characters or fewer."
ACCESS_NOTE_TOO_LONG = "Keep the note on access to 2,000 characters or fewer."
LANGUAGE_GARBLED = "Enter a language code such as en or cy."
STATUS_UNKNOWN = "Choose draft, published or cancelled."
HOST_NOT_YOURS = "Choose the organisation that hosts this session (one of yours)."
CO_HOST_UNKNOWN = "Choose co-hosts from the list."
SPEAKER_UNKNOWN = "Choose speakers from the list."
CHAIR_NOT_SPEAKER = "The chair must be one of the session's speakers."
NEW_SPEAKER_TOO_LONG = "Keep the new speaker's name and affiliation to 200 characters."
CLASH_ROOM = "Same room at the same time as “{title}”."
CLASH_SPEAKER = "A speaker is also in “{title}” at the same time."

# --- hosts changed (the notice on the organiser home of every organisation involved) ----------
NOBODY = "nobody"
HOSTS_CHANGED = (
    "The hosts of “{session}” changed on {day:%d %B %Y at %H:%M} UTC: {before} → {after}."
)
HOSTED_BY = "hosted by {host}"
CO_HOSTED_BY = "co-hosted by {co_hosts}"
REMOVED_ORGANISATION = "a removed organisation"
REMOVED_SESSION = "a deleted session"

# --- supporters --------------------------------------------------------------------------------
SUPPORTERS_MODE_UNKNOWN = "Choose whether to add to the list or replace it."
SUPPORTERS_TOO_MUCH_TEXT = "That is too much text at once; paste fewer addresses."
SUPPORTERS_NOT_AN_ADDRESS = "is not an email address"
SUPPORTERS_NOT_ADDRESSES = "are not email addresses"
SUPPORTERS_BAD_LINE = "Line {number}: {quoted} {verb}."
SUPPORTERS_MORE_LINES = " And {more:,} more line{plural} like these."
NOTHING_SAVED = " Nothing was saved."
SUPPORTERS_TOO_MANY = (
    "That is {count:,} addresses; a list holds at most {max:,}. Nothing was saved."
)
SUPPORTERS_WOULD_BE_TOO_MANY = (
    "With these the list would hold {count:,} addresses; it holds at most {max:,}. "
    "Nothing was saved."
)
SUPPORTERS_SAVED = "Saved. {added:,} added"
SUPPORTERS_REMOVED = "{removed:,} removed"
SUPPORTERS_ON_LIST = "; {count:,} on the list."

# --- a session's people ------------------------------------------------------------------------
ORGANISATION_UNKNOWN = "Choose an organisation from the list."
EXPORT_CHOOSE = "Choose which organisation's contact list to download."
EXPORT_CHOOSE_WHY = (
    "Choose which organisation's contact list to download: it holds only the people who agreed "
    "to hear from that organisation."
)
EXPORT_NOT_YOURS = "You may download contact lists only for organisations you organise for."

# --- messages to registrants -------------------------------------------------------------------
SUBJECT_MISSING = "Enter a subject, for example “Venue confirmed: Brighthelm Centre”."
SUBJECT_TOO_LONG = "Keep the subject to {max} characters or fewer (it has {length:,})."
BODY_MISSING = "Write the message you want to send."
BODY_TOO_LONG = (
    "Keep the message to {max:,} characters or fewer (it has {length:,}); link to a longer "
    "text instead."
)
FORM_EXPIRED = "This form has expired. Check the message and press Send again."
MESSAGE_ALREADY_SENT = "This message had already been sent to {people}. It was not sent again."
MESSAGE_ON_ITS_WAY = "Your message is on its way to {people}."

# --- the dashboard -----------------------------------------------------------------------------
FEWER_THAN = "Fewer than {n}"
OR_MORE = "{n} or more"
NO_TICKET_TYPE = "No ticket type"
OTHER_CONSTITUENCIES = "Other constituencies"
NOT_GIVEN = "Not given"
ONE_HOUR = "hour"
HOURS = "{n} hours"
WEEK_FROM = "Week from {start:%A} {day} {start:%B %Y}"
ARRIVALS_X = "Time of first check-in, per {step}"
ARRIVALS_Y = "Arrivals"
REGISTERED_X = "Day registered, per {step}"
BOOKED_X = "Day booked, per {step}"
NOTHING_YET = "No {noun} yet."
