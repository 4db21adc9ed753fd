"""What people read about CLP introductions (ready for gettext)."""

from __future__ import annotations

NO_GATHERING = "There is no gathering at this address."
ONLY_HOST = (
    "Only organisers of the organisation hosting this gathering (or the network admin) can "
    "arrange its CLP introductions."
)
WHEN_GARBLED = "Enter the date and time as shown, for example 2027-09-30 18:00."
TOO_EARLY = "Introductions go out after the gathering: choose a time from its last day on."
CONTACT_TOO_LONG = "Keep the contact to 300 characters."
ALREADY_SENT = "The introductions for this gathering have been sent already; they go only once."
NOT_YET_SENDABLE = "Introductions can be sent from the gathering's last day on."
SCHEDULED = "Saved. The introductions go out at the time you chose."
UNSCHEDULED = "Saved. Nothing is scheduled: send the introductions when you are ready."
SENT = "The introductions have been queued: each person gets one email."
WITHDRAWN = "Done: you will not be introduced to anyone, and no one will get your address."
TOO_LATE = "The introductions for this gathering have been sent already."
