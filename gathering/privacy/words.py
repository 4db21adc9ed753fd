"""Every word the privacy feature shows or logs: the notice, the audit log, the purge's report and
what erasure logs. What people read is marked with ``N_`` and translated where it is shown; the
command line's report and the operator's log lines stay English."""

from __future__ import annotations

from gathering.core.i18n import N_

# --- the privacy notice -------------------------------------------------------------------------

# What the form always asks, and why: (label, why).
ASKED_NAME = (
    N_("Your name"),
    N_("It goes on your ticket, and the steward who scans your ticket at the door sees it."),
)
ASKED_EMAIL = (
    N_("Your email address"),
    N_(
        "To confirm it is yours, send your ticket and manage link, tell you about changes "
        "to your sessions, offer you a place that frees up and remind you before a session. "
        "Never shown to other attendees."
    ),
)
ASKED_TICKET_TYPE = (
    N_("Ticket type"),
    N_("So the organisers know what contribution to suggest. Nothing is charged here."),
)
ASKED_SESSIONS = (
    N_("The sessions you choose"),
    N_("To hold your place (or your turn on a waiting list) and admit you at the door."),
)
# Why each standard question is asked (the keys are the only ones a form may ask).
WHY = {
    "constituency": N_(
        "So the organisers know which constituencies are represented, and, only if "
        "you tick the box for it, to put you in touch with other attendees from yours."
    ),
    "organisation": N_("So the organisers know which union branches and groups are taking part."),
    "access_needs": N_(
        "So the organisers can plan step-free routes, hearing loops, interpreters or "
        "quiet space. The stewards at the door see it only if you tick the box to let them."
    ),
    "dietary": N_("So whoever caters can plan for what you can eat."),
    "free_text": N_("Anything else you choose to tell the organisers."),
}

# --- the audit log ------------------------------------------------------------------------------

# Readable names of the actions, for the filter and the list. Unknown actions are shown by name.
ACTION_LABELS = {
    "signin": N_("Signed in"),
    "password_reset_requested": N_("Asked for a password reset"),
    "password_reset": N_("Reset their password"),
    "account_created": N_("Account created"),
    "role_changed": N_("Role changed"),
    "attendee_list_viewed": N_("Viewed an attendee list"),
    "attendees_exported": N_("Exported contacts"),
    "registrants_messaged": N_("Wrote to registrants"),
    "supporters.exported": N_("Downloaded a supporters list"),
    "supporters.added": N_("Added to a supporters list"),
    "supporters.replaced": N_("Replaced a supporters list"),
    "outbox_message_viewed": N_("Read a message in the outbox"),
    "steward_pass_created": N_("Made a steward pass"),
    "steward_pass_revoked": N_("Revoked a steward pass"),
    "steward_pass_updated": N_("Changed a steward pass"),
    "steward_device_opened": N_("Opened a steward pass on a device"),
    "door_search": N_("Searched at the door's help desk"),
    "retention_purge": N_("Erased personal data after the retention period"),
    "registration_erased": N_("Erased their own registration"),
    "erasure_completed": N_("Rewrote the database files: erased data is gone from the disk"),
    "audit_log_viewed": N_("Read the audit log"),
    "admin.questions_updated": N_("Changed the registration questions"),
}
ACTOR_KINDS = {
    "account": N_("Account"),
    "steward_pass": N_("Steward pass"),
    "system": N_("The service (scheduled work)"),
    "attendee": N_("An attendee (from their manage link)"),
    "command_line": N_("The gathering command"),
}
SUBJECT_WORDS = {
    "gathering": N_("gathering"),
    "session": N_("session"),
    "organisation": N_("organisation"),
    "steward_pass": N_("steward pass"),
    "account": N_("account"),
    "registration": N_("registration"),
    "outbox": N_("outbox message"),
    "venue": N_("venue"),
    "room": N_("room"),
    "track": N_("track"),
    "speaker": N_("speaker"),
    "ticket_type": N_("ticket type"),
}
# The network admin's changes ("admin.<kind>_<verb>"), with ``{kind}`` one of SUBJECT_WORDS.
ADMIN_VERBS = {
    "created": N_("Created a {kind}"),
    "updated": N_("Updated a {kind}"),
    "deleted": N_("Deleted a {kind}"),
}
# What the purge counts, in words, for its report on the command line (which stays English).
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
    "rows": N_("{} rows"),
    "count": N_("{} addresses"),
    "recipients": N_("{} recipients"),
    "matches": N_("{} matches"),
    "registrations": N_("{} registrations"),
    "mails": N_("{} messages"),
    "scans": N_("{} door scan answers"),
    "supporters": N_("{} supporters-list addresses"),
    "audit_events": N_("{} audit details"),
    "throttles": N_("{} throttle counters"),
    "added": N_("{} added"),
    "removed": N_("{} removed"),
    "page": N_("page {}"),
    "role": N_("role {}"),
    "is_admin": N_("network admin: {}"),
    "organisation": N_("organisation {}"),
    "gathering": N_("gathering {}"),
    "log_cleared": N_("write-ahead log cleared: {}"),
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
