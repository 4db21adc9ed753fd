"""Content in several languages (issue 18): a gathering's and a session's title and description.

English is the row's own ``title`` and ``description``; other languages live in the row's
``translations`` JSON (migration 0018 says why that shape): ``{"cy": {"title": "...",
"description": "..."}}``, a field left out or empty meaning "not given, show the English". A new
language in :data:`gathering.core.i18n.LANGUAGES` gets its fields on the organisers' forms, its
texts on the pages and in the exports, with no migration.

Readers get their language where it is given, English otherwise, field by field; the language
each text is really in goes with it, so a page marks it (``lang``) when it differs from the
page's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from markupsafe import Markup

from gathering.core import i18n

FIELDS: Final = ("title", "description")
LIMITS: Final = {"title": 200, "description": 20_000}
# One text: (language, field, text), as frozen values carry them (hashable, unlike a dict).
Text = tuple[str, str, str]
Translations = dict[str, dict[str, str]]


def other_languages() -> tuple[str, ...]:
    """The languages content may be given in besides English, in the switch's order."""
    return tuple(code for code in i18n.LANGUAGES if code != i18n.DEFAULT_LANGUAGE)


def stored(value: object) -> Translations:
    """A ``translations`` column as stored, keeping only known languages, fields and texts."""
    if not isinstance(value, Mapping):
        return {}
    kept: Translations = {}
    for language in other_languages():
        fields = value.get(language)
        if not isinstance(fields, Mapping):
            continue
        texts = {f: fields[f] for f in FIELDS if isinstance(fields.get(f), str) and fields[f]}
        if texts:
            kept[language] = texts
    return kept


def texts(value: object) -> tuple[Text, ...]:
    """The stored translations as frozen (language, field, text) triples."""
    return tuple(
        (language, field, text)
        for language, fields in stored(value).items()
        for field, text in fields.items()
    )


def pick(english: str, given: tuple[Text, ...], field: str, language: str) -> tuple[str, str]:
    """``field`` in ``language`` where given, else the English; with the language it is in."""
    if language != i18n.DEFAULT_LANGUAGE:
        for code, name, text in given:
            if code == language and name == field:
                return text, code
    return english, i18n.DEFAULT_LANGUAGE


def localised_map(english: str, given: tuple[Text, ...], field: str) -> dict[str, str]:
    """Every language's text of ``field`` (frab v2's LocalizationMap): {"en": ..., "cy": ...}."""
    found = {i18n.DEFAULT_LANGUAGE: english}
    found.update({code: text for code, name, text in given if name == field})
    return found


def lang_attribute(language: str) -> Markup:
    """`` lang="cy"`` for content in another language than the page's own, else nothing."""
    if language == i18n.current_language():
        return Markup("")
    return Markup(' lang="{}"').format(language)


# --- the organisers' forms -------------------------------------------------------------------


def field_name(field: str, language: str) -> str:
    """A form field for ``field`` in ``language``: ``title_cy``, ``description_cy``."""
    return f"{field}_{language}"


def form_values(value: object) -> dict[str, str]:
    """The form's strings for stored translations: every language's field, empty if not given."""
    kept = stored(value)
    return {
        field_name(field, language): kept.get(language, {}).get(field, "")
        for language in other_languages()
        for field in FIELDS
    }


def in_form(get: Callable[[str], object]) -> bool:
    """Whether a posted form carries the translation fields (forms without them keep them)."""
    return any(
        isinstance(get(field_name(field, language)), str)
        for language in other_languages()
        for field in FIELDS
    )


def from_form(get: Callable[[str], object], errors: dict[str, str]) -> Translations:
    """The translations a form posted, checked; a problem goes into ``errors`` by field name."""
    found: Translations = {}
    for language in other_languages():
        for field in FIELDS:
            name = field_name(field, language)
            raw = get(name)
            text = raw if isinstance(raw, str) else ""
            text = " ".join(text.split()) if field == "title" else text.replace("\r\n", "\n")
            if field == "description":
                text = text.strip()
            if len(text) > LIMITS[field]:
                errors[name] = i18n.gettext(TOO_LONG).format(max=LIMITS[field])
            elif text:
                found.setdefault(language, {})[field] = text
    return found


TOO_LONG: Final = i18n.N_("This is too long: at most {max} characters.")


def content_lang(value: object, field: str) -> Markup:
    """For templates: `` lang="en"`` on ``value``'s ``field`` (title, description) when it is not
    in the page's language, e.g. a session with no Welsh title on a Welsh page."""
    language = getattr(value, f"{field}_lang", None)
    return lang_attribute(language) if isinstance(language, str) else Markup("")
