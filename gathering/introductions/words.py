"""What people read about CLP introductions (ready for gettext)."""

from __future__ import annotations

from gathering.core.i18n import N_

NO_GATHERING = N_("There is no gathering at this address.")
ONLY_HOST = N_(
    "Only organisers of the organisation hosting this gathering (or the network admin) can "
    "arrange its CLP introductions."
)
WHEN_GARBLED = N_("Enter the date and time as shown, for example 2027-09-30 18:00.")
TOO_EARLY = N_("Introductions go out after the gathering: choose a time from its last day on.")
CONTACT_TOO_LONG = N_("Keep the contact to 300 characters.")
ALREADY_SENT = N_("The introductions for this gathering have been sent already; they go only once.")
NOT_YET_SENDABLE = N_("Introductions can be sent from the gathering's last day on.")
SCHEDULED = N_("Saved. The introductions go out at the time you chose.")
UNSCHEDULED = N_("Saved. Nothing is scheduled: send the introductions when you are ready.")
SENT = N_("The introductions have been queued: each person gets one email.")
WITHDRAWN = N_("Done: you will not be introduced to anyone, and no one will get your address.")
TOO_LATE = N_("The introductions for this gathering have been sent already.")
