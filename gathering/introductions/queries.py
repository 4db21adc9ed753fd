"""Queries for CLP introductions: who opted in, the gathering's round, withdrawals, forgetting."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import consent, gathering, introduction_round, outbox, registration

MATCH = "constituency_match"  # the consent purpose the registration form records
KINDS = ("introduction", "introduction_single")


class OptedIn(NamedTuple):
    """A person with a confirmed registration and a standing consent to be introduced."""

    registration_id: int
    name: str
    email: str
    constituency: str  # as typed ("" if not given)


class Round(NamedTuple):
    gathering_id: int
    send_at: dt.datetime | None
    single_contact: str
    sent_at: dt.datetime | None
    groups: int
    singles: int


class GatheringFacts(NamedTuple):
    id: int
    slug: str
    title: str
    host_organisation_id: int | None
    ends_on: dt.date
    timezone: str


def _standing_consent() -> sa.Exists:
    return (
        sa.select(consent.c.id)
        .where(
            consent.c.registration_id == registration.c.id,
            consent.c.purpose == MATCH,
            consent.c.withdrawn_at.is_(None),
        )
        .exists()
    )


async def opted_in_people(conn: AsyncConnection, gathering_id: int) -> list[OptedIn]:
    """Everyone of the gathering who may be introduced, in registration order."""
    answer = registration.c.answers["constituency"].as_string()
    query = (
        sa.select(registration.c.id, registration.c.name, registration.c.email, answer)
        .where(
            registration.c.gathering_id == gathering_id,
            registration.c.status == "confirmed",
            registration.c.anonymised_at.is_(None),
            _standing_consent(),
        )
        .order_by(registration.c.id)
    )
    return [
        OptedIn(int(rid), str(name), str(email), str(given or ""))
        for rid, name, email, given in await conn.execute(query)
    ]


async def gathering_facts(conn: AsyncConnection, slug: str) -> GatheringFacts | None:
    query = sa.select(
        gathering.c.id,
        gathering.c.slug,
        gathering.c.title,
        gathering.c.host_organisation_id,
        gathering.c.ends_on,
        gathering.c.timezone,
    ).where(gathering.c.slug == slug)
    row = (await conn.execute(query)).first()
    return None if row is None else GatheringFacts._make(row)


async def gathering_facts_by_id(conn: AsyncConnection, gathering_id: int) -> GatheringFacts:
    query = sa.select(
        gathering.c.id,
        gathering.c.slug,
        gathering.c.title,
        gathering.c.host_organisation_id,
        gathering.c.ends_on,
        gathering.c.timezone,
    ).where(gathering.c.id == gathering_id)
    return GatheringFacts._make((await conn.execute(query)).one())


def _round_columns() -> tuple[sa.Column[Any], ...]:
    c = introduction_round.c
    return (c.gathering_id, c.send_at, c.single_contact, c.sent_at, c.groups, c.singles)


async def round_of(conn: AsyncConnection, gathering_id: int) -> Round | None:
    """The gathering's introductions round, or None if nothing was set."""
    query = sa.select(*_round_columns()).where(introduction_round.c.gathering_id == gathering_id)
    row = (await conn.execute(query)).first()
    return None if row is None else Round._make(row)


