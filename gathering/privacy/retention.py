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
- audit details and throttle keys holding their names, addresses or codes, and what was typed
  into a search of its people (the help desk's, an attendee list's filter).

``preview`` says what a purge would erase (numbers only); ``purge`` does it, and is idempotent: a
second run finds nothing and reports zeros. Every replica may run it on its schedule; two at once
erase each row once. One gathering that cannot be purged does not stop the others
(``PurgeIncomplete`` names it once the rest are done).

A purge must not hold up a live door elsewhere. So the searching is done first, outside any write:
only the audit events and door answers of the gathering itself are read (chosen by SQL), and they
are decoded and searched in a worker thread, by set lookups whose cost does not grow with the
number of people (``Needles``). Then the rows found are rewritten by id in short write units of
at most ``BATCH`` rows, each reading its rows again and deciding afresh; a last short unit erases
the registrations, mail and lists and catches what was written since the search. Nothing is left
in the SQLite files: every connection zeroes what it deletes (``secure_delete``), and the log is
emptied by a checkpoint that never waits (``queries.retention.reclaim``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import traceback
import zoneinfo
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import audit as audit_queries
from gathering.core.database import Database
from gathering.core.errors import GatheringError
from gathering.mail.messages import KINDS as TEMPLATED_MAIL
from gathering.privacy import retention_queries as queries

log = logging.getLogger(__name__)

T = TypeVar("T")

ERASED = "[erased]"
# What a stored door answer may keep: the outcome, never who it was about.
SCAN_KEPT = ("status", "reason", "kind", "session_id", "at", "first_at", "door")
SCAN_PERSONAL = ("name", "ticket_type", "access_needs")
MIN_NEEDLE = 4
# Detail keys holding what an organiser or steward typed to find people (attendee list filter,
# help-desk search). The service no longer logs them; older events still hold them.
SEARCH_KEYS = frozenset({"query", "q", "search"})
# Rows rewritten per write unit: each unit stays a few milliseconds long, so a door scan waiting
# for SQLite's one writer waits no longer than that.
BATCH = 500
_WORD = re.compile(r"\w+")


class PurgeIncomplete(GatheringError):
    """Some due gatherings could not be purged (the log says why); the others were."""

    code = "purge_incomplete"

    def __init__(self, erasures: list[Erasure], failed: list[str], *, verb: str) -> None:
        super().__init__(
            f"the retention purge could not {verb} {', '.join(failed)} (the log says why); "
            "every other due gathering was done"
        )
        self.erasures = erasures
        self.failed = failed


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


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.casefold()))


@dataclass(frozen=True)
class Needles:
    """The personal values of some registrations, ready to be looked for in free text.

    A string holds a value if it is the value (in any case, outer spaces aside) or, for values
    of MIN_NEEDLE characters or more, if the value's words come one after another among the
    string's words: "Sent to Sam Okafor <sam.okafor@example.org>" holds both "Sam Okafor" and
    the address. A very short name ("Al") is only found where it is the whole value, or every
    string with those letters in it would go. Found by set lookups, so searching for ten thousand
    people costs no more than searching for one.
    """

    whole: frozenset[str] = frozenset()
    runs: frozenset[tuple[str, ...]] = frozenset()
    lengths: tuple[int, ...] = ()  # how many words the runs have

    @classmethod
    def of(cls, rows: Iterable[Any]) -> Needles:
        whole = personal_strings(rows)
        runs = frozenset(
            words for value in whole if len(value) >= MIN_NEEDLE and (words := _words(value))
        )
        return cls(whole, runs, tuple(sorted({len(run) for run in runs})))

    def held_by(self, text: str) -> bool:
        if text.strip().casefold() in self.whole:
            return True
        if not self.runs:
            return False
        words = _words(text)
        return any(
            words[start : start + size] in self.runs
            for size in self.lengths
            for start in range(len(words) - size + 1)
        )


