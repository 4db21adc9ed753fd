"""Privacy notices built from a gathering's own settings.

The notice says what the registration form really asks (its enabled questions, with why), who
answers for the data, who sees what, when it is erased and how to download or erase it, so it
cannot drift from the form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.admin.forms import reader_wording
from gathering.core.database import Database
from gathering.core.errors import NotFound
from gathering.core.i18n import gettext
from gathering.privacy import queries, words
from gathering.privacy.retention import erase_from
from gathering.programme import queries as programme_queries
from gathering.registration import queries as registration_queries


class QuestionAsked(Protocol):
    """A question of the registration form, as the registration queries return it."""

    @property
    def key(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def help(self) -> str: ...
    @property
    def is_required(self) -> bool: ...


@dataclass(frozen=True)
class Asked:
    """One thing the registration form asks, and why."""

    label: str
    why: str
    help: str = ""
    is_required: bool = True


@dataclass(frozen=True)
class PrivacyNotice:
    slug: str
    title: str
    controller: str  # who answers for the data
    controller_is_host: bool  # no controller named: the host organisation stands in
    contact_email: str
    contact_website: str
    host_name: str
    asked: tuple[Asked, ...]
    contact_organisations: tuple[str, ...]  # each may contact people who tick its box
    retention_days: int
    ends_on: dt.date
    erase_on: dt.date  # the first day the data is no longer kept
    anonymised_at: dt.datetime | None
    timezone: str


def _words(pair: tuple[str, str]) -> tuple[str, str]:
    """A (label, why) pair of the notice in the reader's language."""
    return gettext(pair[0]), gettext(pair[1])


def _asked(questions: Sequence[QuestionAsked], has_ticket_types: bool) -> tuple[Asked, ...]:
    items = [Asked(*_words(words.ASKED_NAME)), Asked(*_words(words.ASKED_EMAIL))]
    if has_ticket_types:
        items.append(Asked(*_words(words.ASKED_TICKET_TYPE)))
    items.append(Asked(*_words(words.ASKED_SESSIONS), is_required=False))
    for q in questions:
        why = gettext(words.WHY[q.key]) if q.key in words.WHY else ""
        label, help_text = reader_wording(q.key, q.label, q.help)
        items.append(Asked(label, why, help_text, bool(q.is_required)))
    return tuple(items)


async def privacy_notice(db: Database, slug: str) -> PrivacyNotice:
    """The privacy notice of the gathering ``slug``; NotFound if there is none."""

    async def _read(conn: AsyncConnection) -> PrivacyNotice:
        row = await programme_queries.gathering_row(conn, slug=slug)
        if row is None:
            raise NotFound(gettext("There is no gathering at this address."))
        host = await queries.organisation_contact(conn, row.host_organisation_id)
        host_name = str(host.name) if host is not None else ""
        named = str(row.data_controller).strip()
        contact = str(row.privacy_contact).strip() or (host.contact_email if host else "")
        organisations = await registration_queries.consent_organisations(
            conn, row.id, row.host_organisation_id
        )
        return PrivacyNotice(
            slug=row.slug,
            title=row.title,
            controller=named or host_name,
            controller_is_host=not named and bool(host_name),
            contact_email=contact,
            contact_website=host.website if host is not None else "",
            host_name=host_name,
            asked=_asked(
                await registration_queries.questions(conn, row.id),
                bool(await registration_queries.ticket_types(conn, row.id)),
            ),
            contact_organisations=tuple(o.name for o in organisations),
            retention_days=row.retention_days,
            ends_on=row.ends_on,
            erase_on=erase_from(row.ends_on, row.retention_days),
            anonymised_at=row.anonymised_at,
            timezone=row.timezone,
        )

    return await db.read(_read)
