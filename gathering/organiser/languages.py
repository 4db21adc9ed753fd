"""A gathering's languages on its organisers' registration page (issue 18): the language of its
pages for a reader who chose none (and of mail to a registrant whose language is unknown), and
its title and description in other languages. Saved with the page's first form
(``registration_setup.save_window``), whose host organisers may change the gathering.

A form without these fields (an older page, a script) leaves them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import content, i18n
from gathering.core.schema import gathering

UNKNOWN_LANGUAGE = i18n.N_("Choose one of the languages offered.")


@dataclass(frozen=True)
class GatheringLanguages:
    default_language: str | None  # None: not in the form, kept
    translations: content.Translations | None  # None: not in the form, kept


async def gathering_form(conn: AsyncConnection, gathering_id: int) -> dict[str, str]:
    """The form's strings: ``default_language`` and every language's ``title_cy`` etc."""
    query = sa.select(gathering.c.default_language, gathering.c.translations).where(
        gathering.c.id == gathering_id
    )
    row = (await conn.execute(query)).one()
    return {"default_language": row.default_language, **content.form_values(row.translations)}


def checked(form: Mapping[str, str], errors: dict[str, str]) -> GatheringLanguages:
    """What the form asks to save; a bad field goes into ``errors``."""
    default = form.get("default_language")
    if default is not None and default not in i18n.LANGUAGES:
        errors["default_language"] = i18n.gettext(UNKNOWN_LANGUAGE)
    translations = content.from_form(form.get, errors) if content.in_form(form.get) else None
    return GatheringLanguages(default, translations)


async def save(conn: AsyncConnection, gathering_id: int, chosen: GatheringLanguages) -> None:
    values: dict[str, object] = {}
    if chosen.default_language is not None:
        values["default_language"] = chosen.default_language
    if chosen.translations is not None:
        values["translations"] = chosen.translations
    if values:
        await conn.execute(
            sa.update(gathering).where(gathering.c.id == gathering_id).values(values)
        )
