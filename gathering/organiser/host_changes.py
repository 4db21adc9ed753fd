"""Changes of a session's hosts: who may make them, their audit row, and the notice they leave.

Hosting decides who sees a session's people (``organiser.attendees``), so a change of hosts is
never silent. Only the network admin and organisers of the session's *host* may make one (a
co-host keeps the hosts it was given); each change writes an audit row
(``session.hosts_changed``, ids only, no free text) in the unit that makes it. Every
organisation that was host or co-host before, or is one after, sees a notice on its organiser
home for ``NOTICE_DAYS`` days, read from those audit rows: an organisation that was removed
learns it, even though it can no longer open the session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.audit import insert_audit_event
from gathering.core.i18n import gettext
from gathering.core.permissions import Actor
from gathering.organiser import session_queries as queries
from gathering.organiser import words
from gathering.organiser.session_queries import SessionHost
from gathering.organiser.when import when

HOSTS_CHANGED = "session.hosts_changed"
NOTICE_DAYS = 60
MAX_NOTICES = 20
_SCANNED = 2000  # audited changes read per page view: far more than a network makes in 60 days


def may_change_hosts(actor: Actor, hosts: Sequence[SessionHost]) -> bool:
    """The admin, or an organiser of the organisation that hosts (not co-hosts) the session."""
    return actor.is_admin or any(
        h.role == "host" and h.organisation_id in actor.organisation_ids for h in hosts
    )


def _pairs(hosts: Sequence[SessionHost]) -> list[list[int | str]]:
    return [[h.organisation_id, h.role] for h in sorted(hosts)]


def same_hosts(before: Sequence[SessionHost], after: Sequence[SessionHost]) -> bool:
    return sorted(before) == sorted(after)


async def record_host_change(
    conn: AsyncConnection,
    actor: Actor,
    session_id: int,
    before: Sequence[SessionHost],
    after: Sequence[SessionHost],
    *,
    now: dt.datetime,
) -> None:
    """The audit row of a change of hosts; the notices are read from it."""
    await insert_audit_event(
        conn,
        now=now,
        actor_kind="account",
        actor_id=actor.account_id,
        action=HOSTS_CHANGED,
        subject_kind="session",
        subject_id=session_id,
        detail={"before": _pairs(before), "after": _pairs(after)},
    )


@dataclass(frozen=True)
class HostChangeNotice:
    at: dt.datetime
    session_id: int
    text: str


def _describe(hosts: Sequence[SessionHost], names: dict[int, str]) -> str:
    def name(organisation_id: int) -> str:
        return names.get(organisation_id, gettext(words.REMOVED_ORGANISATION))

    parts = [
        gettext(words.HOSTED_BY).format(host=name(h.organisation_id))
        for h in hosts
        if h.role == "host"
    ]
    co_hosts = [name(h.organisation_id) for h in hosts if h.role == "co_host"]
    if co_hosts:
        parts.append(gettext(words.CO_HOSTED_BY).format(co_hosts=", ".join(co_hosts)))
    return ", ".join(parts) or gettext(words.NOBODY)


async def host_change_notices(
    conn: AsyncConnection, actor: Actor, *, now: dt.datetime
) -> list[HostChangeNotice]:
    """Recent changes of hosts of sessions the actor's organisations hosted or co-hosted."""
    if not actor.organisation_ids:
        return []
    since = now - dt.timedelta(days=NOTICE_DAYS)
    events = [
        e
        for e in await queries.host_change_events(conn, HOSTS_CHANGED, since, _SCANNED)
        if {h.organisation_id for h in (*e.before, *e.after)} & actor.organisation_ids
    ][:MAX_NOTICES]
    if not events:
        return []
    names = {o.id: o.name for o in await queries.organisations(conn)}
    titles = await queries.session_titles(conn, sorted({e.session_id for e in events}))
    return [
        HostChangeNotice(
            e.at,
            e.session_id,
            gettext(words.HOSTS_CHANGED).format(
                session=titles.get(e.session_id, gettext(words.REMOVED_SESSION)),
                day=when(e.at.astimezone(dt.UTC), "dd MMMM y"),
                time=f"{e.at.astimezone(dt.UTC):%H:%M}",
                before=_describe(e.before, names),
                after=_describe(e.after, names),
            ),
        )
        for e in events
    ]
