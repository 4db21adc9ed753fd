"""What calendar apps show of our feeds, in one place (ready for gettext): calendar names and
descriptions, event text, and refusals.

Plain strings are sentences as shown; ``str.format`` fields are filled where they are used. The
golden calendar file pins these words byte for byte: a change here is a change to every feed.
"""

from __future__ import annotations

# --- finding things ----------------------------------------------------------------------------
NO_CALENDAR_HERE = "There is no calendar at this address."
NO_SUCH_REGISTRATION = "There is no such registration."
NO_SUCH_TRACK = "There is no such track in this gathering's programme."

# --- calendars ---------------------------------------------------------------------------------
GATHERING_FEED_DESCRIPTION = "The programme of {title}, kept up to date as it changes."
ORGANISATION_FEED_NAME = "Sessions hosted by {name}"
SPEAKER_FEED_NAME = "Sessions with {name}"
AGENDA_FEED_NAME = "My agenda · {title}"
AGENDA_FEED_DESCRIPTION = (
    "Your sessions, with joining links. This address is private: do not share it."
)

# --- events ------------------------------------------------------------------------------------
VENUE_TBC = "Venue tbc"
ONLINE = "Online"
CANCELLED_SUMMARY = "Cancelled: {title}"
CANCELLED = "This session has been cancelled."
SPEAKERS = "Speakers: {names}"
HOSTED_BY = "Hosted by: {names}"
NAME_WITH_ROLE = "{name} ({role})"
JOIN_ONLINE = "Join online"
JOIN_ONLINE_AT = "Join online: {link}"
DETAILS_AT = "Details and changes: {url}"
FORMAT_WORDS = {"in_person": "In person", "online": "Online", "hybrid": "In person and online"}
ACCESS_WORDS = {"supporters": "Supporters only.", "invite": "By invitation (invite code needed)."}
# Only roles worth a word: a speaker is a speaker and a host a host.
ROLE_WORDS = {"chair": "chair", "co_host": "co-host"}
