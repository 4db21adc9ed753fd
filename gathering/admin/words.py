"""What the network admin reads, in one place (ready for gettext): field names, errors, refusals.

``str.format`` fields are filled by the rules; ``{label}`` is one of ``FIELDS`` (or a question's
own title), lower-cased where it falls mid-sentence.
"""

from __future__ import annotations

from gathering.core.i18n import N_, gettext, ngettext

# Field names as the forms show them, by form field.
FIELDS = {
    "title": N_("Title"),
    "name": N_("Name"),
    "description": N_("Description"),
    "location": N_("Location"),
    "data_controller": N_("Data controller"),
    "privacy_contact": N_("Privacy contact"),
    "starts_on": N_("First day"),
    "ends_on": N_("Last day"),
    "host_organisation_id": N_("Host organisation"),
    "retention_days": N_("Retention"),
    "address": N_("Address"),
    "access_notes": N_("Access notes"),
    "capacity": N_("Capacity"),
    "short_name": N_("Short name"),
    "website": N_("Website"),
    "contact_email": N_("Contact email"),
    "affiliation": N_("Affiliation"),
    "bio": N_("Short bio"),
    "speaker_email": N_("Private email"),
    "suggested_contribution": N_("Suggested contribution"),
    "position": N_("Position"),
}
QUESTION_WORDING = N_("Wording of “{title}”")
QUESTION_HELP = N_("Help for “{title}”")

# --- form errors -------------------------------------------------------------------------------
UNSTORABLE = N_("{label} contains a character that cannot be stored.")
ENTER = N_("Enter {label}.")
TOO_LONG = N_("{label} must be at most {max:,} characters (it has {length:,}).")
SLUG_MISSING = N_("Enter a short address name using letters a–z, digits and hyphens.")
SLUG_GARBLED = N_("Use only a–z, 0–9 and single hyphens between them (at most 80).")
SLUG_TAKEN = N_("That short address name is already used. Choose another.")
TRISTATE_UNKNOWN = N_("Choose yes, no or not known.")
NOT_WHOLE = N_("{label} must be a whole number.")
OUT_OF_RANGE = N_("{label} must be between {low:,} and {high:,}.")
DATE_GARBLED = N_("Enter {label} as a date, like 2026-09-27.")
DATE_OUT_OF_YEARS = N_("Enter {label} between the years {first} and {last} (you entered {typed}).")
LAST_BEFORE_FIRST = N_("The last day must be on or after the first day.")
TIMEZONE_UNKNOWN = N_("Enter an IANA time zone such as Europe/London.")
MODE_UNKNOWN = N_("Choose in person, online or hybrid.")
RETENTION_MISSING = N_("Enter how many days to keep personal data (1 to 3,650).")
WEBSITE_GARBLED = N_("Enter a full https:// address, or leave it empty.")
ORGANISATION_UNKNOWN = N_("Choose an organisation from the list.")
QUESTION_WORDING_MISSING = N_("Enter the wording of the “{title}” question, or stop asking it.")
QUESTION_REQUIRED_NOT_ASKED = N_(
    "“{title}” can only be required if it is asked: tick “Ask this question” too."
)
PHOTO_TOO_LARGE = N_("The photo is larger than 2 MB. Choose a smaller image.")
PHOTO_EMPTY = N_("The chosen file is empty.")
PHOTO_TYPE = N_("The photo must be a JPEG, PNG or WebP image.")
FORM_TOO_LARGE = N_(
    "This form is too large to accept: descriptions are limited to 20,000 characters and photos "
    "to 2 MB. Go back, shorten the text, and send it again. Nothing was saved."
)

# --- finding and deleting ----------------------------------------------------------------------
# How each kind is named mid-sentence.
KIND_NAMES = {
    "gathering": N_("gathering"),
    "venue": N_("venue"),
    "room": N_("room"),
    "track": N_("track"),
    "organisation": N_("organisation"),
    "speaker": N_("speaker"),
    "ticket_type": N_("ticket type"),
}
NO_SUCH = N_("There is no such {kind}.")
NO_SUCH_NOW = N_("There is no such {kind}. It may have been deleted.")
NO_SUCH_ANY_MORE = N_("There is no such {kind}. It may have been deleted already.")
NO_PHOTO = N_("This speaker has no photo.")
CANNOT_DELETE = N_("This {kind} cannot be deleted while it has {listed}. Nothing changed.")


def counted(what: str, n: int) -> str:
    """'1 registration', '2 registrations': what stops a deletion (``what`` is a key of
    ``admin.queries.dependents``), counted in the reader's language."""
    if what == "sessions":
        text = ngettext("{n} session", "{n} sessions", n)
    elif what == "registrations":
        text = ngettext("{n} registration", "{n} registrations", n)
    elif what == "releases":
        text = ngettext("{n} release", "{n} releases", n)
    elif what == "steward passes":
        text = ngettext("{n} steward pass", "{n} steward passes", n)
    elif what == "hosted gatherings":
        text = ngettext("{n} hosted gathering", "{n} hosted gatherings", n)
    elif what == "hosted sessions":
        text = ngettext("{n} hosted session", "{n} hosted sessions", n)
    elif what == "organiser accounts":
        text = ngettext("{n} organiser account", "{n} organiser accounts", n)
    elif what == "consents":
        text = ngettext("{n} consent", "{n} consents", n)
    else:
        text = "{n} " + what
    return text.format(n=n)


def kind_name(kind: str) -> str:
    """A kind of row, named mid-sentence in the reader's language."""
    return gettext(KIND_NAMES.get(kind, kind))
