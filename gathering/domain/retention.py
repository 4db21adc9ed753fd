"""Retention: a gathering's personal data is anonymised a set number of days after it ends.

A gathering is *due* from local midnight (in its own time zone) at the start of the day after
``ends_on + retention_days``: with the default 30 days, a gathering ending on 25 September has its
personal data erased from 26 October. Erased then:

- every registration's name, email, answers, ticket code and link secrets (its status stays, so
  the numbers of confirmed, cancelled and checked-in people, places and check-in times remain
  for statistics);
- mail about those people: unsent messages are dropped, sent ones kept only as a count;
- names, ticket types and access needs in the door's stored scan answers;
- the supporters lists of the gathering's sessions;
- audit details and throttle keys holding their names, addresses or codes, and what stewards
  typed into the help-desk search.

``preview`` says what a purge would erase (numbers only); ``purge`` does it, one write unit per
gathering, and is idempotent: a second run finds nothing and reports zeros. Every replica may run
it on its schedule; two at once erase each row once. Afterwards the SQLite file is vacuumed and
its log emptied so the old values are not left in free pages (``queries.retention.reclaim``).
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.db.database import Database
from gathering.db.queries import auth as audit_queries
from gathering.db.queries import retention as queries
from gathering.domain.mail import KINDS as TEMPLATED_MAIL

log = logging.getLogger(__name__)

ERASED = "[erased]"
# What a stored door answer may keep: the outcome, never who it was about.
SCAN_KEPT = ("status", "reason", "kind", "session_id", "at", "first_at", "door")
SCAN_PERSONAL = ("name", "ticket_type", "access_needs")
MIN_NEEDLE = 4
# Detail keys holding what an organiser or steward typed to find people (attendee list filter,
# help-desk search).
SEARCH_KEYS = frozenset({"query", "q", "search"})


@dataclass(frozen=True)
class Erasure:
    """What a purge erased (or, previewed, would erase) for one gathering: numbers, no names."""

    gathering_id: int
    slug: str
    title: str
    erase_from: dt.date  # the first local day on which its personal data is erased
    registrations: int = 0
    mails: int = 0
    scans: int = 0
    supporters: int = 0
    audit_events: int = 0
    throttles: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts().values())

    def counts(self) -> dict[str, int]:
        values = asdict(self)
        return {k: v for k, v in values.items() if isinstance(v, int) and k != "gathering_id"}


def erase_from(ends_on: dt.date, retention_days: int) -> dt.date:
    """The first day (in the gathering's zone) on which its personal data is no longer kept."""
    return ends_on + dt.timedelta(days=retention_days + 1)


def erase_moment(ends_on: dt.date, retention_days: int, timezone: str) -> dt.datetime:
    local = dt.datetime.combine(
        erase_from(ends_on, retention_days), dt.time(0), zoneinfo.ZoneInfo(timezone)
    )
    return local.astimezone(dt.UTC)


def _is_due(row: Any, now: dt.datetime) -> bool:
    return now >= erase_moment(row.ends_on, row.retention_days, row.timezone)


# --- scrubbing values -----------------------------------------------------------------------------


def personal_strings(rows: Iterable[Any]) -> frozenset[str]:
    """Every personal value of these registrations worth searching for: names, addresses,
    ticket codes and link secrets (lower-cased, so an address typed in capitals matches too)."""
    found: set[str] = set()
    for row in rows:
        for value in (row.name, row.email, row.ticket_code, row.manage_key, row.feed_key):
            if isinstance(value, str) and value.strip():
                found.add(value.strip().casefold())
    return frozenset(found)


def scrubbed(
    value: Any,
    needles: frozenset[str],
    *,
    every_string: bool = False,
    searches: bool = False,
) -> Any:
    """``value`` (plain JSON) with each string holding a personal value replaced by [erased];
    with ``every_string``, every string at all; with ``searches``, what was typed into a search
    (under a key in SEARCH_KEYS), which may be part of someone's name. Numbers and booleans stay
    for statistics."""
    if isinstance(value, dict):
        return {
            k: scrubbed(v, needles, every_string=every_string or (searches and k in SEARCH_KEYS))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrubbed(v, needles, every_string=every_string) for v in value]
    if isinstance(value, str) and value and value != ERASED:
        lowered = value.casefold()
        if every_string or any(_holds(lowered, needle) for needle in needles):
            return ERASED
    return value


def _holds(text: str, needle: str) -> bool:
    # A very short name ("Al") is only erased where it is the whole value, or every log line
    # with those letters in it would go.
    return text == needle or (len(needle) >= MIN_NEEDLE and needle in text)


def scan_kept(response: Any) -> dict[str, Any] | None:
    """A stored door answer without who it was about; None if there is nothing to erase."""
    if not isinstance(response, dict) or all(response.get(k) is None for k in SCAN_PERSONAL):
        return None
    return {k: v for k, v in response.items() if k in SCAN_KEPT}


def _matching_throttles(keys: Iterable[str], addresses: Iterable[str]) -> list[str]:
    wanted = [a.casefold() for a in addresses if a]
    return [key for key in keys if any(a in key.casefold() for a in wanted)]


# --- one gathering ------------------------------------------------------------------------------


async def _erase_gathering(
    conn: AsyncConnection, row: Any, now: dt.datetime, *, apply: bool
) -> Erasure:
    """Count (and with ``apply``, erase) the personal data of one due gathering."""
    gathering_id = row.id
    base = Erasure(gathering_id, row.slug, row.title, erase_from(row.ends_on, row.retention_days))
    people = await queries.live_personal_values(conn, gathering_id)
    supporters = await queries.count_supporters_of_gathering(conn, gathering_id)
    if row.anonymised_at is not None and not people and not supporters:
        return base  # purged before and nothing new since: skip the scans of the logs
    if apply:
        await queries.secure_delete(conn)
    needles = personal_strings(people)
    addresses = [p.email for p in people]

    throttles = _matching_throttles(await queries.throttle_keys(conn), addresses)
    pass_ids = await queries.pass_ids_of_gathering(conn, gathering_id)
    session_ids = await queries.session_ids_of_gathering(conn, gathering_id)
    audit_changes = []
    for event in await queries.audit_details(conn):
        # Everything a steward of this gathering logged is about its attendees; searches about
        # the gathering or its sessions may hold part of someone's name.
        every = event.actor_kind == "steward_pass" and event.actor_id in pass_ids
        about = (event.subject_kind == "gathering" and event.subject_id == gathering_id) or (
            event.subject_kind == "session" and event.subject_id in session_ids
        )
        if not (needles or every or about):
            continue
        detail = scrubbed(event.detail, needles, every_string=every, searches=about)
        if detail != event.detail:
            audit_changes.append((event.id, detail))
    scan_changes = []
    for found in await queries.scans_of_gathering(conn, gathering_id):
        kept = scan_kept(found.response)
        if kept is not None:
            scan_changes.append((found.id, kept))
    mails = await queries.count_mail_of_gathering(conn, gathering_id, TEMPLATED_MAIL)

    erasure = Erasure(
        gathering_id,
        row.slug,
        row.title,
        base.erase_from,
        registrations=len(people),
        mails=mails,
        scans=len(scan_changes),
        supporters=supporters,
        audit_events=len(audit_changes),
        throttles=len(throttles),
    )
    if not apply:
        return erasure
    await queries.delete_throttles(conn, throttles)
    for event_id, detail in audit_changes:
        await queries.set_audit_detail(conn, event_id, detail)
    for scan_id, kept in scan_changes:
        await queries.set_scan_response(conn, scan_id, kept)
    await queries.delete_supporters_of_gathering(conn, gathering_id)
    # Mail before registrations: mail queued without a registration is found by their address.
    await queries.scrub_mail_of_gathering(conn, gathering_id, TEMPLATED_MAIL)
    await queries.anonymise_registrations(conn, gathering_id, now)
    if erasure.total or row.anonymised_at is None:
        await queries.mark_gathering_anonymised(conn, gathering_id, now)
        await audit_queries.insert_audit_event(
            conn,
            now=now,
            actor_kind="system",
            actor_id=None,
            action="retention_purge",
            subject_kind="gathering",
            subject_id=gathering_id,
            detail=erasure.counts(),
        )
    return erasure


async def preview(db: Database, now: dt.datetime | None = None) -> list[Erasure]:
    """What a purge at ``now`` would erase, per due gathering (numbers only, nothing changes)."""
    moment = now or dt.datetime.now(dt.UTC)

    async def _read(conn: AsyncConnection) -> list[Erasure]:
        due = [r for r in await queries.gatherings_for_retention(conn) if _is_due(r, moment)]
        return [await _erase_gathering(conn, r, moment, apply=False) for r in due]

    return await db.read(_read)


async def purge(db: Database, now: dt.datetime | None = None) -> list[Erasure]:
    """Erase the personal data of every due gathering; one write unit per gathering.

    Returns what was erased per due gathering (zeros when it had been purged already).
    """
    moment = now or dt.datetime.now(dt.UTC)
    due = [r.id for r in await db.read(queries.gatherings_for_retention) if _is_due(r, moment)]
    done = []
    for gathering_id in due:

        async def _write(conn: AsyncConnection, gathering_id: int = gathering_id) -> Erasure:
            # Read again inside the unit: another replica may have purged it meanwhile.
            [row] = [
                r for r in await queries.gatherings_for_retention(conn) if r.id == gathering_id
            ]
            return await _erase_gathering(conn, row, moment, apply=True)

        done.append(await db.write(_write))
    if any(e.total for e in done) and not await queries.reclaim(db, vacuum=True):
        log.warning("the SQLite log could not be emptied after the purge; readers were busy")
    return done


# --- one person ---------------------------------------------------------------------------------


async def forget_person(conn: AsyncConnection, person: Any) -> None:
    """Within an erasure's write unit, before the registration's own values are blanked: the
    traces of ``person`` (a registration row) outside their registration and linked mail."""
    await queries.secure_delete(conn)
    needles = personal_strings([person])
    if person.name:
        # A door answer for someone already inside records no check-in, only their name.
        for found in await queries.scans_of_gathering(conn, person.gathering_id):
            response = found.response
            if isinstance(response, dict) and response.get("name") == person.name:
                kept = scan_kept(response)
                if kept is not None:
                    await queries.set_scan_response(conn, found.id, kept)
    await queries.delete_supporter_address(conn, person.gathering_id, person.email)
    await queries.scrub_unlinked_mail_to(conn, person.email, TEMPLATED_MAIL)
    keys = _matching_throttles(await queries.throttle_keys(conn), [person.email])
    await queries.delete_throttles(conn, keys)
    for event in await queries.audit_details(conn, since=person.created_at):
        detail = scrubbed(event.detail, needles)
        if detail != event.detail:
            await queries.set_audit_detail(conn, event.id, detail)


async def reclaim_after_erasure(db: Database) -> None:
    """Empty SQLite's log after one person's erasure (a full VACUUM waits for the purge)."""
    if not await queries.reclaim(db, vacuum=False):
        log.warning("the SQLite log could not be emptied after an erasure; readers were busy")
