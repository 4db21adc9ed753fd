"""Throttles: one front end for every limit in the service, over the ``throttle`` table.

Two kinds of limit, each a frozen policy object a feature declares once:

``AttemptRate`` — at most ``limit`` counted events per ``window`` per key (registrations per
client address, reset mails per address). ``await count_attempt(conn, RATE, subject, now)``
counts one event and raises ``Throttled`` past the limit (the unit then rolls back, so refused
events are not counted); ``refund_attempt`` gives one back (an event that turned out not to
count). Fixed windows: the first event opens one; the wait is until it closes.

``GuessLimit`` — guessing a secret (a password, a PIN). Only failures count; after
``free_failures`` each further failure makes the next try wait longer (``first_delay``, doubling,
at most ``max_delay``); a quiet ``forget_after`` forgets them. There is no lock-out: a stranger's
wrong guesses only ever delay the next try by ``max_delay`` at most, and features give an owner a
key of their own that strangers cannot touch (sign-in: a device that signed in before is
trusted and counted on its own key). The calls, around the slow check of the secret::

    await claim_guess(conn, LIMIT, subject, now)   # Throttled while a delay runs; else counts
                                                   # one failure *before* the check, so parallel
                                                   # guesses cannot outrun the count
    ... check the secret (outside the unit) ...
    right: await clear_guesses(conn, LIMIT, subject)   # the owner proved it: forget them all
           or refund_guess(...) on a key many people share (a network address): gives back
           only this try, so one person's success does not wipe an attacker's count
    wrong: nothing to do, the failure is already counted

One error, ``Throttled``: ``retry_after`` whole seconds (for the ``Retry-After`` header) and a
``message`` in the user's words, made from the policy's ``refusal`` with ``{wait}`` filled in by
``wait_words`` ("2 minutes", "40 seconds"); ``seconds_until`` is the one "how long to wait"
formula (rounded up, never below 1).

Keys are ``"<policy name>:<subject>"`` (at most 200 characters); the retention purge finds a
person's throttles by the subject after the first colon, so put an email address there whole.
The two kinds keep different things in the same two columns, so a name is used by one kind only:
an attempt rate keeps (events, window start), a guess limit (failures, earliest next try).

Concurrency: every count is one atomic upsert (``INSERT .. ON CONFLICT DO UPDATE .. RETURNING``),
so simultaneous hits on one key count exactly on both engines. Run throttle units with
``db.write(fn, serializable=False)`` where you can: under PostgreSQL's READ COMMITTED the upsert
waits for the row lock instead of failing and being retried whole.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import i18n, prepared
from gathering.core.errors import GatheringError
from gathering.core.schema import UTCDateTime, throttle

_KEY_LENGTH = 200
# How early a guess may come before its delay ends: far below any delay a policy sets (seconds),
# and above the spread of instants among simultaneous requests.
CLOCK_SLACK = dt.timedelta(milliseconds=250)


class Throttled(GatheringError):
    """Too many tries: ``retry_after`` seconds to wait, ``message`` says so in the user's words."""

    code = "throttled"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class AttemptRate:
    """At most ``limit`` counted events per ``window`` per subject."""

    name: str
    limit: int
    window: dt.timedelta
    refusal: str  # the user's words, with ``{wait}``


@dataclass(frozen=True)
class GuessLimit:
    """Failures at guessing a secret delay the next try more and more; success clears them."""

    name: str
    free_failures: int
    first_delay: dt.timedelta
    max_delay: dt.timedelta
    forget_after: dt.timedelta
    refusal: str  # the user's words, with ``{wait}``

    def __post_init__(self) -> None:
        if not CLOCK_SLACK < self.first_delay <= self.max_delay:
            raise ValueError("a guess limit needs CLOCK_SLACK < first_delay <= max_delay")

    def delay_after(self, failures: int) -> dt.timedelta:
        """How long the next try waits after ``failures`` counted failures."""
        extra = failures - self.free_failures
        if extra <= 0:
            return dt.timedelta(0)
        # Doubling past the cap is pointless (and overflows): stop at 2**30.
        return min(self.first_delay * (1 << min(extra - 1, 30)), self.max_delay)

    def steps(self) -> int:
        """The number of failures after which the delay stops growing."""
        failures = self.free_failures + 1
        while self.delay_after(failures) < self.max_delay:
            failures += 1
        return failures


class ThrottleRow(NamedTuple):
    key: str
    hits: int  # the column ``count``
    window_start: dt.datetime  # attempt rate: the window's start; guess limit: the next try


def seconds_until(moment: dt.datetime, now: dt.datetime) -> int:
    """Whole seconds from ``now`` to ``moment``, rounded up, at least 1: the one wait formula."""
    return max(1, math.ceil((moment - now).total_seconds()))


def wait_words(seconds: int) -> str:
    """``seconds`` as a person would say it: "40 seconds", "1 minute", "15 minutes"."""
    if seconds < 60:
        return i18n.ngettext("{n} second", "{n} seconds", seconds).format(n=seconds)
    minutes = math.ceil(seconds / 60)
    return i18n.ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes)


def refused(refusal: str, retry_after: int) -> Throttled:
    """The Throttled error for a policy's words (translated here) and a wait in seconds."""
    return Throttled(
        i18n.gettext(refusal).format(wait=wait_words(retry_after)), retry_after=retry_after
    )


def throttle_key(name: str, subject: str) -> str:
    return f"{name}:{subject}"[:_KEY_LENGTH]


def _instant(value: dt.datetime) -> sa.BindParameter[dt.datetime]:
    return sa.bindparam(None, value, type_=UTCDateTime())


def _upsert(conn: AsyncConnection, **values: object) -> postgresql.Insert | sqlite.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(throttle).values(**values)
    return sqlite.insert(throttle).values(**values)


