"""Every word the privacy feature shows or logs: the notice, the audit log, the purge's report and
what erasure logs. One place, ready for translation."""

from __future__ import annotations

# --- the privacy notice -------------------------------------------------------------------------

# What the form always asks, and why: (label, why).
ASKED_NAME = (
    "Your name",
    "It goes on your ticket, and the steward who scans your ticket at the door sees it.",
)
ASKED_EMAIL = (
    "Your email address",
    "To confirm it is yours, send your ticket and manage link, tell you about changes "
    "to your sessions, offer you a place that frees up and remind you before a session. "
    "Never shown to other attendees.",
)
ASKED_TICKET_TYPE = (
    "Ticket type",
    "So the organisers know what contribution to suggest. Nothing is charged here.",
)
ASKED_SESSIONS = (
    "The sessions you choose",
    "To hold your place (or your turn on a waiting list) and admit you at the door.",
)
# Why each standard question is asked (the keys are the only ones a form may ask).
WHY = {
    "constituency": "So the organisers know which constituencies are represented, and, only if "
    "you tick the box for it, to put you in touch with other attendees from yours.",
    "organisation": "So the organisers know which union branches and groups are taking part.",
    "access_needs": "So the organisers can plan step-free routes, hearing loops, interpreters or "
    "quiet space. The stewards at the door see it only if you tick the box to let them.",
    "dietary": "So whoever caters can plan for what you can eat.",
    "free_text": "Anything else you choose to tell the organisers.",
}

# --- the audit log ------------------------------------------------------------------------------

# Readable names of the actions, for the filter and the list. Unknown actions are shown by name.
ACTION_LABELS = {
    "signin": "Signed in",
    "password_reset_requested": "Asked for a password reset",
    "password_reset": "Reset their password",
    "account_created": "Account created",
    "role_changed": "Role changed",
    "attendee_list_viewed": "Viewed an attendee list",
    "attendees_exported": "Exported contacts",
    "registrants_messaged": "Wrote to registrants",
    "supporters.exported": "Downloaded a supporters list",
    "supporters.added": "Added to a supporters list",
    "supporters.replaced": "Replaced a supporters list",
    "outbox_message_viewed": "Read a message in the outbox",
    "steward_pass_created": "Made a steward pass",
    "steward_pass_revoked": "Revoked a steward pass",
    "steward_pass_updated": "Changed a steward pass",
    "steward_device_opened": "Opened a steward pass on a device",
    "door_search": "Searched at the door's help desk",
    "retention_purge": "Erased personal data after the retention period",
    "registration_erased": "Erased their own registration",
    "erasure_completed": "Rewrote the database files: erased data is gone from the disk",
    "audit_log_viewed": "Read the audit log",
    "admin.questions_updated": "Changed the registration questions",
}
ACTOR_KINDS = {
    "account": "Account",
    "steward_pass": "Steward pass",
    "system": "The service (scheduled work)",
    "attendee": "An attendee (from their manage link)",
    "command_line": "The gathering command",
}
SUBJECT_WORDS = {
    "gathering": "gathering",
    "session": "session",
    "organisation": "organisation",
    "steward_pass": "steward pass",
    "account": "account",
    "registration": "registration",
    "outbox": "outbox message",
}
# What the purge counts, in words (its report on the command line, the audit log's details).
PURGE_WORDS = {
    "registrations": "registrations",
    "mails": "messages",
    "scans": "door scan answers",
    "supporters": "supporters-list addresses",
    "audit_events": "audit details",
    "throttles": "throttle counters",
}
# Detail entries worth a word in the list (never free text that could hold personal data).
DETAIL_WORDS = {
    "rows": "{} rows",
    "count": "{} addresses",
    "recipients": "{} recipients",
    "matches": "{} matches",
    **{key: "{} " + word for key, word in PURGE_WORDS.items()},
    "added": "{} added",
    "removed": "{} removed",
    "page": "page {}",
    "role": "role {}",
    "is_admin": "network admin: {}",
    "organisation": "organisation {}",
    "gathering": "gathering {}",
    "log_cleared": "write-ahead log cleared: {}",
}

# --- erasure to the bytes (logged for the operator) ---------------------------------------------

COMPLETED_LOG = "erased data is gone from the database files (tables rewritten, log emptied)"
NOT_YET = {
    "readers": "erased data is still in the database files: a reader still holds an older "
    "snapshot; trying again at the next housekeeping run",
    "locks": "erased data is still in the database files: a table stayed locked; trying again "
    "at the next housekeeping run",
    "refused": "erased data is still in the database files: the database refused the rewrite",
}
LOG_NOT_CLEARED = (
    "the write-ahead log still holds erased data until the server recycles it: grant the "
    "service's role pg_checkpoint and EXECUTE on pg_switch_wal(), and set wal_recycle = off"
)
STATISTICS_NOT_REWRITTEN = (
    "pg_statistic was not rewritten (only a superuser or the database's owner may): the "
    "planner's old samples of erased values stay until the server reuses the space"
)
SQLITE_PURGE_WAITS = "the SQLite log could not be emptied after the purge; readers were busy"
SQLITE_ERASURE_WAITS = "the SQLite log could not be emptied after an erasure; readers were busy"
POSTGRES_WAITS = "the database files still hold erased data; housekeeping rewrites them shortly"