def _insert(conn: AsyncConnection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


async def ensure_round(conn: AsyncConnection, gathering_id: int, now: dt.datetime) -> None:
    """Make the gathering's round row if it has none (two at once make one)."""
    statement = (
        _insert(conn)(introduction_round)
        .values(gathering_id=gathering_id, updated_at=now)
        .on_conflict_do_nothing()
    )
    await conn.execute(statement)


async def set_schedule(
    conn: AsyncConnection,
    gathering_id: int,
    *,
    send_at: dt.datetime | None,
    single_contact: str,
    now: dt.datetime,
) -> bool:
    """Set when the round goes and the contact for people alone in their CLP; False if it has
    been sent already (then nothing changes)."""
    await ensure_round(conn, gathering_id, now)
    result = await conn.execute(
        sa.update(introduction_round)
        .where(
            introduction_round.c.gathering_id == gathering_id,
            introduction_round.c.sent_at.is_(None),
        )
        .values(send_at=send_at, single_contact=single_contact, updated_at=now)
    )
    return int(result.rowcount) == 1


async def claim_round(conn: AsyncConnection, gathering_id: int, now: dt.datetime) -> bool:
    """Mark the round sent, once: True only for the one unit that did (the sending is then
    queued in that same unit, so introductions never go twice)."""
    await ensure_round(conn, gathering_id, now)
    result = await conn.execute(
        sa.update(introduction_round)
        .where(
            introduction_round.c.gathering_id == gathering_id,
            introduction_round.c.sent_at.is_(None),
        )
        .values(sent_at=now, updated_at=now)
    )
    return int(result.rowcount) == 1


async def record_counts(
    conn: AsyncConnection, gathering_id: int, *, groups: int, singles: int
) -> None:
    await conn.execute(
        sa.update(introduction_round)
        .where(introduction_round.c.gathering_id == gathering_id)
        .values(groups=groups, singles=singles)
    )


async def due_rounds(conn: AsyncConnection, now: dt.datetime) -> list[int]:
    """Gatherings whose round is scheduled for ``now`` or earlier and not sent yet."""
    query = (
        sa.select(introduction_round.c.gathering_id)
        .where(
            introduction_round.c.send_at.is_not(None),
            introduction_round.c.send_at <= now,
            introduction_round.c.sent_at.is_(None),
        )
        .order_by(introduction_round.c.send_at)
    )
    return [int(gid) for (gid,) in await conn.execute(query)]


async def has_standing_consent(conn: AsyncConnection, registration_id: int) -> bool:
    query = sa.select(
        sa.select(consent.c.id)
        .where(
            consent.c.registration_id == registration_id,
            consent.c.purpose == MATCH,
            consent.c.withdrawn_at.is_(None),
        )
        .exists()
    )
    return bool((await conn.execute(query)).scalar_one())


async def withdraw(conn: AsyncConnection, registration_id: int, now: dt.datetime) -> int:
    """Withdraw the person's consent to be introduced; the number of consents withdrawn."""
    result = await conn.execute(
        sa.update(consent)
        .where(
            consent.c.registration_id == registration_id,
            consent.c.purpose == MATCH,
            consent.c.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=now)
    )
    return int(result.rowcount)


async def delete_round(conn: AsyncConnection, gathering_id: int) -> int:
    """At the retention purge: the round goes (it said when, and to whom singles may write)."""
    result = await conn.execute(
        sa.delete(introduction_round).where(introduction_round.c.gathering_id == gathering_id)
    )
    return int(result.rowcount)


class IntroductionMail(NamedTuple):
    id: int
    context: Any


async def unsent_introductions(conn: AsyncConnection) -> list[IntroductionMail]:
    """Introduction mail still waiting in the outbox, with what it will say."""
    query = sa.select(outbox.c.id, outbox.c.context).where(
        outbox.c.kind.in_(KINDS), outbox.c.sent_at.is_(None), outbox.c.context.is_not(None)
    )
    return [IntroductionMail(int(i), ctx) for i, ctx in await conn.execute(query)]


async def set_mail_context(conn: AsyncConnection, mail_id: int, context: Any) -> None:
    await conn.execute(sa.update(outbox).where(outbox.c.id == mail_id).values(context=context))


async def seal_sent_introductions(conn: AsyncConnection) -> int:
    """Drop what sent introduction mail said (names and addresses of the others): once it has
    gone, nothing here needs it, and nobody reading the outbox may learn who met whom."""
    result = await conn.execute(
        sa.update(outbox)
        .where(
            outbox.c.kind.in_(KINDS), outbox.c.sent_at.is_not(None), outbox.c.context.is_not(None)
        )
        .values(context=sa.null(), subject="", body_text="", body_html="")
    )
    return int(result.rowcount)
