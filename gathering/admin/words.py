"""What the network admin reads, in one place (ready for gettext): field names, errors, refusals.

``str.format`` fields are filled by the rules; ``{label}`` is one of ``FIELDS`` (or a question's
own title), lower-cased where it falls mid-sentence.
"""

from __future__ import annotations

# Field names as the forms show them, by form field.
FIELDS = {
    "title": "Title",
    "name": "Name",
    "description": "Description",
    "location": "Location",
    "data_controller": "Data controller",
    "privacy_contact": "Privacy contact",
    "starts_on": "First day",
    "ends_on": "Last day",
    "host_organisation_id": "Host organisation",
    "retention_days": "Retention",
    "address": "Address",
    "access_notes": "Access notes",
    "capacity": "Capacity",
    "short_name": "Short name",
    "website": "Website",
    "contact_email": "Contact email",
    "affiliation": "Affiliation",
    "bio": "Short bio",
    "speaker_email": "Private email",
    "suggested_contribution": "Suggested contribution",
    "position": "Position",
}
QUESTION_WORDING = "Wording of “{title}”"
QUESTION_HELP = "Help for “{title}”"

# --- form errors -------------------------------------------------------------------------------
UNSTORABLE = "{label} contains a character that cannot be stored."
ENTER = "Enter {label}."
TOO_LONG = "{label} must be at most {max:,} characters (it has {length:,})."
SLUG_MISSING = "Enter a short address name using letters a–z, digits and hyphens."
SLUG_GARBLED = "Use only a–z, 0–9 and single hyphens between them (at most 80)."
SLUG_TAKEN = "That short address name is already used. Choose another."
TRISTATE_UNKNOWN = "Choose yes, no or not known."
NOT_WHOLE = "{label} must be a whole number."
OUT_OF_RANGE = "{label} must be between {low:,} and {high:,}."
DATE_GARBLED = "Enter {label} as a date, like 2026-09-27."
DATE_OUT_OF_YEARS = "Enter {label} between the years {first} and {last} (you entered {typed})."
LAST_BEFORE_FIRST = "The last day must be on or after the first day."
TIMEZONE_UNKNOWN = "Enter an IANA time zone such as Europe/London."
MODE_UNKNOWN = "Choose in person, online or hybrid."
RETENTION_MISSING = "Enter how many days to keep personal data (1 to 3,650)."
WEBSITE_GARBLED = "Enter a full https:// address, or leave it empty."
ORGANISATION_UNKNOWN = "Choose an organisation from the list."
QUESTION_WORDING_MISSING = "Enter the wording of the “{title}” question, or stop asking it."
QUESTION_REQUIRED_NOT_ASKED = (
    "“{title}” can only be required if it is asked: tick “Ask this question” too."
)
PHOTO_TOO_LARGE = "The photo is larger than 2 MB. Choose a smaller image."
PHOTO_EMPTY = "The chosen file is empty."
PHOTO_TYPE = "The photo must be a JPEG, PNG or WebP image."
FORM_TOO_LARGE = (
    "This form is too large to accept: descriptions are limited to 20,000 characters and photos "
    "to 2 MB. Go back, shorten the text, and send it again. Nothing was saved."
)

# --- finding and deleting ----------------------------------------------------------------------
KIND_NAMES = {"ticket_type": "ticket type"}  # how each kind is named mid-sentence
NO_SUCH = "There is no such {kind}."
NO_SUCH_NOW = "There is no such {kind}. It may have been deleted."
NO_SUCH_ANY_MORE = "There is no such {kind}. It may have been deleted already."
NO_PHOTO = "This speaker has no photo."
CANNOT_DELETE = "This {kind} cannot be deleted while it has {listed}. Nothing changed."
