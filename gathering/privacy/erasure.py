"""One person's erasure from their manage link: their traces outside their own registration (the
registration rules blank the registration itself, in the same write unit).

The order, as ``registration.rules.erase`` calls it: ``scrub_audit_of`` (searched outside any
write, rewritten in short units), then within the erasure's unit ``forget_person``, then
``reclaim_after_erasure`` once it has committed (the old values out of the files: ``storage``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.core.errors import GatheringError
from gathering.introductions.forgetting import forget_person_online
from gathering.mail.messages import KINDS as TEMPLATED_MAIL
from gathering.privacy import retention_queries as queries
from gathering.privacy import storage, words
from gathering.privacy.rewrites import rewrite_audit, scrub_audit, scrub_scans
from gathering.privacy.scrubbing import AuditRule, Needles, audit_to_scrub, matching_throttles

log = logging.getLogger(__name__)

# How long an erasure tries to empty SQLite's log before leaving it to housekeeping (the person
# waits for this; a reader still using the log is the only reason it takes long).
ERASURE_PATIENCE = 0.5


class Person(Protocol):
    """A registration row as the registration rules read it (the fields erasure needs)."""

    @property
    def id(self) -> int: ...
    @property
    def gathering_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def ticket_code(self) -> str | None: ...
    @property
    def manage_key(self) -> str | None: ...
    @property
    def feed_key(self) -> str | None: ...
    @property
    def created_at(self) -> dt.datetime: ...


def _values(person: Person) -> queries.PersonalValues:
    return queries.PersonalValues(
        person.id,
        person.gathering_id,
        person.name,
        person.email,
        person.ticket_code,
        person.manage_key,
        person.feed_key,
        person.created_at,
    )


@dataclass(frozen=True)
class Traces:
    """What was found of a person in their gathering's audit log before their erasure."""

    rule: AuditRule = field(repr=False)
    since: dt.datetime
    seen: int  # the newest of the gathering's audit events searched


async def scrub_audit_of(db: Database, person: Person) -> Traces:
    """Before a person's erasure: scrub the details of their gathering's audit events since they
    registered that hold their name, address, code or link secrets, and every search typed
    there, which may be part of their name and cannot be told apart from searches for others.
    Searched outside any write, rewritten in short units."""
    values = _values(person)
    since = values.created_at

    async def _read(conn: AsyncConnection) -> list[queries.StoredAudit]:
        return await queries.audit_of_gathering(conn, values.gathering_id, since=since)

    events = await db.read(_read, offload=True)
    rule = AuditRule(Needles.of([values]))
    ids = await asyncio.to_thread(audit_to_scrub, events, rule)
    await rewrite_audit(db, ids, rule)
    return Traces(rule, since, max((e.id for e in events), default=0))


async def forget_person(conn: AsyncConnection, person: Person, traces: Traces) -> None:
    """Within an erasure's write unit, before the registration's own values are blanked: the
    traces of ``person`` outside their registration and linked mail, and the audit events
    written since ``scrub_audit_of`` searched."""
    values = _values(person)
    if values.name:
        # A door answer for someone already inside records no check-in, only their name.
        found = await queries.scans_naming_people(conn, values.gathering_id, name=values.name)
        await scrub_scans(conn, found)
    await queries.delete_supporter_address(conn, values.gathering_id, values.email)
    await queries.scrub_unlinked_mail_to(conn, values.email, TEMPLATED_MAIL)
    await forget_person_online(conn, values.id, values.email)  # joins, introductions (issue 20)
    keys = matching_throttles(await queries.throttle_keys(conn), [values.email])
    await queries.delete_throttles(conn, keys)
    newer = await queries.audit_of_gathering(
        conn, values.gathering_id, since=traces.since, after_id=traces.seen
    )
    await scrub_audit(conn, newer, traces.rule)


async def reclaim_after_erasure(db: Database) -> storage.Completion:
    """After an erasure has committed: on SQLite, empty the log if that can be done within a
    moment; on PostgreSQL the rewrite of the files (which takes exclusive locks) is left to
    housekeeping, which runs it within a minute. What is left is logged, never raised: the
    erasure itself stands."""
    if not db.is_sqlite:
        return storage.Completion(False, "scheduled")
    try:
        completed = await storage.complete(db, patience=ERASURE_PATIENCE)
    except GatheringError as error:
        log.warning("%s: %s", words.NOT_YET["refused"], error.message)
        return storage.Completion(False, "refused")
    if not completed.done:
        log.warning(words.SQLITE_ERASURE_WAITS)
    return completed
