"""The network admin's forms: what each form may hold, checked before anything is written.

Form values come in as plain strings (what a browser sends); each ``clean_*`` returns the values
to store and the errors to show next to their fields, in the admin's words. Dates are kept to
the years in ``gathering.admin.dates`` (issue 14: a gathering ending 9999-12-31 broke its pages).
"""

import datetime as dt
import re
import unicodedata
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from gathering.admin import words
from gathering.admin.dates import FIRST_YEAR, LAST_YEAR, is_within_bounds
from gathering.auth.accounts import check_email
from gathering.core.errors import InvalidInput
from gathering.core.i18n import N_, gettext
from gathering.core.schema import MODES

Form = Mapping[str, str]
Clean = Callable[[Form], tuple[dict[str, Any], dict[str, str]]]

MAX_PHOTO_BYTES = 2 * 1024 * 1024
MAX_LONG_TEXT = 20_000
MAX_BIO = 5_000
TRISTATE = ("unknown", "yes", "no")
COMMON_TIMEZONES = (
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Brussels",
    "Europe/Amsterdam",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Vienna",
    "Europe/Prague",
    "Europe/Warsaw",
    "Europe/Copenhagen",
    "Europe/Stockholm",
    "Europe/Oslo",
    "Europe/Helsinki",
    "Europe/Athens",
    "Europe/Istanbul",
    "UTC",
)
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Magic numbers: the bytes decide the type, never the file name or the declared type.
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
# Parent of each kind, for rows created inside another (a room inside a venue).
PARENTS = {"venue": ("gathering", "gathering_id"), "room": ("venue", "venue_id")}
PARENTS["track"] = ("gathering", "gathering_id")
PARENTS["ticket_type"] = ("gathering", "gathering_id")
# How each kind is named in messages.
KIND_LABEL = words.KIND_NAMES
MAX_POSITION = 10_000


@dataclass(frozen=True)
class StandardQuestion:
    """A question the registration form may ask, offered with a default wording."""

    key: str
    title: str  # what the admin page calls it (marked for the catalogue, shown through gettext)
    label: str  # the default wording attendees see
    help: str = ""


# The only questions a gathering may ask: the registration form and the steward pages rely on
# these keys (access_needs above all), so organisers choose among them rather than invent keys.
STANDARD_QUESTIONS = (
    StandardQuestion(
        "constituency", N_("Constituency / CLP"), N_("Constituency Labour Party (CLP)")
    ),
    StandardQuestion("organisation", N_("Organisation"), N_("Union branch or group, if any")),
    StandardQuestion(
        "access_needs",
        N_("Access needs"),
        N_("Access needs we should plan for"),
        N_("For example step-free access, a hearing loop, BSL interpretation or a quiet room."),
    ),
    StandardQuestion("dietary", N_("Dietary needs"), N_("Dietary needs")),
    StandardQuestion("free_text", N_("Free text"), N_("Anything else you would like us to know")),
)
QUESTION_KEYS = tuple(q.key for q in STANDARD_QUESTIONS)
_STANDARD = {q.key: q for q in STANDARD_QUESTIONS}


