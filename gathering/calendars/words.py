"""What calendar apps show of our feeds, in one place (ready for gettext): calendar names and
descriptions, event text, and refusals.

Plain strings are sentences as shown; ``str.format`` fields are filled where they are used. The
golden calendar file pins these words byte for byte: a change here is a change to every feed.
"""

from __future__ import annotations

from gathering.core.i18n import N_

# --- finding things ----------------------------------------------------------------------------
NO_CALENDAR_HERE = N_("There is no calendar at this address.")
NO_SUCH_REGISTRATION = N_("There is no such registration.")
NO_SUCH_TRACK = N_("There is no such track in this gathering's programme.")

# --- calendars ---------------------------------------------------------------------------------
GATHERING_FEED_DESCRIPTION = N_("The programme of {title}, kept up to date as it changes.")
ORGANISATION_FEED_NAME = N_("Sessions hosted by {name}")
SPEAKER_FEED_NAME = N_("Sessions with {name}")
AGENDA_FEED_NAME = N_("My agenda · {title}")
AGENDA_FEED_DESCRIPTION = N_(
    "Your sessions, with joining links. This address is private: do not share it."
)

# --- events ------------------------------------------------------------------------------------
VENUE_TBC = N_("Venue tbc")
ONLINE = N_("Online")
CANCELLED_SUMMARY = N_("Cancelled: {title}")
CANCELLED = N_("This session has been cancelled.")
SPEAKERS = N_("Speakers: {names}")
HOSTED_BY = N_("Hosted by: {names}")
NAME_WITH_ROLE = N_("{name} ({role})")
JOIN_ONLINE = N_("Join online")
JOIN_ONLINE_AT = N_("Join online: {link}")
DETAILS_AT = N_("Details and changes: {url}")
FORMAT_WORDS = {
    "in_person": N_("In person"),
    "online": N_("Online"),
    "hybrid": N_("In person and online"),
}
ACCESS_WORDS = {
    "supporters": N_("Supporters only."),
    "invite": N_("By invitation (invite code needed)."),
}
# Only roles worth a word: a speaker is a speaker and a host a host.
ROLE_WORDS = {"chair": N_("chair"), "co_host": N_("co-host")}
