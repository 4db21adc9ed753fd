"""The words the door's scripts show (static/js/door-scan.js, door-open.js and door-sw.js), in the
page's language: the scan page's answers (also those it works out itself from its offline list),
its counters, camera, help desk and sign-out, and the pass page's PIN form.

The page carries them as JSON in a ``data-words`` attribute (data, never inline script),
so a scan page kept for use without signal keeps its words with it. ``{name}`` fields are
filled in by the script. Plurals go as one form per CLDR plural category of the language
(``zero``, ``one``, ``two``, ``few``, ``many``, ``other``), with the category of each count
up to 100 (browsers need not know the language's plural rules, nor its day and month names,
which come too).
"""

from __future__ import annotations

from functools import cache

from babel import Locale

from gathering.core.i18n import DEFAULT_LANGUAGE, N_, current_language, gettext, ngettext
from gathering.door import words

# The scan page: key → words.
SCAN: dict[str, str] = {
    "signed_out_text": N_(
        "This phone is no longer signed in for scanning. Open the steward pass link and enter "
        "the PIN again."
    ),
    "stale": N_("This page is out of date — reload it."),
    "stale_not_checked": N_("This page is out of date — reload it. This ticket was NOT checked."),
    "stale_nothing_undone": N_("This page is out of date — reload it. Nothing was undone."),
    "pass_unusable": N_("This steward pass cannot be used any more."),
    "access_needs": N_("Access needs: {needs}"),
    "hold_on": N_("Hold on: this ticket is not answered yet."),
    "trying_again": N_("Trying again…"),
    "checking": N_("Checking…"),
    "retrying": N_("No answer yet. Retrying… ({attempt} of {attempts})"),
    "admitted": N_("Admitted"),
    "checked_out": N_("Checked out"),
    "already_checked_in": N_("Already checked in"),
    "first_checked_in_at": N_("First checked in at {time}"),
    "first_checked_in_at_door": N_("First checked in at {time} at {door}"),
    "checked_in_earlier": N_("Checked in earlier"),
    "checked_in_earlier_at_door": N_("Checked in earlier at {door}"),
    "not_admitted": N_("Not admitted"),
    "not_checked_out": N_("Not checked out"),
    "refused": N_("Refused."),
    "server_refused": N_("The server refused this scan (error {status})."),
    "signed_out_title": N_("Signed out"),
    "signed_out_detail": N_("This phone is no longer signed in. Open the steward pass link again."),
    "pass_not_usable": N_("Pass not usable"),
    "not_checked": N_("Not checked"),
    "no_answer": N_("No answer"),
    "unreachable": N_(
        "The server could not be reached, so this ticket is NOT checked. Try again when there "
        "is signal."
    ),
    "unreadable": N_(
        "The answer could not be read, so this ticket is NOT checked. Try again when there is "
        "signal."
    ),
    "offline_green": N_("Admitted (offline)"),
    "offline_amber": N_("Already admitted on this phone"),
    "offline_red": N_("Not admitted (offline)"),
    "offline_checked_out": N_("Checked out (offline)"),
    "admitted_here_at": N_("Admitted here at {time}"),
    "not_checked_in_offline": N_("Not admitted on this phone, so cannot be checked out offline."),
    "no_bundle": N_(
        "No signal, and this phone holds no offline list for this pass: this ticket is NOT checked."
    ),
    "offline_failed": N_("This phone could not check the ticket offline: it is NOT checked."),
    "online": N_("Online"),
    "offline": N_("Offline"),
    "last_heard": N_("last heard from the server at {time}"),
    "not_heard": N_("not heard from the server yet"),
    "ready_yes": N_("Ready to scan without signal."),
    "ready_unsupported": N_("This browser cannot scan without signal: keep it online."),
    "ready_keeping": N_("Keeping the scan page on this phone…"),
    "ready_getting": N_("Getting this phone ready to scan without signal…"),
    "type_code_first": N_("Type the ticket code first."),
    "camera_start": N_("Start camera"),
    "camera_stop": N_("Stop camera"),
    "camera_https": N_(
        "The camera works only when this page is opened over https. Type codes below instead."
    ),
    "camera_starting": N_("Starting the camera…"),
    "camera_no_qr": N_("This browser cannot read QR codes. Type the codes below instead."),
    "camera_on": N_("Point the camera at a ticket's QR code."),
    "camera_not_allowed": N_(
        "The camera is not allowed. Allow it for this site in the browser's settings, or type "
        "codes below."
    ),
    "camera_not_found": N_("No camera was found. Type codes below instead."),
    "camera_failed": N_(
        "The camera could not start. Close other apps using it and try again, or type codes below."
    ),
    "camera_off": N_("The camera is off."),
    "no_limit": N_("No limit"),
    "counts_polling": N_("Counts update every few seconds"),
    "counts_unreadable": N_("The counts could not be read: they may be out of date"),
    "counts_no_connection": N_("No connection: the counts may be out of date"),
    "connecting": N_("Connecting…"),
    "live": N_("Live"),
    "stopped": N_("Stopped"),
    "scanning_out": N_("Scanning people out."),
    "scanning_in": N_("Scanning people in."),
    "undoing": N_("Undoing…"),
    "undone_check_in": N_("Undone: {name}’s check-in."),
    "undone_check_out": N_("Undone: {name}’s check-out."),
    "nothing_undone": N_("Nothing was undone."),
    "undo_failed": N_("Could not undo (error {status})."),
    "undo_no_connection": N_("No connection: nothing was undone. Try again when there is signal."),
    "search_help": N_(
        "Type their first name and at least three letters of the surname, or their email."
    ),
    "searching": N_("Searching…"),
    "search_unavailable": N_("The help desk search is not available on this server."),
    "search_failed": N_("The search did not work (error {status})."),
    "no_one_found": N_("No one found."),
    "checked_in_already": N_("Checked in already"),
    "admit": N_("Admit"),
    "check_out": N_("Check out"),
    "search_no_connection": N_("No connection. Try again when there is signal."),
    "sign_out_question": N_("Sign out this phone? Scanning again needs the pass link and its PIN."),
    "sign_out_failed": N_(
        "Signing out did not work (error {status}): this phone is still signed in. Try again."
    ),
    "sign_out_no_connection": N_(
        "No connection: this phone is still signed in. Try again when there is signal."
    ),
}