async def count_attempt(
    conn: AsyncConnection, rate: AttemptRate, subject: str, now: dt.datetime
) -> int:
    """Count one event for ``subject``; return the count in the window, Throttled past the
    limit (raised in the caller's unit, which rolls back: a refused event is not counted)."""
    row = await hit(conn, throttle_key(rate.name, subject), now, rate.window)
    if row.hits > rate.limit:
        raise refused(rate.refusal, seconds_until(row.window_start + rate.window, now))
    return row.hits


def _hit_statement(
    insert: type[postgresql.Insert] | type[sqlite.Insert],
) -> sa.Executable:
    now = sa.bindparam("now", type_=UTCDateTime())
    expired = throttle.c.window_start <= sa.bindparam("expired_before", type_=UTCDateTime())
    return (
        insert(throttle)
        .values(key=sa.bindparam("key"), window_start=now, count=1)
        .on_conflict_do_update(
            index_elements=[throttle.c.key],
            set_={
                "count": sa.case((expired, 1), else_=throttle.c.count + 1),
                "window_start": sa.case((expired, now), else_=throttle.c.window_start),
            },
        )
        .returning(throttle.c.key, throttle.c.count, throttle.c.window_start)
    )


# Built once with bound parameters: building the upsert per call cost 0.35 ms of its 0.45 ms,
# and registering counts four keys (bench/RESULTS.md's registration target). On the service's
# SQLite engine it runs on sqlite3 directly (core.prepared): SQLAlchemy's execution machinery
# cost 40 µs a count there, the statement 25 µs.
_HIT = {"postgresql": _hit_statement(postgresql.Insert), "sqlite": _hit_statement(sqlite.Insert)}


async def hit(
    conn: AsyncConnection, key: str, now: dt.datetime, window: dt.timedelta
) -> ThrottleRow:
    """Count one event on ``key`` in a fixed window, atomically; the row after the count."""
    statement = _HIT["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    values = {"key": key, "now": now, "expired_before": now - window}
    row = await prepared.first(conn, statement, values)
    assert row is not None  # an upsert always answers its row
    return ThrottleRow(row[0], int(row[1]), row[2])


async def refund_attempt(conn: AsyncConnection, rate: AttemptRate, subject: str) -> None:
    """Give back one counted event (it turned out not to count)."""
    await _decrement(conn, throttle_key(rate.name, subject))


async def claim_guess(
    conn: AsyncConnection, limit: GuessLimit, subject: str, now: dt.datetime
) -> int:
    """Count one failure for ``subject`` before the secret is checked; Throttled (nothing
    counted) while the delay of earlier failures runs. Returns the failures counted."""
    key = throttle_key(limit.name, subject)
    # The row keeps the earliest next try, so the condition compares with ``now`` alone (no
    # interval arithmetic, which the two engines spell differently).
    forgotten = throttle.c.window_start <= _instant(now - limit.forget_after)
    steps = limit.steps()
    next_try = sa.case(
        (forgotten, _instant(now + limit.delay_after(1))),
        *(
            (throttle.c.count == failures - 1, _instant(now + limit.delay_after(failures)))
            for failures in range(1, steps)
        ),
        else_=_instant(now + limit.max_delay),
    )
    statement = (
        _upsert(conn, key=key, window_start=now + limit.delay_after(1), count=1)
        .on_conflict_do_update(
            index_elements=[throttle.c.key],
            set_={
                "count": sa.case((forgotten, 1), else_=throttle.c.count + 1),
                "window_start": next_try,
            },
            # Claims are ordered by the database, but each brings the instant its request read:
            # two simultaneous claims may arrive in the other order, the later one carrying the
            # earlier instant. Without slack the free tries of a burst were refused "wait 1 s".
            where=throttle.c.window_start <= _instant(now + CLOCK_SLACK),
        )
        .returning(throttle.c.count)
    )
    counted = (await conn.execute(statement)).scalar_one_or_none()
    if counted is not None:
        return int(counted)
    row = await throttle_row(conn, key)
    wait = seconds_until(row.window_start, now) if row is not None else 1
    raise refused(limit.refusal, wait)


async def clear_guesses(conn: AsyncConnection, limit: GuessLimit, subject: str) -> None:
    """The right secret: forget every failure counted for ``subject``."""
    key = throttle_key(limit.name, subject)
    await conn.execute(sa.delete(throttle).where(throttle.c.key == key))


async def refund_guess(
    conn: AsyncConnection, limit: GuessLimit, subject: str, now: dt.datetime
) -> None:
    """The right secret on a shared key: give back only this try's claimed failure, and the
    delay that claim set (a claim is only allowed once earlier delays have run, so the next
    person may try at once; the failures before stay counted for the next wrong try)."""
    moment = _instant(now)
    await conn.execute(
        sa.update(throttle)
        .where(throttle.c.key == throttle_key(limit.name, subject), throttle.c.count > 0)
        .values(
            count=throttle.c.count - 1,
            window_start=sa.case(
                (throttle.c.window_start > moment, moment), else_=throttle.c.window_start
            ),
        )
    )


async def _decrement(conn: AsyncConnection, key: str) -> None:
    await conn.execute(
        sa.update(throttle)
        .where(throttle.c.key == key, throttle.c.count > 0)
        .values(count=throttle.c.count - 1)
    )


async def throttle_row(conn: AsyncConnection, key: str) -> ThrottleRow | None:
    """The counter row of ``key``, or None."""
    query = sa.select(throttle.c.key, throttle.c.count, throttle.c.window_start).where(
        throttle.c.key == key
    )
    row = (await conn.execute(query)).first()
    return None if row is None else ThrottleRow(row[0], int(row[1]), row[2])
