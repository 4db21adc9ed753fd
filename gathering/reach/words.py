"""What people read on embeds, link previews and the snippet builder (ready for gettext)."""

from __future__ import annotations

from gathering.core.i18n import N_

SITE_NAME = "Gathering"  # the product's name, never translated
HOME_TITLE = N_("Gatherings")
HOME_DESCRIPTION = N_(
    "Fringe meetings and gatherings of the network: find a session, register, and add it to "
    "your calendar."
)
PROGRAMME_TITLE = N_("Programme: {title}")
ORGANISATION_DESCRIPTION = N_("Sessions hosted or co-hosted by {name}.")
SPEAKER_DESCRIPTION = N_("Sessions with {name}.")
CANCELLED_PREFIX = N_("Cancelled: ")
ONLINE = N_("Online")
AND_ONLINE = N_("{place}, and online")
VENUE_TBC = N_("Venue to be confirmed")
HOSTED_BY = N_("Hosted by {names}")
TRACK_TITLE = "{title}: {track}"
EMBED_EMPTY = N_("No sessions are published here at the moment.")
EMBED_MORE = N_("Full programme, registration and calendar feeds")
EMBED_ERROR = N_("The programme could not be loaded just now.")
EMBED_VENUE_TBC = N_("Venue tbc")
EMBED_AND_ONLINE = N_("and online")
EMBED_CANCELLED = N_("Cancelled")
ORGANISATION_EMBED_TITLE = N_("Sessions hosted by {name}")

# --- refusals --------------------------------------------------------------------------------
NO_TRACK_HERE = N_("This gathering's programme has no such track.")
OEMBED_FORMAT = N_("Only format=json is offered.")
OEMBED_NOT_EMBEDDABLE = N_(
    "Only a gathering's programme or an organisation's page can be embedded."
)
OEMBED_URL_MISSING = N_("Give the address of a programme page as url=.")
THEME_CHOICES = N_("The theme is light or dark.")
NOTHING_TO_CHOOSE = N_("Choose an organisation or a gathering.")
