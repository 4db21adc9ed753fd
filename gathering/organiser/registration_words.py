"""What organisers read on their registration pages (issue 16), ready for translation."""

from __future__ import annotations

from gathering.core.i18n import N_

NO_TICKET_TYPE = N_("This gathering has no such ticket type.")
NO_SESSION = N_("This gathering has no such session.")
TICKET_TYPE_IN_USE = N_(
    "This ticket type cannot be removed: {count} registration(s) use it. Rename it instead."
)
WINDOW_SAVED = N_("Registration settings saved.")
TICKET_TYPE_SAVED = N_("Ticket type saved.")
TICKET_TYPE_DELETED = N_("Ticket type removed.")
QUESTIONS_SAVED = N_("Questions saved.")
SAVED = {
    "window": WINDOW_SAVED,
    "ticket_type": TICKET_TYPE_SAVED,
    "ticket_type_deleted": TICKET_TYPE_DELETED,
    "questions": QUESTIONS_SAVED,
    "session": N_("Session registration times saved."),
}
