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
- audit details and throttle keys holding their names, addresses or codes, and every free text
  typed about its people (a search of them, a message's subject, an export's note: see
  ``scrubbing.FREE_TEXT_KEYS``), while counts and ids stay.

``preview`` says what a purge would erase (numbers only); ``purge`` does it, and is idempotent: a
second run finds nothing and reports zeros. Every replica may run it on its schedule; two at once
erase each row once. One gathering that cannot be purged does not stop the others
(``PurgeIncomplete`` names it once the rest are done).

A purge must not hold up a live door elsewhere. So the searching is done first, outside any write:
only the audit events and door answers of the gathering itself are read (chosen by SQL), and they
are decoded and searched in a worker thread, by set lookups whose cost does not grow with the
number of people (``scrubbing.Needles``). Then the rows found are rewritten by id in short write
units of at most ``rewrites.BATCH`` rows, each reading its rows again and deciding afresh; a last
short unit erases the registrations, mail and lists and catches what was written since the
search. Last, the old values are taken out of the database's files (``storage``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import traceback
import zoneinfo
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import audit as audit_queries
from gathering.core.clock import utc_now
from gathering.core.database import Database
from gathering.core.errors import GatheringError
from gathering.introductions.forgetting import forget_gathering_online
from gathering.mail.messages import KINDS as TEMPLATED_MAIL
from gathering.privacy import retention_queries as queries
from gathering.privacy import storage, words
from gathering.privacy.rewrites import rewrite_audit, rewrite_scans, scrub_audit, scrub_scans
from gathering.privacy.scrubbing import (
    FREE_TEXT_KEYS,
    AuditRule,
    Needles,
    audit_to_scrub,
    matching_throttles,
    scans_to_scrub,
)
from gathering.programme.speaker_notices import forget_after_purge as forget_speakers_after_purge

log = logging.getLogger(__name__)

# How long a purge tries to take the erased values out of the files before leaving the rest to
# housekeeping (on SQLite a reader may hold the log; on PostgreSQL an old snapshot or a lock).
PURGE_PATIENCE = {"sqlite": 0.5, "postgresql": 5.0}


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
        """What was erased, by kind (the keys of ``words.PURGE_WORDS``)."""
        values = asdict(self)
        return {k: v for k, v in values.items() if isinstance(v, int) and k != "gathering_id"}


def erase_from(ends_on: dt.date, retention_days: int) -> dt.date:
    """The first day (in the gathering's zone) on which its personal data is no longer kept."""
    return ends_on + dt.timedelta(days=retention_days + 1)


def erase_moment(ends_on: dt.date, retention_days: int, timezone: str) -> dt.datetime:
    """The instant a gathering's personal data becomes due for erasure."""
    local = dt.datetime.combine(
        erase_from(ends_on, retention_days), dt.time(0), zoneinfo.ZoneInfo(timezone)
    )
    return local.astimezone(dt.UTC)


def _is_due(row: queries.GatheringDue, now: dt.datetime) -> bool:
    return now >= erase_moment(row.ends_on, row.retention_days, row.timezone)


# --- one gathering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """What a purge of one gathering changes, found outside any write unit."""

    erasure: Erasure  # the numbers, as the preview reports them
    since: dt.datetime  # audit events older than the gathering and its people are not read
    rule: AuditRule = field(repr=False)
    addresses: frozenset[str] = field(repr=False)
    audit_ids: tuple[int, ...] = ()
    audit_seen: int = 0  # the newest of the gathering's audit events read
    scan_ids: tuple[int, ...] = ()
    scans_seen: int = 0
    nothing_new: bool = False  # purged before, and nothing added since


@dataclass(frozen=True)
class _Read:
    """What the purge of one gathering reads, before any searching."""

    row: queries.GatheringDue
    people: Sequence[queries.PersonalValues] = ()
    supporters: int = 0
    since: dt.datetime | None = None  # None: purged before, nothing new, nothing more read
    passes: frozenset[int] = frozenset()
    events: Sequence[queries.StoredAudit] = ()
    scans: Sequence[queries.StoredScan] = ()
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
        return _Plan(erasure, row.created_at, AuditRule(Needles()), frozenset(), nothing_new=True)
    # Every free text about the gathering's people goes, whoever it names (issue 14, item 14).
    rule = AuditRule(Needles.of(read.people), read.passes, FREE_TEXT_KEYS)
    addresses = frozenset(p.email for p in read.people)
    audit_ids = audit_to_scrub(read.events, rule)
    scan_ids = scans_to_scrub(read.scans)
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
        throttles=len(matching_throttles(read.throttle_keys, addresses)),
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


