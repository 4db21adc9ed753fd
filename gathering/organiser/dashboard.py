"""The organiser dashboard: counts, registrations and arrivals over time, and breakdowns.

Everything here is a count; no person is named. Who may look:

- a gathering's dashboard (every session's counts): the network admin and organisers of the
  gathering's host organisation (the same people who may release its programme);
- a session's dashboard: the network admin, organisers of the session's hosts and co-hosts, and
  organisers of the gathering's host organisation.

Definitions used on the page (and in the tests):

- per session, *registered* is every live place: confirmed + offered + waitlisted; *cancelled*
  counts places given up (or freed when a registration was cancelled or expired);
- *arrived* is people with a check-in at the session that was not undone; *inside now* those
  whose newest entry-or-exit there is an entry;
- registrations over time count registrations (places, for a session) when they were made, in
  the gathering's time zone, leaving out unconfirmed ones that expired;
- breakdowns count people with a live registration (confirmed, or awaiting email confirmation),
  and for a session a live place.

Small counts are withheld from those who do not host a session, and from viewers (members
with the role "viewer", who see numbers only) whatever they view: see ``organiser.tallies``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.core.errors import Forbidden, NotFound
from gathering.core.i18n import gettext
from gathering.core.permissions import Actor, can_manage_session, can_release, require_actor
from gathering.door.bundle_queries import DoorConflict, conflicts_of_gathering
from gathering.organiser import queries, words
from gathering.organiser.queries import SessionHostName
from gathering.organiser.scope import counts_view
from gathering.organiser.tallies import (
    ARRIVAL_STEPS,
    MINUTE,
    REGISTRATION_STEPS,
    SMALL_COUNT,
    Breakdown,
    TimeSeries,
    bucket_times,
    constituency_breakdown,
    limit_small_counts,
    ticket_breakdown,
)
from gathering.programme import queries as programme_queries
from gathering.programme.queries import GatheringRow
from gathering.registration import joining_queries

# --- values the pages show ---------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """One session's places by status, its door counts and capacity."""

    confirmed: int = 0
    offered: int = 0
    waitlisted: int = 0
    cancelled: int = 0
    arrived: int = 0
    inside: int = 0
    capacity: int | None = None
    # Online attendance (issue 20): places whose personal joining link was opened inside its
    # window, links opened from many devices, and people who came either way (each once).
    joined_online: int = 0
    shared_links: int = 0
    attended: int = 0

    @property
    def registered(self) -> int:
        return self.confirmed + self.offered + self.waitlisted

    @property
    def places_left(self) -> int | None:
        if self.capacity is None:
            return None
        return max(self.capacity - self.confirmed - self.offered, 0)


@dataclass(frozen=True)
class SessionLine:
    id: int
    title: str
    starts_local: dt.datetime
    ends_local: dt.datetime
    status: str  # draft | published | cancelled
    hosts: tuple[str, ...]
    counts: Counts
    may_manage: bool  # hosts/co-hosts (and admins): attendee list, export, message
    format: str = "in_person"  # in_person | online | hybrid


@dataclass(frozen=True)
class Totals:
    """The gathering's registrations by status and its door."""

    confirmed: int
    pending: int
    cancelled: int
    erased: int
    arrived: int  # people through any door
    inside: int  # inside now, by the gathering's own door (not a session's)
    joined_online: int = 0  # people who joined any session online by their own link


@dataclass(frozen=True)
class GatheringDashboard:
    slug: str
    title: str
    timezone: str
    as_of: dt.datetime
    totals: Totals
    sessions: tuple[SessionLine, ...]
    registrations: TimeSeries
    arrivals: TimeSeries
    ticket_types: Breakdown | None  # None: the gathering has no ticket types
    constituencies: Breakdown | None  # None: the gathering does not ask
    # Tickets admitted twice while offline (two stewards' phones without signal), issue 15.
    offline_conflicts: tuple[DoorConflict, ...] = ()


