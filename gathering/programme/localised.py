"""A released programme in the reader's language (issue 18): titles and descriptions given in
it replace the English ones, field by field, and say which language they are in.

Used where released values are made (``programme.release``, ``programme.snapshots``), so every
page, feed and export reading them shows the reader's language without knowing about it.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from gathering.core import content, i18n
from gathering.programme.published import PublicGathering, PublicSession

_Shown = TypeVar("_Shown", PublicGathering, PublicSession)


def _localised(value: _Shown, stored: object, language: str) -> _Shown:
    """``value`` (English) with its translations kept, and its title and description shown in
    ``language`` where given, each saying which language it is in."""
    texts = content.texts(stored)
    title, title_lang = content.pick(value.title, texts, "title", language)
    description, description_lang = content.pick(value.description, texts, "description", language)
    return dataclasses.replace(
        value,
        title=title,
        description=description,
        title_lang=title_lang,
        description_lang=description_lang,
        texts=texts,
        english_title=value.title,
        english_description=value.description,
    )


def session(value: PublicSession, stored: object, language: str) -> PublicSession:
    """``value`` (English) with its translations kept and shown in ``language`` where given."""
    return _localised(value, stored, language)


def title_of(title: str, stored: object) -> str:
    """A title (a gathering row's, say) in the current language where given, else as stored."""
    return content.pick(title, content.texts(stored), "title", i18n.current_language())[0]


def gathering(value: PublicGathering, stored: object, language: str) -> PublicGathering:
    """As :func:`session`, for a gathering, which also says the language it is shown in."""
    return dataclasses.replace(_localised(value, stored, language), shown_in=language)