def reader_wording(key: str, label: str, help_text: str) -> tuple[str, str]:
    """A question's label and help as a reader sees them: the default wording, left as it was
    by the organisers, is the service's own words and shown in the reader's language; wording
    the organisers wrote is shown as they wrote it."""
    default = _STANDARD.get(key)
    if default is None:
        return label, help_text
    shown_label = gettext(label) if label == default.label else label
    shown_help = gettext(help_text) if help_text and help_text == default.help else help_text
    return shown_label, shown_help


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def slugify(text: str) -> str:
    """'Labour Left Alliance — Fringe' → 'labour-left-alliance-fringe' (at most 80 characters)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].strip("-")


def photo_type(data: bytes) -> str | None:
    """The image type the bytes really are (JPEG, PNG or WebP), or None."""
    if data.startswith(_PNG):
        return "image/png"
    if data.startswith(_JPEG):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


# --- validation -------------------------------------------------------------------------------


def _text(
    form: Form, name: str, errors: dict[str, str], label: str, max_len: int, required: bool = False
) -> str:
    label = gettext(label)
    value = form.get(name, "").strip()
    if "\x00" in value:
        errors[name] = gettext(words.UNSTORABLE).format(label=label)
    elif required and not value:
        errors[name] = gettext(words.ENTER).format(label=label.lower())
    elif len(value) > max_len:
        errors[name] = gettext(words.TOO_LONG).format(label=label, max=max_len, length=len(value))
    return value


def _slug(form: Form, errors: dict[str, str], source: str) -> str:
    value = form.get("slug", "").strip().lower()
    if not value:
        value = slugify(source)
        if not value and source:
            errors["slug"] = gettext(words.SLUG_MISSING)
        return value
    if len(value) > 80 or not _SLUG.match(value):
        errors["slug"] = gettext(words.SLUG_GARBLED)
    return value


def _tristate(form: Form, name: str, errors: dict[str, str]) -> bool | None:
    value = form.get(name, "unknown")
    if value not in TRISTATE:
        errors[name] = gettext(words.TRISTATE_UNKNOWN)
        return None
    return {"yes": True, "no": False}.get(value)


def _int(
    form: Form, name: str, errors: dict[str, str], label: str, low: int, high: int
) -> int | None:
    label = gettext(label)
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        errors[name] = gettext(words.NOT_WHOLE).format(label=label)
        return None
    if not low <= value <= high:
        errors[name] = gettext(words.OUT_OF_RANGE).format(label=label, low=low, high=high)
    return value


def _date(form: Form, name: str, errors: dict[str, str], label: str) -> dt.date | None:
    label = gettext(label)
    raw = form.get(name, "").strip()
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = gettext(words.DATE_GARBLED).format(label=label.lower())
        return None
    if not is_within_bounds(day):
        errors[name] = gettext(words.DATE_OUT_OF_YEARS).format(
            label=label.lower(), first=FIRST_YEAR, last=LAST_YEAR, typed=raw
        )
        return None
    return day


def clean_gathering(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    title = _text(form, "title", errors, words.FIELDS["title"], 200, required=True)
    values: dict[str, Any] = {
        "title": title,
        "slug": _slug(form, errors, title),
        "description": _text(
            form, "description", errors, words.FIELDS["description"], MAX_LONG_TEXT
        ),
        "location": _text(form, "location", errors, words.FIELDS["location"], 200),
        "data_controller": _text(
            form, "data_controller", errors, words.FIELDS["data_controller"], 300
        ),
        "privacy_contact": _text(
            form, "privacy_contact", errors, words.FIELDS["privacy_contact"], 320
        ),
        "is_listed": form.get("is_listed", "") == "on",
        "registration_open": form.get("registration_open", "") == "on",
    }
    starts = _date(form, "starts_on", errors, words.FIELDS["starts_on"])
    ends = _date(form, "ends_on", errors, words.FIELDS["ends_on"])
    if starts and ends and ends < starts:
        errors["ends_on"] = gettext(words.LAST_BEFORE_FIRST)
    values.update(starts_on=starts, ends_on=ends)
    zone = form.get("timezone", "").strip()
    if zone not in _zones():
        errors["timezone"] = gettext(words.TIMEZONE_UNKNOWN)
    values["timezone"] = zone
    if form.get("mode", "") not in MODES:
        errors["mode"] = gettext(words.MODE_UNKNOWN)
    values["mode"] = form.get("mode", "")
    host = _int(
        form, "host_organisation_id", errors, words.FIELDS["host_organisation_id"], 1, 2**31 - 1
    )
    values["host_organisation_id"] = host
    if values["privacy_contact"] and "privacy_contact" not in errors:
        try:
            values["privacy_contact"] = check_email(values["privacy_contact"], "privacy_contact")
        except InvalidInput as error:
            errors.update(error.errors)
    days = _int(form, "retention_days", errors, words.FIELDS["retention_days"], 1, 3650)
    if days is None and "retention_days" not in errors:
        errors["retention_days"] = gettext(words.RETENTION_MISSING)
    values["retention_days"] = days
    return values, errors


def clean_venue(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "name": _text(form, "name", errors, words.FIELDS["name"], 200, required=True),
        "address": _text(form, "address", errors, words.FIELDS["address"], 2000),
        "access_notes": _text(form, "access_notes", errors, words.FIELDS["access_notes"], MAX_BIO),
    }
    for name in ("step_free", "hearing_loop", "bsl", "quiet_room"):
        values[name] = _tristate(form, name, errors)
    return values, errors


def clean_room(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "name": _text(form, "name", errors, words.FIELDS["name"], 200, required=True),
        "capacity": _int(form, "capacity", errors, words.FIELDS["capacity"], 0, 1_000_000),
        "step_free": _tristate(form, "step_free", errors),
        "access_notes": _text(form, "access_notes", errors, words.FIELDS["access_notes"], MAX_BIO),
    }
    return values, errors


def clean_track(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    name = _text(form, "name", errors, words.FIELDS["name"], 120, required=True)
    return {"name": name, "slug": _slug(form, errors, name)}, errors


def clean_organisation(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    name = _text(form, "name", errors, words.FIELDS["name"], 200, required=True)
    values: dict[str, Any] = {
        "name": name,
        "slug": _slug(form, errors, name),
        "short_name": _text(form, "short_name", errors, words.FIELDS["short_name"], 40),
        "description": _text(
            form, "description", errors, words.FIELDS["description"], MAX_LONG_TEXT
        ),
        "website": _text(form, "website", errors, words.FIELDS["website"], 300),
        "contact_email": _text(form, "contact_email", errors, words.FIELDS["contact_email"], 320),
    }
    website = values["website"]
    if website and "website" not in errors:
        parts = urlsplit(website)
        if parts.scheme != "https" or not parts.hostname or " " in website:
            errors["website"] = gettext(words.WEBSITE_GARBLED)
    if values["contact_email"] and "contact_email" not in errors:
        try:
            values["contact_email"] = check_email(values["contact_email"], "contact_email")
        except InvalidInput as error:
            errors.update(error.errors)
    return values, errors


def clean_speaker(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    name = _text(form, "name", errors, words.FIELDS["name"], 200, required=True)
    values: dict[str, Any] = {
        "name": name,
        "slug": _slug(form, errors, name),
        "affiliation": _text(form, "affiliation", errors, words.FIELDS["affiliation"], 200),
        "bio": _text(form, "bio", errors, words.FIELDS["bio"], MAX_BIO),
        # Private (issue 16): for release notices only, never shown anywhere public.
        "email": _text(form, "email", errors, words.FIELDS["speaker_email"], 320),
    }
    if values["email"] and "email" not in errors:
        try:
            values["email"] = check_email(values["email"], "email")
        except InvalidInput as error:
            errors.update(error.errors)
    return values, errors


def clean_ticket_type(form: Form) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "name": _text(form, "name", errors, words.FIELDS["name"], 80, required=True),
        "suggested_contribution": _text(
            form, "suggested_contribution", errors, words.FIELDS["suggested_contribution"], 200
        ),
        "position": _int(form, "position", errors, words.FIELDS["position"], 0, MAX_POSITION),
    }
    return values, errors


def clean_questions(form: Form) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The standard questions a form asks for: key → label, help, is_required (enabled only)."""
    errors: dict[str, str] = {}
    asked: dict[str, dict[str, Any]] = {}
    for q in STANDARD_QUESTIONS:
        enabled = form.get(f"{q.key}_enabled", "") == "on"
        required = form.get(f"{q.key}_required", "") == "on"
        name = f"{q.key}_label"
        wording = gettext(words.QUESTION_WORDING).format(title=gettext(q.title))
        label = _text(form, name, errors, wording, 200, required=enabled)
        if enabled and name in errors and not label:
            errors[name] = gettext(words.QUESTION_WORDING_MISSING).format(title=gettext(q.title))
        help_label = gettext(words.QUESTION_HELP).format(title=gettext(q.title))
        help_text = _text(form, f"{q.key}_help", errors, help_label, 400)
        if required and not enabled:
            errors[f"{q.key}_required"] = gettext(words.QUESTION_REQUIRED_NOT_ASKED).format(
                title=gettext(q.title)
            )
        if enabled:
            asked[q.key] = {"label": label, "help": help_text, "is_required": required}
    return asked, errors