@dataclass(frozen=True)
class SessionDashboard:
    gathering_slug: str
    gathering_title: str
    timezone: str
    as_of: dt.datetime
    session: SessionLine
    registrations: TimeSeries
    arrivals: TimeSeries
    ticket_types: Breakdown | None
    constituencies: Breakdown | None
    may_see_gathering: bool  # the actor may open the whole gathering's dashboard
    is_limited: bool  # not a host of the session: small counts in breakdowns withheld


async def _breakdowns(
    conn: AsyncConnection, gathering_id: int, session_id: int | None, *, limited: bool = False
) -> tuple[Breakdown | None, Breakdown | None]:
    """Ticket types and constituencies; ``limited``: small counts withheld (module docstring)."""
    types = await queries.all_ticket_types(conn, gathering_id)
    tickets = ticket_breakdown(
        types, await queries.ticket_type_counts(conn, gathering_id, session_id)
    )
    constituencies = None
    if "constituency" in await queries.question_keys(conn, gathering_id):
        answers = await queries.constituency_answers(conn, gathering_id, session_id)
        constituencies = constituency_breakdown(
            answers, smallest_named=SMALL_COUNT if limited else 1
        )
    if limited:
        tickets = limit_small_counts(tickets) if tickets else None
        constituencies = limit_small_counts(constituencies) if constituencies else None
    return tickets, constituencies


# --- loading ------------------------------------------------------------------------------------


async def _gathering(conn: AsyncConnection, slug: str) -> GatheringRow:
    row = await programme_queries.gathering_row(conn, slug=slug)
    if row is None:
        raise NotFound(gettext(words.NO_GATHERING))
    return row


async def _session_lines(
    conn: AsyncConnection, actor: Actor, gathering: GatheringRow, only: int | None = None
) -> list[SessionLine]:
    zone = zoneinfo.ZoneInfo(gathering.timezone)
    places: dict[int, Counter[str]] = {}
    for session_id, status, count in await queries.place_counts(conn, gathering.id):
        places.setdefault(session_id, Counter())[status] = int(count)
    arrived = {sid: int(n) for sid, n in await queries.arrived_counts(conn, gathering.id)}
    inside = {sid: int(n) for sid, n in await queries.inside_counts(conn, gathering.id)}
    joins = await joining_queries.session_joins(conn, gathering.id)
    attended = await joining_queries.attended_counts(conn, gathering.id)
    formats = await joining_queries.session_formats(conn, gathering.id)
    hosts: dict[int, list[SessionHostName]] = {}
    for host in await queries.hosts_of_sessions(conn, gathering.id):
        hosts.setdefault(host.session_id, []).append(host)
    lines = []
    for row in await queries.sessions_of_gathering(conn, gathering.id):
        if only is not None and row.id != only:
            continue
        by_status = places.get(row.id, Counter())
        counts = Counts(
            confirmed=by_status["confirmed"],
            offered=by_status["offered"],
            waitlisted=by_status["waitlisted"],
            cancelled=by_status["cancelled"],
            arrived=arrived.get(row.id, 0),
            inside=inside.get(row.id, 0),
            capacity=row.capacity,
            joined_online=joins[row.id].joined if row.id in joins else 0,
            shared_links=joins[row.id].shared if row.id in joins else 0,
            attended=attended.get(row.id, 0),
        )
        mine = hosts.get(row.id, [])
        lines.append(
            SessionLine(
                id=row.id,
                title=row.title,
                starts_local=row.starts_at.astimezone(zone),
                ends_local=row.ends_at.astimezone(zone),
                status=row.status,
                hosts=tuple(h.name for h in mine),
                counts=counts,
                may_manage=can_manage_session(actor, [h.organisation_id for h in mine]),
                format=formats.get(row.id, "in_person"),
            )
        )
    return lines


def _now(timezone: str, now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now(dt.UTC)).astimezone(zoneinfo.ZoneInfo(timezone))


