"""CLP introductions, double-blind (issue 20).

People who ticked "put me in touch with others from my constituency" and gave the same
constituency (``matching.constituency_key``) at a gathering are introduced by email once, after
the gathering, at a time the host organisation's organisers choose or when they press "send
now": one mail per person naming the others of their CLP who also opted in, and nothing about
anyone who did not. Someone alone in their CLP gets a mail saying so, with the contact the
organisers set for people in that position.

Double-blind: no page, export, API, audit row or log says who matched whom. Organisers see
counts only (people opted in, CLPs with two or more, CLPs with one). The network admin's outbox
view seals these mails (``mail.messages.SEALED_KINDS``), and once a mail has gone its copy in
the outbox is emptied (``seal_sent``). A person can withdraw from their manage link until the
round is sent. Sending is claimed by one conditional UPDATE in the unit that queues the mail, so
it happens once whatever runs it (housekeeping on several replicas, or a double click).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.audit import insert_audit_event
from gathering.core.database import Database
from gathering.core.errors import Forbidden, InvalidInput, NotFound
from gathering.core.i18n import gettext
from gathering.core.permissions import Actor, can_release, require_actor
from gathering.introductions import queries, words
from gathering.introductions.matching import group_by_constituency
from gathering.mail import messages as mail
from gathering.registration.manage import registration_for_token
from gathering.registration.tokens import Links

MAX_CONTACT = 300


@dataclass(frozen=True)
class Overview:
    """What organisers see: counts, never names or constituencies."""

    slug: str
    title: str
    timezone: str
    opted_in: int  # people who may be introduced now (or were, once sent)
    groups: int  # CLPs with two or more people opted in
    singles: int  # CLPs with one
    send_at: dt.datetime | None
    single_contact: str
    sent_at: dt.datetime | None
    sendable_from: dt.datetime  # the start of the gathering's last day

    def local(self, moment: dt.datetime | None) -> str:
        """``moment`` as the form shows it (``2027-09-30T18:00`` in the gathering's zone)."""
        if moment is None:
            return ""
        return moment.astimezone(zoneinfo.ZoneInfo(self.timezone)).strftime("%Y-%m-%dT%H:%M")


def sendable_from(facts: queries.GatheringFacts) -> dt.datetime:
    """Introductions go after the gathering: from local midnight at the start of its last day."""
    local = dt.datetime.combine(facts.ends_on, dt.time(0), zoneinfo.ZoneInfo(facts.timezone))
    return local.astimezone(dt.UTC)


async def _hosted(conn: AsyncConnection, actor: Actor, slug: str) -> queries.GatheringFacts:
    facts = await queries.gathering_facts(conn, slug)
    if facts is None:
        raise NotFound(gettext(words.NO_GATHERING))
    if not can_release(actor, facts.host_organisation_id):
        raise Forbidden(gettext(words.ONLY_HOST))
    return facts


async def _overview(conn: AsyncConnection, facts: queries.GatheringFacts) -> Overview:
    found = await queries.round_of(conn, facts.id)
    if found is not None and found.sent_at is not None:
        groups, singles = found.groups, found.singles
        opted_in = -1  # not counted again after sending: the consents may since be withdrawn
    else:
        grouped = group_by_constituency(await queries.opted_in_people(conn, facts.id))
        groups = sum(1 for g in grouped if len(g.people) > 1)
        singles = sum(1 for g in grouped if len(g.people) == 1)
        opted_in = sum(len(g.people) for g in grouped)
    return Overview(
        facts.slug,
        facts.title,
        facts.timezone,
        opted_in,
        groups,
        singles,
        found.send_at if found else None,
        found.single_contact if found else "",
        found.sent_at if found else None,
        sendable_from(facts),
    )


async def overview(db: Database, actor: Actor | None, slug: str) -> Overview:
    """The counts and the schedule, for the gathering's host organisation and admins."""
    actor = require_actor(actor)

    async def _read(conn: AsyncConnection) -> Overview:
        return await _overview(conn, await _hosted(conn, actor, slug))

    return await db.read(_read)


def parse_local(text: str, timezone: str) -> dt.datetime | None:
    """``2027-09-30T18:00`` (or with a space) in the gathering's zone, as UTC; None if empty."""
    text = text.strip()
    if not text:
        return None
    try:
        local = dt.datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise InvalidInput({"send_at": gettext(words.WHEN_GARBLED)}) from None
    if local.tzinfo is not None:
        raise InvalidInput({"send_at": gettext(words.WHEN_GARBLED)})
    return local.replace(tzinfo=zoneinfo.ZoneInfo(timezone)).astimezone(dt.UTC)


async def schedule(
    db: Database,
    actor: Actor | None,
    slug: str,
    *,
    send_at_text: str,
    single_contact: str,
    now: dt.datetime | None = None,
) -> Overview:
    """Set (or clear) when the introductions go, and the contact for people alone in their CLP."""
    actor = require_actor(actor)
    contact = " ".join(single_contact.split())
    if len(contact) > MAX_CONTACT:
        raise InvalidInput({"single_contact": gettext(words.CONTACT_TOO_LONG)})

    async def _write(conn: AsyncConnection) -> Overview:
        moment = now or dt.datetime.now(dt.UTC)
        facts = await _hosted(conn, actor, slug)
        send_at = parse_local(send_at_text[:40], facts.timezone)
        if send_at is not None and send_at < sendable_from(facts):
            raise InvalidInput({"send_at": gettext(words.TOO_EARLY)})
        changed = await queries.set_schedule(
            conn, facts.id, send_at=send_at, single_contact=contact, now=moment
        )
        if not changed:
            raise InvalidInput({"send_at": gettext(words.ALREADY_SENT)})
        await insert_audit_event(
            conn,
            now=moment,
            actor_kind="account",
            actor_id=actor.account_id,
            action="introductions_scheduled",
            subject_kind="gathering",
            subject_id=facts.id,
            detail={"send_at": send_at.isoformat() if send_at else None},
        )
        return await _overview(conn, facts)

    return await db.write(_write)


async def send_now(
    db: Database, actor: Actor | None, slug: str, *, links: Links, now: dt.datetime | None = None
) -> Overview:
    """Send the introductions now, on the host organisation's demand (once, ever)."""
    actor = require_actor(actor)

    async def _write(conn: AsyncConnection) -> Overview:
        moment = now or dt.datetime.now(dt.UTC)
        facts = await _hosted(conn, actor, slug)
        if moment < sendable_from(facts):
            raise InvalidInput({"send": gettext(words.NOT_YET_SENDABLE)})
        if not await _send(conn, facts, links, moment, actor.account_id):
            raise InvalidInput({"send": gettext(words.ALREADY_SENT)})
        return await _overview(conn, facts)

    return await db.write(_write)


async def send_due(db: Database, *, links: Links, now: dt.datetime | None = None) -> int:
    """Send every round whose chosen time has come (housekeeping); the number of rounds sent."""
    moment = now or dt.datetime.now(dt.UTC)
    sent = 0
    for gathering_id in await db.read(lambda conn: queries.due_rounds(conn, moment)):

        async def _write(conn: AsyncConnection, gathering_id: int = gathering_id) -> bool:
            facts = await queries.gathering_facts_by_id(conn, gathering_id)
            return await _send(conn, facts, links, moment, None)

        sent += int(await db.write(_write))
    return sent


async def _send(
    conn: AsyncConnection,
    facts: queries.GatheringFacts,
    links: Links,
    now: dt.datetime,
    account_id: int | None,
) -> bool:
    """Claim the round and queue its mail in this unit; False if it was claimed before."""
    if not await queries.claim_round(conn, facts.id, now):
        return False
    found = await queries.round_of(conn, facts.id)
    contact = found.single_contact if found else ""
    grouped = group_by_constituency(await queries.opted_in_people(conn, facts.id))
    for group in grouped:
        for person in group.people:
            others = [
                {"name": o.name, "email": o.email}
                for o in group.people
                if o.registration_id != person.registration_id
            ]
            context: dict[str, object] = {
                "name": person.name,
                "gathering_title": facts.title,
                "constituency": person.constituency.strip(),
                "others": others,
                "single_contact": contact,
                "base_url": links.base_url,
            }
            await mail.queue(
                conn,
                kind="introduction" if others else "introduction_single",
                to_address=person.email,
                registration_id=person.registration_id,
                now=now,
                context=context,
            )
    groups = sum(1 for g in grouped if len(g.people) > 1)
    singles = sum(1 for g in grouped if len(g.people) == 1)
    await queries.record_counts(conn, facts.id, groups=groups, singles=singles)
    await insert_audit_event(
        conn,
        now=now,
        actor_kind="account" if account_id is not None else "system",
        actor_id=account_id,
        action="introductions_sent",
        subject_kind="gathering",
        subject_id=facts.id,
        # Counts only: who was introduced to whom is nowhere but in each person's own mail.
        detail={"groups": groups, "singles": singles},
    )
    return True


# --- the person's side --------------------------------------------------------------------------


@dataclass(frozen=True)
class Mine:
    token: str
    gathering_title: str
    is_opted_in: bool
    constituency: str
    sent_at: dt.datetime | None
    timezone: str
    send_at: dt.datetime | None


async def mine(db: Database, token: str, *, secret_key: str) -> Mine:
    """A person's own view: opted in or not, and whether the introductions have gone."""

    async def _read(conn: AsyncConnection) -> Mine:
        row = await registration_for_token(conn, token, secret_key)
        facts = await queries.gathering_facts_by_id(conn, row.gathering_id)
        found = await queries.round_of(conn, row.gathering_id)
        return Mine(
            token,
            facts.title,
            await queries.has_standing_consent(conn, row.id),
            str(row.answers.get("constituency", "")),
            found.sent_at if found else None,
            facts.timezone,
            found.send_at if found else None,
        )

    return await db.read(_read)


async def withdraw(
    db: Database, token: str, *, secret_key: str, now: dt.datetime | None = None
) -> None:
    """Withdraw from the introductions; InvalidInput once they have been sent."""

    async def _write(conn: AsyncConnection) -> None:
        moment = now or dt.datetime.now(dt.UTC)
        row = await registration_for_token(conn, token, secret_key)
        found = await queries.round_of(conn, row.gathering_id)
        if found is not None and found.sent_at is not None:
            raise InvalidInput({"withdraw": gettext(words.TOO_LATE)})
        await queries.withdraw(conn, row.id, moment)

    await db.write(_write)


# --- privacy ------------------------------------------------------------------------------------


async def seal_sent(db: Database) -> int:
    """Empty the outbox copies of introduction mail that has gone (housekeeping)."""
    return await db.write(queries.seal_sent_introductions)