CLEANERS: dict[str, Clean] = {
    "gathering": clean_gathering,
    "venue": clean_venue,
    "room": clean_room,
    "track": clean_track,
    "organisation": clean_organisation,
    "speaker": clean_speaker,
    "ticket_type": clean_ticket_type,
}


def _form_value(value: object) -> str:
    if value is None:
        return ""
    if value is True:
        return "on"
    if value is False:
        return ""
    return str(value)


def form_of(kind: str, columns: Mapping[str, object]) -> dict[str, str]:
    """A stored row's columns as the strings its edit form shows."""
    values = {key: _form_value(value) for key, value in columns.items()}
    if kind in ("venue", "room"):
        for name in ("step_free", "hearing_loop", "bsl", "quiet_room"):
            if name in columns:
                stored = columns[name]
                values[name] = "yes" if stored is True else "no" if stored is False else "unknown"
    return values


# --- uploads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Photo:
    """An uploaded file: at most MAX_PHOTO_BYTES + 1 bytes of it, so too-large files are seen."""

    data: bytes
    filename: str


def check_photo(photo: Photo | None, errors: dict[str, str]) -> str | None:
    if photo is None:
        return None
    if len(photo.data) > MAX_PHOTO_BYTES:
        errors["photo"] = gettext(words.PHOTO_TOO_LARGE)
        return None
    if not photo.data:
        errors["photo"] = gettext(words.PHOTO_EMPTY)
        return None
    content_type = photo_type(photo.data)
    if content_type is None:
        errors["photo"] = gettext(words.PHOTO_TYPE)
    return content_type
