"""What people read on embeds, link previews and the snippet builder (ready for gettext)."""

from __future__ import annotations

SITE_NAME = "Gathering"
HOME_TITLE = "Gatherings"
HOME_DESCRIPTION = (
    "Fringe meetings and gatherings of the network: find a session, register, and add it to "
    "your calendar."
)
PROGRAMME_TITLE = "Programme: {title}"
ORGANISATION_DESCRIPTION = "Sessions hosted or co-hosted by {name}."
SPEAKER_DESCRIPTION = "Sessions with {name}."
CANCELLED_PREFIX = "Cancelled: "
ONLINE = "Online"
AND_ONLINE = "{place}, and online"
VENUE_TBC = "Venue to be confirmed"
HOSTED_BY = "Hosted by {names}"
TRACK_TITLE = "{title}: {track}"
EMBED_EMPTY = "No sessions are published here at the moment."
EMBED_MORE = "Full programme, registration and calendar feeds"
ORGANISATION_EMBED_TITLE = "Sessions hosted by {name}"

# --- refusals --------------------------------------------------------------------------------
NO_TRACK_HERE = "This gathering's programme has no such track."
OEMBED_FORMAT = "Only format=json is offered."
OEMBED_NOT_EMBEDDABLE = "Only a gathering's programme or an organisation's page can be embedded."
OEMBED_URL_MISSING = "Give the address of a programme page as url=."
THEME_CHOICES = "The theme is light or dark."
NOTHING_TO_CHOOSE = "Choose an organisation or a gathering."
