"""What the door says to people: every message of the door's rules and API in one place, so a
translation (gettext) can wrap them here. The machine codes they explain are the stable contract;
the words may change."""

from __future__ import annotations

# The answer to a scan or an undo, by reason code (see ``gathering.door.scanning``).
REASONS = {
    "ok": "Admitted.",
    "already_checked_in": "Already checked in.",
    "reentry_not_allowed": "Left earlier; this session does not allow re-entry.",
    "not_checked_in": "Not checked in, so cannot be checked out.",
    "not_registered_for_session": "Not registered for this session.",
    "waitlisted_only": "On the waiting list only: no place at this session.",
    "cancelled": "This registration or place was cancelled.",
    "not_confirmed": "This registration is not confirmed yet.",
    "not_yet_open": "Admission to this session has not opened yet.",
    "closed": "Admission to this session has closed.",
    "session_cancelled": "This session is cancelled.",
    "unknown_code": "Unknown ticket code.",
    "bad_code": "That is not a ticket code.",
    "pass_revoked": "This steward pass has been revoked.",
    "pass_expired": "This steward pass has expired.",
    "not_yet_valid": "This steward pass is not valid yet.",
    "session_not_on_pass": "This steward pass does not cover that session.",
    "admitted_twice_offline": "Admitted twice while offline: another phone let them in first.",
    "undone": "Undone.",
    "nothing_to_undo": "Nothing to undo.",
    "undo_too_late": "Too late to undo: check-ins can be undone for five minutes.",
}

# Why a pass cannot be used, when that is an error rather than a scan's answer.
REFUSALS = {
    "unknown_pass": "This steward pass link is not valid. Ask the organiser for a new one.",
    "wrong_pin": "That PIN is not right for this steward pass.",
    "pass_revoked": "This steward pass has been revoked. Ask the organiser for a new one.",
    "pass_expired": "This steward pass has expired.",
    "not_yet_valid": "This steward pass is not valid yet.",
    "session_not_on_pass": "This steward pass does not cover that session.",
}

UNKNOWN_LINK = (
    "This steward pass link is not valid. Check that the whole link was copied, "
    "or ask the organiser for a new one."
)
NOT_SIGNED_IN = "Open the steward pass on this device first."

# Throttles (``gathering.core.throttles``): {wait} says how long, such as "40 seconds".
TOO_MANY_UNKNOWN_LINKS = (
    "Too many unknown steward pass links from this network. Please wait {wait} and try again."
)
TOO_MANY_WRONG_PINS_HERE = (
    "Too many wrong steward PINs from this network. Please wait {wait} and try again."
)
TOO_MANY_WRONG_PINS = (
    "Too many wrong PINs for this steward pass from this network. Please wait {wait}, or ask "
    "the organiser for the PIN."
)
TOO_MANY_SEARCHES = (
    "Too many searches from this steward pass. Please wait {wait}, or ask an organiser."
)

# Bounds on one device (issue 14): {seconds} says how long to wait.
TOO_MANY_SCANS = (
    "This phone is sending scans faster than a door can take them, so this ticket was NOT "
    "checked. Wait {seconds} seconds and scan again."
)
TOO_MANY_REFUSED = (
    "Many tickets in a row were refused on this phone, so this one was NOT checked. Check the "
    "session chosen, wait {seconds} seconds and scan again."
)
STREAM_REPLACED = "Live counts moved to this pass's newer page on this phone; counts now refresh."

# Scan input.
BAD_NONCE = "Send a nonce of 1 to 64 letters, digits, '-' or '_', new for each scan."
NONCE_OF_ANOTHER_DEVICE = "That nonce belongs to a scan from another phone: send a new one."
BAD_KIND = "The kind of scan is entry or exit."
DOOR_TOO_LONG = "Name the door in at most {limit} characters."

# The help desk.
QUERY_HELP = (
    "Type their first name and at least three letters of their surname (for example "
    "\u201cSam Tay\u201d), or the email address they registered with."
)
QUERY_TOO_LONG = "That is too long for a name or an email address."
NOT_AN_EMAIL = "That is not a whole email address. " + QUERY_HELP
TOO_MANY_MATCHES = "Too many people match: type more of the surname, or their email address."
NO_MATCH = "Nobody with a place here matches. Check the spelling, or try their email."
MATCHES_FOUND = "{count} found."

# Organisers making and revoking passes.
NO_SUCH_GATHERING = "There is no such gathering."
NO_SUCH_STEWARD_PASS = "There is no such steward pass for this gathering."  # noqa: S105 - words
MAY_NOT_REVOKE = "Only organisers of the sessions on this pass may revoke it."
MAY_NOT_MAKE_PASSES = (
    "Only organisers of the organisations hosting this gathering's sessions may make steward "
    "passes."
)
FORM_ALL_SESSIONS_REFUSED = (
    "Only organisers of the gathering's host organisation may make a pass for every session. "
    "Choose the sessions your organisation runs."
)
FORM_NOT_YOUR_SESSIONS = "Choose only sessions your organisation hosts (not co-hosts)."
FORM_LABEL_MISSING = "Give the pass a name stewards will recognise, such as “Door 2, Sunday”."
FORM_LABEL_TOO_LONG = "Keep the name to {limit} characters."
FORM_FROM_MISSING = "Give the date and time the pass starts working."
FORM_UNTIL_MISSING = "Give the date and time the pass stops working."
FORM_UNTIL_BEFORE_FROM = "The pass must stop working after it starts."
FORM_TOO_LONG = "A pass works for at most 31 days; make another for later."
FORM_BEFORE_SETUP = (
    "A pass starts working at the earliest the day before the gathering, for setting up "
    "({earliest:%A %d %B %Y %H:%M})."
)
FORM_AFTER_GATHERING = (
    "A pass stops working by the end of the gathering's last day ({latest:%A %d %B %Y %H:%M})."
)
FORM_GATHERING_OVER = "The gathering is over: a pass can no longer be made for it."
FORM_BAD_PIN = "Use 4 to 12 digits for the PIN, or leave it empty to get a random one."
FORM_UNKNOWN_SESSION = "Choose sessions from the list."
FORM_NO_SESSION = "Choose at least one session, or all sessions."
REVOKED_NOTICE = "The pass is revoked: its devices are refused from their next scan."

# The JSON API's answers to malformed requests.
BODY_NOT_JSON = "Send the body as JSON."
BODY_TOO_LARGE = "The body is too large."
BODY_CUT_SHORT = "The body did not arrive whole."
BODY_INVALID_JSON = "The body is not valid JSON."
BODY_NOT_OBJECT = "The body must be a JSON object."


def reason(code: str) -> str:
    """The words for a scan's or undo's reason code (the code itself if it has none)."""
    return REASONS.get(code, code)


# The door offline (``gathering.door.offline_api``).
SYNC_NOT_A_LIST = "'scans' must be a list of queued scans."
SYNC_TOO_MANY = "At most {limit} queued scans at a time."
SYNC_BAD_SCAN = "Queued scan {number} is not valid: {problem}"
SYNC_BAD_TIME = "'at' must be a date and time with its offset."
SYNC_BAD_HASH = "'hash' must be a string."
