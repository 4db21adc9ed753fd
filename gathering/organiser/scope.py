"""Who sees a session's people: the scope of one organiser's view, checked in the rules.

Who sees whom. Issue 7 says "attendee list for the sessions an organiser hosts" and "co-hosts see
nothing without their own consent", so, checked here whatever a page shows:

- The network admin, and organisers of an organisation that *hosts* the session
  (``session_host.role == "host"``), see everyone with a place at it whose email is confirmed:
  name, email, ticket type, place status, whether and when they came. Access needs appear only
  for people who ticked "let the stewards see my access needs" (the hosts run the room and the
  door).
- Organisers whose organisations only *co-host* the session see only the people who gave one of
  those organisations the contact consent ("<organisation> may contact me about its work") and
  have not withdrawn it, and of them only what that consent covers: name, email and place
  status. Never ticket type (it can reveal income), check-in times or access needs; these are
  not even read from the database for them. With no such consent they see nobody.
- Anyone else is refused (Forbidden), including organisers of the gathering's host organisation
  who neither host nor co-host the session.
- *Viewers* of an organisation (issue 16) see counts only: ``Actor.organisation_ids`` holds only
  the organisations where the account is an organiser, so a viewer is refused here (and by every
  rule that reads people: the attendee list, its CSV export, messages, supporters, steward
  passes and so the help desk) as anyone else is, with words that say why. The dashboards,
  which name nobody, let viewers in through ``counts_view``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.errors import Forbidden, NotFound
from gathering.core.i18n import gettext
from gathering.core.permissions import Actor, require_actor
from gathering.organiser import member_words, queries, words
from gathering.programme import queries as programme_queries


@dataclass(frozen=True)
class Organisation:
    id: int
    name: str
    slug: str
    role: str  # host | co_host


@dataclass(frozen=True)
class SessionRef:
    gathering_slug: str
    gathering_title: str
    timezone: str
    session_id: int
    session_title: str
    starts_local: dt.datetime
    hosts: tuple[Organisation, ...]


@dataclass(frozen=True)
class Scope:
    """What one actor may see of a session's people."""

    sees_everyone: bool  # admin or an organiser of a host: everyone, and their details
    consent_organisations: tuple[Organisation, ...]  # co-hosts whose consents open a person
    export_organisations: tuple[Organisation, ...]  # whose contact list the actor may export
    export_needs_choice: bool  # the actor must name the organisation to export for


async def session_ref(conn: AsyncConnection, slug: str, session_id: int) -> SessionRef:
    gathering = await programme_queries.gathering_row(conn, slug=slug)
    if gathering is None:
        raise NotFound(gettext(words.NO_GATHERING))
    row = await queries.session_row(conn, session_id) if 0 < session_id < 2**31 else None
    if row is None or row.gathering_id != gathering.id:
        raise NotFound(gettext(words.NO_SESSION))
    hosts = tuple(
        Organisation(h.organisation_id, h.name, h.slug, h.role)
        for h in await queries.hosts_of_session(conn, session_id)
    )
    zone = zoneinfo.ZoneInfo(gathering.timezone)
    return SessionRef(
        gathering.slug,
        gathering.title,
        gathering.timezone,
        row.id,
        row.title,
        row.starts_at.astimezone(zone),
        hosts,
    )


def scope_for(actor: Actor | None, hosts: tuple[Organisation, ...]) -> Scope:
    """The actor's view of a session with these hosts; Forbidden if none (see the docstring)."""
    actor = require_actor(actor)
    if actor.is_admin:
        return Scope(True, (), hosts, True)
    mine = tuple(h for h in hosts if h.id in actor.organisation_ids)
    if not mine:
        if any(h.id in actor.viewer_organisation_ids for h in hosts):
            raise Forbidden(gettext(member_words.VIEWERS_SEE_NUMBERS_ONLY))
        raise Forbidden(gettext(words.ONLY_HOSTS_SEE_PEOPLE))
    sees_everyone = any(h.role == "host" for h in mine)
    return Scope(sees_everyone, () if sees_everyone else mine, mine, len(mine) > 1)


def consent_filter(scope: Scope) -> list[int] | None:
    """The organisations whose contact consent lets the actor reach a person (None: everyone)."""
    return None if scope.sees_everyone else [o.id for o in scope.consent_organisations]


def counts_view(actor: Actor) -> Actor:
    """The actor as the dashboards (counts, no names) see them: organisations where they are
    a viewer count as theirs. Never pass the result to a rule that reads people."""
    if not actor.viewer_organisation_ids:
        return actor
    return dataclasses.replace(
        actor, organisation_ids=actor.organisation_ids | actor.viewer_organisation_ids
    )