async def gathering_dashboard(
    db: Database, actor: Actor | None, slug: str, *, now: dt.datetime | None = None
) -> GatheringDashboard:
    """Counts for the whole gathering, for its host organisation's organisers and admins."""
    actor = require_actor(actor)

    async def _read(conn: AsyncConnection) -> GatheringDashboard:
        row = await _gathering(conn, slug)
        if not can_release(counts_view(actor), row.host_organisation_id):  # viewers too
            raise Forbidden(gettext(words.ONLY_GATHERING_HOST_DASHBOARD))
        by_status = {
            status: int(n) for status, n in await queries.registration_counts(conn, row.id)
        }
        inside = {sid: int(n) for sid, n in await queries.inside_counts(conn, row.id)}
        totals = Totals(
            confirmed=by_status.get("confirmed", 0),
            pending=by_status.get("pending", 0),
            cancelled=by_status.get("cancelled", 0),
            erased=by_status.get("anonymised", 0),
            arrived=await queries.arrived_anywhere(conn, row.id),
            inside=inside.get(None, 0),
            joined_online=await joining_queries.joined_anywhere(conn, row.id),
        )
        # A viewer (numbers only) is no host organiser: small counts are withheld from them.
        limited = not can_release(actor, row.host_organisation_id)
        tickets, constituencies = await _breakdowns(conn, row.id, None, limited=limited)
        return GatheringDashboard(
            slug=row.slug,
            title=row.title,
            timezone=row.timezone,
            as_of=_now(row.timezone, now),
            totals=totals,
            sessions=tuple(await _session_lines(conn, actor, row)),
            registrations=bucket_times(
                await queries.registration_times(conn, row.id), row.timezone, REGISTRATION_STEPS
            ),
            arrivals=bucket_times(
                await queries.first_arrivals(conn, row.id, None), row.timezone, ARRIVAL_STEPS
            ),
            ticket_types=tickets,
            constituencies=constituencies,
            offline_conflicts=tuple(await conflicts_of_gathering(conn, row.id)),
        )

    return await db.read(_read, offload=True)


async def session_dashboard(
    db: Database,
    actor: Actor | None,
    slug: str,
    session_id: int,
    *,
    now: dt.datetime | None = None,
) -> SessionDashboard:
    """Counts for one session, for its hosts and co-hosts, the gathering's host, and admins;
    co-hosts see its breakdowns with small counts withheld (see the module docstring)."""
    actor = require_actor(actor)

    async def _read(conn: AsyncConnection) -> SessionDashboard:
        row = await _gathering(conn, slug)
        session = await queries.session_row(conn, session_id) if 0 < session_id < 2**31 else None
        if session is None or session.gathering_id != row.id:
            raise NotFound(gettext(words.NO_SESSION))
        hosts = await queries.hosts_of_session(conn, session_id)
        viewing = counts_view(actor)  # viewers see the numbers too (issue 16)
        may_see_gathering = can_release(viewing, row.host_organisation_id)
        if not (
            can_manage_session(viewing, [h.organisation_id for h in hosts]) or may_see_gathering
        ):
            raise Forbidden(gettext(words.ONLY_HOSTS_SEE_NUMBERS))
        # Exact small counts only for those who organise for the session's host or the
        # gathering's host; a viewer's access (numbers only) is limited like a co-host's.
        hosts_it = any(
            h.role == "host" and h.organisation_id in actor.organisation_ids for h in hosts
        )
        is_limited = not (can_release(actor, row.host_organisation_id) or hosts_it)
        [line] = await _session_lines(conn, actor, row, only=session_id)
        # Arrivals from an hour before the start to the end, so early birds and the rush show.
        window = (session.starts_at - dt.timedelta(hours=1), session.ends_at - MINUTE)
        tickets, constituencies = await _breakdowns(conn, row.id, session_id, limited=is_limited)
        return SessionDashboard(
            gathering_slug=row.slug,
            gathering_title=row.title,
            timezone=row.timezone,
            as_of=_now(row.timezone, now),
            session=line,
            registrations=bucket_times(
                await queries.place_times(conn, session_id), row.timezone, REGISTRATION_STEPS
            ),
            arrivals=bucket_times(
                await queries.first_arrivals(conn, row.id, session_id),
                row.timezone,
                ARRIVAL_STEPS,
                around=window,
            ),
            ticket_types=tickets,
            constituencies=constituencies,
            may_see_gathering=may_see_gathering,
            is_limited=is_limited,
        )

    return await db.read(_read, offload=True)