async def _finish(conn: AsyncConnection, plan: _Plan, now: dt.datetime, done: Erasure) -> Erasure:
    """The purge's last write unit: what was written since the search, then the registrations,
    mail, lists and throttles; ``done`` holds the counts of the batches before."""
    base = plan.erasure
    gathering_id = base.gathering_id
    row = await queries.gathering_for_retention(conn, gathering_id)
    if row is None:  # deleted meanwhile: nothing of it is left to erase
        return Erasure(gathering_id, base.slug, base.title, base.erase_from)
    # What was written since the search (a few rows at most) is searched here.
    newer = await queries.audit_of_gathering(
        conn, gathering_id, since=plan.since, after_id=plan.audit_seen
    )
    newer_audit = await scrub_audit(conn, newer, plan.rule)
    newer_scans = await queries.scans_naming_people(conn, gathering_id, after_id=plan.scans_seen)
    newer_scan_count = await scrub_scans(conn, newer_scans)
    throttles = matching_throttles(await queries.throttle_keys(conn), plan.addresses)
    await queries.delete_throttles(conn, throttles)
    supporters = await queries.delete_supporters_of_gathering(conn, gathering_id)
    await forget_gathering_online(conn, gathering_id)  # joins and CLP introductions (issue 20)
    # Mail before registrations: mail queued without a registration is found by their address.
    mails = await queries.scrub_mail_of_gathering(conn, gathering_id, TEMPLATED_MAIL)
    # Speakers' notices about it, and the address of speakers left only in purged gatherings.
    mails += await forget_speakers_after_purge(conn, gathering_id)
    registrations = await queries.anonymise_registrations(conn, gathering_id, now)
    erasure = Erasure(
        gathering_id,
        base.slug,
        base.title,
        base.erase_from,
        registrations=registrations,
        mails=mails,
        scans=done.scans + newer_scan_count,
        supporters=supporters,
        audit_events=done.audit_events + newer_audit,
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


async def _purge_gathering(db: Database, gathering_id: int, now: dt.datetime) -> Erasure | None:
    """Erase the personal data of one gathering if due; what was erased (None: not due)."""
    plan = await _plan(db, gathering_id, now)
    if plan is None or plan.nothing_new:
        return None if plan is None else plan.erasure
    base = plan.erasure
    done = Erasure(
        base.gathering_id,
        base.slug,
        base.title,
        base.erase_from,
        audit_events=await rewrite_audit(db, plan.audit_ids, plan.rule),
        scans=await rewrite_scans(db, plan.scan_ids),
    )

    async def _write(conn: AsyncConnection) -> Erasure:
        return await _finish(conn, plan, now, done)

    return await db.write(_write, offload=True)


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
    return await _each_due(db, now or utc_now(), _preview_gathering, "preview")


async def purge(db: Database, now: dt.datetime | None = None) -> list[Erasure]:
    """Erase the personal data of every due gathering (see the module's notes on how), then
    take the old values out of the database's files (``storage``; what cannot be done at once
    is logged and finished by housekeeping).

    Returns what was erased per due gathering (zeros when it had been purged already). Raises
    PurgeIncomplete, once every other gathering is done, if any could not be purged.
    """
    try:
        done = await _each_due(db, now or utc_now(), _purge_gathering, "purge")
    except PurgeIncomplete:
        # A failed gathering may have had part of its data erased already: reclaim that too.
        await _reclaim(db)
        raise
    if any(e.total for e in done):
        await _reclaim(db)
    return done


async def _reclaim(db: Database) -> None:
    engine = "sqlite" if db.is_sqlite else "postgresql"
    try:
        completed = await storage.complete(db, patience=PURGE_PATIENCE[engine])
    except GatheringError as error:
        log.warning("%s: %s", words.NOT_YET["refused"], error.message)
        return
    if not completed.done:
        log.warning(words.SQLITE_PURGE_WAITS if db.is_sqlite else words.POSTGRES_WAITS)