def scrubbed(
    value: Any,
    needles: Needles,
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
            k: scrubbed(
                v,
                needles,
                every_string=every_string or (searches and k in SEARCH_KEYS),
                searches=searches,
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrubbed(v, needles, every_string=every_string, searches=searches) for v in value]
    if isinstance(value, str) and value not in ("", ERASED):
        return ERASED if every_string or needles.held_by(value) else value
    return value


@dataclass(frozen=True)
class _AuditRule:
    """How the details of a gathering's audit events are scrubbed: personal values found, every
    search typed, and (in a purge) every string its steward passes logged, all of which was
    about its attendees."""

    needles: Needles
    steward_passes: frozenset[int] = frozenset()

    def scrubbed(self, actor_kind: str, actor_id: int | None, detail: Any) -> Any:
        every = actor_kind == "steward_pass" and actor_id in self.steward_passes
        return scrubbed(detail, self.needles, every_string=every, searches=True)


def scan_kept(response: Any) -> dict[str, Any] | None:
    """A stored door answer without who it was about; None if there is nothing to erase."""
    if not isinstance(response, dict) or all(response.get(k) is None for k in SCAN_PERSONAL):
        return None
    return {k: v for k, v in response.items() if k in SCAN_KEPT}


def _matching_throttles(keys: Iterable[str], addresses: Iterable[str]) -> list[str]:
    """Throttle keys counting attempts for one of these addresses (``reset:<address>``)."""
    wanted = {a.strip().casefold() for a in addresses if a}
    return [
        key
        for key in keys
        if key.casefold() in wanted or key.partition(":")[2].casefold() in wanted
    ]


def _audit_to_scrub(rows: Sequence[Any], rule: _AuditRule) -> tuple[int, ...]:
    """Ids of the audit events (read with their detail as text) whose details the rule changes.
    CPU work, for a worker thread."""
    return tuple(
        event_id
        for event_id, actor_kind, actor_id, detail in _events(rows)
        if rule.scrubbed(actor_kind, actor_id, detail) != detail
    )


def _scans_to_scrub(rows: Sequence[Any]) -> tuple[int, ...]:
    return tuple(scan_id for scan_id, response in _scans(rows) if scan_kept(response) is not None)


def _batches(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


# (id, actor_kind, actor_id, detail) of an audit event; (id, response) of a scan.
_Event = tuple[int, str, int | None, Any]
_Scan = tuple[int, Any]


async def _scrub_audit(conn: AsyncConnection, events: Iterable[_Event], rule: _AuditRule) -> int:
    """Rewrite the details of these audit events that the rule changes; how many changed."""
    changes = []
    for event_id, actor_kind, actor_id, detail in events:
        new = rule.scrubbed(actor_kind, actor_id, detail)
        if new != detail:
            changes.append((event_id, new))
    await queries.set_audit_details(conn, changes)
    return len(changes)


async def _scrub_scans(conn: AsyncConnection, scans: Iterable[_Scan]) -> int:
    changes = [(i, kept) for i, response in scans if (kept := scan_kept(response)) is not None]
    await queries.set_scan_responses(conn, changes)
    return len(changes)


def _events(rows: Iterable[Any]) -> list[_Event]:
    """Audit events read with their detail as JSON text, decoded."""
    return [(e.id, e.actor_kind, e.actor_id, json.loads(e.detail_json)) for e in rows]


def _scans(rows: Iterable[Any]) -> list[_Scan]:
    return [(s.id, json.loads(s.response_json)) for s in rows]


async def _rewrite_audit(db: Database, ids: Sequence[int], rule: _AuditRule) -> int:
    """Scrub these audit events in short write units; each reads its rows again."""
    changed = 0
    for batch in _batches(ids):

        async def _write(conn: AsyncConnection, batch: Sequence[int] = batch) -> int:
            return await _scrub_audit(conn, _events(await queries.audit_by_ids(conn, batch)), rule)

        changed += await db.write(_write)
    return changed


async def _rewrite_scans(db: Database, ids: Sequence[int]) -> int:
    changed = 0
    for batch in _batches(ids):

        async def _write(conn: AsyncConnection, batch: Sequence[int] = batch) -> int:
            return await _scrub_scans(conn, _scans(await queries.scans_by_ids(conn, batch)))

        changed += await db.write(_write)
    return changed


# --- one gathering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """What a purge of one gathering changes, found outside any write unit."""

    erasure: Erasure  # the numbers, as the preview reports them
    since: dt.datetime  # audit events older than the gathering and its people are not read
    rule: _AuditRule = field(repr=False)
    addresses: frozenset[str] = field(repr=False)
    audit_ids: tuple[int, ...] = ()
    audit_seen: int = 0  # the newest of the gathering's audit events read
    scan_ids: tuple[int, ...] = ()
    scans_seen: int = 0
    nothing_new: bool = False  # purged before, and nothing added since


@dataclass(frozen=True)
class _Read:
    """What the purge of one gathering reads, before any searching."""

    row: Any
    people: Sequence[Any] = ()
    supporters: int = 0
    since: dt.datetime | None = None  # None: purged before, nothing new, nothing more read
    passes: frozenset[int] = frozenset()
    events: Sequence[Any] = ()
    scans: Sequence[Any] = ()
    mails: int = 0
    throttle_keys: Sequence[str] = ()


async def _read_gathering(
    conn: AsyncConnection, gathering_id: int, now: dt.datetime
) -> _Read | None:
    row = await queries.gathering_for_retention(conn, gathering_id)
    if row is None or not _is_due(row, now):
        return None
    people = await queries.live_personal_values(conn, gathering_id)
    supporters = await queries.count_supporters_of_gathering(conn, gathering_id)
    if row.anonymised_at is not None and not people and not supporters:
        return _Read(row)  # skip the reading of its logs
    first = await queries.first_registered_at(conn, gathering_id)
    since = min(row.created_at, first) if first else row.created_at
    return _Read(
        row,
        people,
        supporters,
        since,
        await queries.pass_ids_of_gathering(conn, gathering_id),
        await queries.audit_of_gathering(conn, gathering_id, since=since),
        await queries.scans_naming_people(conn, gathering_id),
        await queries.count_mail_of_gathering(conn, gathering_id, TEMPLATED_MAIL),
        await queries.throttle_keys(conn),
    )


def _search(read: _Read) -> _Plan:
    """Decide what the purge changes (CPU work: ten thousand people's values against tens of
    thousands of details, for a worker thread)."""
    row = read.row
    erasure = Erasure(row.id, row.slug, row.title, erase_from(row.ends_on, row.retention_days))
    if read.since is None:
        return _Plan(erasure, row.created_at, _AuditRule(Needles()), frozenset(), nothing_new=True)
    rule = _AuditRule(Needles.of(read.people), read.passes)
    addresses = frozenset(p.email for p in read.people)
    audit_ids = _audit_to_scrub(read.events, rule)
    scan_ids = _scans_to_scrub(read.scans)
    erasure = Erasure(
        row.id,
        row.slug,
        row.title,
        erasure.erase_from,
        registrations=len(read.people),
        mails=read.mails,
        scans=len(scan_ids),
        supporters=read.supporters,
        audit_events=len(audit_ids),
        throttles=len(_matching_throttles(read.throttle_keys, addresses)),
    )
    return _Plan(
        erasure,
        read.since,
        rule,
        addresses,
        audit_ids,
        max((e.id for e in read.events), default=0),
        scan_ids,
        max((s.id for s in read.scans), default=0),
    )


async def _plan(db: Database, gathering_id: int, now: dt.datetime) -> _Plan | None:
    """Read and search what a purge of the gathering changes; None if it is not due (or gone)."""

    async def _read(conn: AsyncConnection) -> _Read | None:
        return await _read_gathering(conn, gathering_id, now)

    read = await db.read(_read, offload=True)
    return None if read is None else await asyncio.to_thread(_search, read)


async def _purge_gathering(db: Database, gathering_id: int, now: dt.datetime) -> Erasure | None:
    """Erase the personal data of one gathering if due; what was erased (None: not due)."""
    plan = await _plan(db, gathering_id, now)
    if plan is None or plan.nothing_new:
        return None if plan is None else plan.erasure
    audit_events = await _rewrite_audit(db, plan.audit_ids, plan.rule)
    scans = await _rewrite_scans(db, plan.scan_ids)

    async def _finish(conn: AsyncConnection) -> Erasure:
        row = await queries.gathering_for_retention(conn, gathering_id)
        base = plan.erasure
        if row is None:  # deleted meanwhile: nothing of it is left to erase
            return Erasure(base.gathering_id, base.slug, base.title, base.erase_from)
        # What was written since the search (a few rows at most) is searched here.
        newer = await queries.audit_of_gathering(
            conn, gathering_id, since=plan.since, after_id=plan.audit_seen
        )
        newer_audit = await _scrub_audit(conn, _events(newer), plan.rule)
        newer_scans = await queries.scans_naming_people(
            conn, gathering_id, after_id=plan.scans_seen
        )
        newer_scan_count = await _scrub_scans(conn, _scans(newer_scans))
        throttles = _matching_throttles(await queries.throttle_keys(conn), plan.addresses)
        await queries.delete_throttles(conn, throttles)
        supporters = await queries.delete_supporters_of_gathering(conn, gathering_id)
        # Mail before registrations: mail queued without a registration is found by their address.
        mails = await queries.scrub_mail_of_gathering(conn, gathering_id, TEMPLATED_MAIL)
        registrations = await queries.anonymise_registrations(conn, gathering_id, now)
        erasure = Erasure(
            gathering_id,
            base.slug,
            base.title,
            base.erase_from,
            registrations=registrations,
            mails=mails,
            scans=scans + newer_scan_count,
            supporters=supporters,
            audit_events=audit_events + newer_audit,
            throttles=len(throttles),
        )
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

    return await db.write(_finish, offload=True)


def _where(error: BaseException) -> str:
    """Where an error was raised, for a log line that must not carry its message (which may
    quote a value)."""
    frames = traceback.extract_tb(error.__traceback__)
    return f"{frames[-1].name} line {frames[-1].lineno}" if frames else "?"


async def _each_due(
    db: Database,
    now: dt.datetime,
    work: Callable[[Database, int, dt.datetime], Awaitable[Erasure | None]],
    verb: str,
) -> list[Erasure]:
    """``work`` for every gathering, in the order they end; one that fails is logged (by slug
    and the kind of error, no personal value) and the rest go on."""
    done: list[Erasure] = []
    failed: list[str] = []
    for row in await db.read(queries.gatherings_for_retention):
        try:
            erasure = await work(db, row.id, now)
        except Exception as error:  # one bad gathering must not keep the others' data forever
            log.error(
                "retention purge: could not %s %s: %s in %s",
                verb,
                row.slug,
                type(error).__name__,
                _where(error),
            )
            failed.append(row.slug)
            continue
        if erasure is not None:
            done.append(erasure)
    if failed:
        raise PurgeIncomplete(done, failed, verb=verb)
    return done


async def _preview_gathering(db: Database, gathering_id: int, now: dt.datetime) -> Erasure | None:
    plan = await _plan(db, gathering_id, now)
    return None if plan is None else plan.erasure


async def preview(db: Database, now: dt.datetime | None = None) -> list[Erasure]:
    """What a purge at ``now`` would erase, per due gathering (numbers only, nothing changes)."""
    return await _each_due(db, now or dt.datetime.now(dt.UTC), _preview_gathering, "preview")


async def purge(db: Database, now: dt.datetime | None = None) -> list[Erasure]:
    """Erase the personal data of every due gathering (see the module's notes on how).

    Returns what was erased per due gathering (zeros when it had been purged already). Raises
    PurgeIncomplete, once every other gathering is done, if any could not be purged.
    """
    try:
        done = await _each_due(db, now or dt.datetime.now(dt.UTC), _purge_gathering, "purge")
    except PurgeIncomplete:
        # A failed gathering may have had part of its data erased already: reclaim that too.
        await _reclaim(db)
        raise
    if any(e.total for e in done):
        await _reclaim(db)
    return done


async def _reclaim(db: Database) -> None:
    if not await queries.reclaim(db, vacuum=True):
        log.warning("the SQLite log could not be emptied after the purge; readers were busy")


# --- one person ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Traces:
    """What was found of a person in their gathering's audit log before their erasure."""

    rule: _AuditRule = field(repr=False)
    since: dt.datetime
    seen: int  # the newest of the gathering's audit events searched


async def scrub_audit_of(db: Database, person: Any) -> Traces:
    """Before a person's erasure (``person`` is their registration row): scrub the details of
    their gathering's audit events since they registered that hold their name, address, code or
    link secrets, and every search typed there, which may be part of their name and cannot be
    told apart from searches for others. Searched outside any write, rewritten in short units."""
    since = person.created_at

    async def _read(conn: AsyncConnection) -> Sequence[Any]:
        return await queries.audit_of_gathering(conn, person.gathering_id, since=since)

    events = await db.read(_read, offload=True)
    rule = _AuditRule(Needles.of([person]))
    ids = await asyncio.to_thread(_audit_to_scrub, events, rule)
    await _rewrite_audit(db, ids, rule)
    return Traces(rule, since, max((e.id for e in events), default=0))


async def forget_person(conn: AsyncConnection, person: Any, traces: Traces) -> None:
    """Within an erasure's write unit, before the registration's own values are blanked: the
    traces of ``person`` (a registration row) outside their registration and linked mail, and
    the audit events written since ``scrub_audit_of`` searched."""
    if person.name:
        # A door answer for someone already inside records no check-in, only their name.
        found = await queries.scans_naming_people(conn, person.gathering_id, name=person.name)
        await _scrub_scans(conn, _scans(found))
    await queries.delete_supporter_address(conn, person.gathering_id, person.email)
    await queries.scrub_unlinked_mail_to(conn, person.email, TEMPLATED_MAIL)
    keys = _matching_throttles(await queries.throttle_keys(conn), [person.email])
    await queries.delete_throttles(conn, keys)
    newer = await queries.audit_of_gathering(
        conn, person.gathering_id, since=traces.since, after_id=traces.seen
    )
    await _scrub_audit(conn, _events(newer), traces.rule)


async def reclaim_after_erasure(db: Database) -> None:
    """Empty SQLite's log after one person's erasure, if it can be done without waiting."""
    if not await queries.reclaim(db, vacuum=False):
        log.warning("the SQLite log could not be emptied after an erasure; readers were busy")
