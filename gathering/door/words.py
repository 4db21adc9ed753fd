"""What the door says to people: every message of the door's rules and API in one place, so a
translation (gettext) can wrap them here. The machine codes they explain are the stable contract;
the words may change.

Each is marked with ``N_`` for the catalogue and translated where it becomes text for a person
(``gettext(words.X)``, or :func:`reason` for a scan's answer), in the request's language."""

from __future__ import annotations

from gathering.core.i18n import N_, gettext

# The answer to a scan or an undo, by reason code (see ``gathering.door.scanning``).
REASONS = {
    "ok": N_("Admitted."),
    "already_checked_in": N_("Already checked in."),
    "reentry_not_allowed": N_("Left earlier; this session does not allow re-entry."),
    "not_checked_in": N_("Not checked in, so cannot be checked out."),
    "not_registered_for_session": N_("Not registered for this session."),
    "waitlisted_only": N_("On the waiting list only: no place at this session."),
    "cancelled": N_("This registration or place was cancelled."),
    "not_confirmed": N_("This registration is not confirmed yet."),
    "not_yet_open": N_("Admission to this session has not opened yet."),
    "closed": N_("Admission to this session has closed."),
    "session_cancelled": N_("This session is cancelled."),
    "unknown_code": N_("Unknown ticket code."),
    "bad_code": N_("That is not a ticket code."),
    "pass_revoked": N_("This steward pass has been revoked."),
    "pass_expired": N_("This steward pass has expired."),
    "not_yet_valid": N_("This steward pass is not valid yet."),
    "session_not_on_pass": N_("This steward pass does not cover that session."),
    "admitted_twice_offline": N_("Admitted twice while offline: another phone let them in first."),
    "undone": N_("Undone."),
    "nothing_to_undo": N_("Nothing to undo."),
    "undo_too_late": N_("Too late to undo: check-ins can be undone for five minutes."),
}

# Why a pass cannot be used, when that is an error rather than a scan's answer.
REFUSALS = {
    "unknown_pass": N_("This steward pass link is not valid. Ask the organiser for a new one."),
    "wrong_pin": N_("That PIN is not right for this steward pass."),
    "pass_revoked": N_("This steward pass has been revoked. Ask the organiser for a new one."),
    "pass_expired": N_("This steward pass has expired."),
    "not_yet_valid": N_("This steward pass is not valid yet."),
    "session_not_on_pass": N_("This steward pass does not cover that session."),
}

UNKNOWN_LINK = N_(
    "This steward pass link is not valid. Check that the whole link was copied, "
    "or ask the organiser for a new one."
)
NOT_SIGNED_IN = N_("Open the steward pass on this device first.")

# Throttles (``gathering.core.throttles``): {wait} says how long, such as "40 seconds".
TOO_MANY_UNKNOWN_LINKS = N_(
    "Too many unknown steward pass links from this network. Please wait {wait} and try again."
)
TOO_MANY_WRONG_PINS_HERE = N_(
    "Too many wrong steward PINs from this network. Please wait {wait} and try again."
)
TOO_MANY_WRONG_PINS = N_(
    "Too many wrong PINs for this steward pass from this network. Please wait {wait}, or ask "
    "the organiser for the PIN."
)
TOO_MANY_SEARCHES = N_(
    "Too many searches from this steward pass. Please wait {wait}, or ask an organiser."
)

# Bounds on one device (issue 14): {seconds} says how long to wait.
TOO_MANY_SCANS = N_(
    "This phone is sending scans faster than a door can take them, so this ticket was NOT "
    "checked. Wait {seconds} seconds and scan again."
)
TOO_MANY_REFUSED = N_(
    "Many tickets in a row were refused on this phone, so this one was NOT checked. Check the "
    "session chosen, wait {seconds} seconds and scan again."
)
STREAM_REPLACED = N_(
    "Live counts moved to this pass's newer page on this phone; counts now refresh."
)

# Scan input.
BAD_NONCE = N_("Send a nonce of 1 to 64 letters, digits, '-' or '_', new for each scan.")
NONCE_OF_ANOTHER_DEVICE = N_("That nonce belongs to a scan from another phone: send a new one.")
BAD_KIND = N_("The kind of scan is entry or exit.")
DOOR_TOO_LONG = N_("Name the door in at most {limit} characters.")

