"""What organisers read on their registration pages (issue 16), ready for translation."""

from __future__ import annotations

NO_TICKET_TYPE = "This gathering has no such ticket type."
NO_SESSION = "This gathering has no such session."
TICKET_TYPE_IN_USE = (
    "This ticket type cannot be removed: {count} registration(s) use it. Rename it instead."
)
WINDOW_SAVED = "Registration settings saved."
TICKET_TYPE_SAVED = "Ticket type saved."
TICKET_TYPE_DELETED = "Ticket type removed."
QUESTIONS_SAVED = "Questions saved."
SAVED = {
    "window": WINDOW_SAVED,
    "ticket_type": TICKET_TYPE_SAVED,
    "ticket_type_deleted": TICKET_TYPE_DELETED,
    "questions": QUESTIONS_SAVED,
    "session": "Session registration times saved.",
}