def _counted(n: int) -> dict[str, str]:
    """The words with a count ({count}), for ``n``."""
    return {
        "matches": ngettext("{count} match.", "{count} matches.", n),
        "sync_refused": ngettext(
            "{count} scan made offline was refused by the server: {message}",
            "{count} scans made offline were refused by the server: {message}",
            n,
        ),
        "sync_twice": ngettext(
            "{count} admitted offline had already been admitted by another phone.",
            "{count} admitted offline had already been admitted by another phone.",
            n,
        ),
        "unsent": ngettext(
            "{count} scan made offline is not sent yet and will be lost.",
            "{count} scans made offline are not sent yet and will be lost.",
            n,
        ),
    }


# The answers the scan page works out offline, by reason code: the server's own words.
OFFLINE_REASONS = (
    "unknown_code",
    "not_registered_for_session",
    "cancelled",
    "not_confirmed",
    "bad_code",
)

# The pass page (door-open.js) and the page a phone that never kept the scan page gets with no
# signal (door-sw.js, told these words by the scan page).
OPEN: dict[str, str] = {
    "open_for_scanning": N_("Open for scanning"),
    "opening": N_("Opening…"),
    "enter_pin": N_("Enter the PIN."),
    "open_failed": N_("The pass could not be opened (error {status}). Try again."),
    "no_connection": N_("No connection to the server. Check the signal and try again."),
}
NOT_KEPT: dict[str, str] = {
    "no_signal": N_("No signal"),
    "not_kept": N_(
        "This phone has not kept the scan page yet. Open the pass link once where there is "
        "signal, wait until the page says it can scan without signal, then it opens here too."
    ),
}


@cache
def _samples(language: str) -> dict[str, int]:
    """The smallest whole number of each CLDR plural category of ``language``."""
    rule = Locale.parse(language).plural_form
    samples: dict[str, int] = {}
    for n in range(200):
        samples.setdefault(rule(n), n)
    return samples


@cache
def _categories(language: str) -> dict[str, str]:
    """The plural category of each count up to 100 that is not "other" (Welsh: 0, 1, 2, 3 and
    6): the script needs no Intl.PluralRules for the language, which a browser may lack."""
    rule = Locale.parse(language).plural_form
    return {str(n): rule(n) for n in range(101) if rule(n) != "other"}


@cache
def _calendar_names(language: str) -> tuple[list[str], list[str]]:
    """CLDR's abbreviated weekday (Monday first) and month names of ``language``."""
    names = Locale.parse(language)
    days = names.days["format"]["abbreviated"]
    months = names.months["format"]["abbreviated"]
    return [days[i] for i in range(7)], [months[i] for i in range(1, 13)]


def _plurals() -> dict[str, dict[str, str]]:
    """Each counted word in each plural category of the current language: key → category →
    words."""
    found: dict[str, dict[str, str]] = {}
    for category, n in _samples(current_language()).items():
        for key, text in _counted(n).items():
            found.setdefault(key, {})[category] = text
    return found


def scan_page_words() -> dict[str, object]:
    """Every word door-scan.js (and the worker it talks to) shows, in the current language."""
    found: dict[str, object] = {key: gettext(text) for key, text in SCAN.items()}
    found.update({key: gettext(text) for key, text in NOT_KEPT.items()})
    found["plurals"] = _plurals()
    found["plural_categories"] = _categories(current_language())
    found["offline_reasons"] = {code: words.reason(code) for code in OFFLINE_REASONS}
    found["language"] = current_language()
    if current_language() != DEFAULT_LANGUAGE:  # English: the browser's own en-GB names
        found["weekdays"], found["months"] = _calendar_names(current_language())
    return found


def open_page_words() -> dict[str, str]:
    """The words door-open.js shows, in the current language."""
    return {key: gettext(text) for key, text in OPEN.items()}