# The help desk.
QUERY_HELP = N_(
    "Type their first name and at least three letters of their surname (for example "
    "\u201cSam Tay\u201d), or the email address they registered with."
)
QUERY_TOO_LONG = N_("That is too long for a name or an email address.")
NOT_AN_EMAIL = N_("That is not a whole email address.")  # followed by QUERY_HELP
TOO_MANY_MATCHES = N_("Too many people match: type more of the surname, or their email address.")
NO_MATCH = N_("Nobody with a place here matches. Check the spelling, or try their email.")
MATCHES_FOUND = N_("{count} found.")

# Organisers making and revoking passes.
NO_SUCH_GATHERING = N_("There is no such gathering.")
NO_SUCH_STEWARD_PASS = N_("There is no such steward pass for this gathering.")
MAY_NOT_REVOKE = N_("Only organisers of the sessions on this pass may revoke it.")
MAY_NOT_MAKE_PASSES = N_(
    "Only organisers of the organisations hosting this gathering's sessions may make steward "
    "passes."
)
FORM_ALL_SESSIONS_REFUSED = N_(
    "Only organisers of the gathering's host organisation may make a pass for every session. "
    "Choose the sessions your organisation runs."
)
FORM_NOT_YOUR_SESSIONS = N_("Choose only sessions your organisation hosts (not co-hosts).")
FORM_LABEL_MISSING = N_("Give the pass a name stewards will recognise, such as “Door 2, Sunday”.")
FORM_LABEL_TOO_LONG = N_("Keep the name to {limit} characters.")
FORM_FROM_MISSING = N_("Give the date and time the pass starts working.")
FORM_UNTIL_MISSING = N_("Give the date and time the pass stops working.")
FORM_UNTIL_BEFORE_FROM = N_("The pass must stop working after it starts.")
FORM_TOO_LONG = N_("A pass works for at most 31 days; make another for later.")
FORM_BEFORE_SETUP = N_(
    "A pass starts working at the earliest the day before the gathering, for setting up "
    "({earliest})."
)
FORM_AFTER_GATHERING = N_("A pass stops working by the end of the gathering's last day ({latest}).")
FORM_GATHERING_OVER = N_("The gathering is over: a pass can no longer be made for it.")
FORM_BAD_PIN = N_("Use 4 to 12 digits for the PIN, or leave it empty to get a random one.")
FORM_UNKNOWN_SESSION = N_("Choose sessions from the list.")
FORM_NO_SESSION = N_("Choose at least one session, or all sessions.")
REVOKED_NOTICE = N_("The pass is revoked: its devices are refused from their next scan.")

# The JSON API's answers to malformed requests.
BODY_NOT_JSON = N_("Send the body as JSON.")
BODY_TOO_LARGE = N_("The body is too large.")
BODY_CUT_SHORT = N_("The body did not arrive whole.")
BODY_INVALID_JSON = N_("The body is not valid JSON.")
BODY_NOT_OBJECT = N_("The body must be a JSON object.")


def reason(code: str) -> str:
    """The words for a scan's or undo's reason code in the current language (the code itself
    if it has none)."""
    words = REASONS.get(code)
    return gettext(words) if words else code


def not_an_email() -> str:
    """NOT_AN_EMAIL and how to search, in the current language."""
    return f"{gettext(NOT_AN_EMAIL)} {gettext(QUERY_HELP)}"


# The door offline (``gathering.door.offline_api``).
SYNC_NOT_A_LIST = N_("'scans' must be a list of queued scans.")
SYNC_TOO_MANY = N_("At most {limit} queued scans at a time.")
SYNC_BAD_SCAN = N_("Queued scan {number} is not valid: {problem}")
SYNC_BAD_TIME = N_("'at' must be a date and time with its offset.")
SYNC_BAD_KIND = N_('\'kind\' must be "entry" or "exit".')
SYNC_BAD_HASH = N_("'hash' must be a string.")
