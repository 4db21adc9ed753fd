"""The one throttle front end: attempt rates and secret guessing, on both engines."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import throttles
from gathering.core.database import Database
from gathering.core.throttles import AttemptRate, GuessLimit, Throttled

pytestmark = pytest.mark.anyio
NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
RATE = AttemptRate(
    "test-rate", limit=3, window=dt.timedelta(minutes=10), refusal="Too many. Wait {wait}."
)
GUESS = GuessLimit(
    "test-guess",
    free_failures=2,
    first_delay=dt.timedelta(seconds=10),
    max_delay=dt.timedelta(seconds=60),
    forget_after=dt.timedelta(hours=1),
    refusal="Too many wrong guesses. Wait {wait}.",
)


async def _count(
    db: Database, subject: str, now: dt.datetime, *, serializable: bool = False
) -> int:
    async def _write(conn: AsyncConnection) -> int:
        return await throttles.count_attempt(conn, RATE, subject, now)

    return await db.write(_write, serializable=serializable)


async def _claim(db: Database, subject: str, now: dt.datetime) -> int:
    async def _write(conn: AsyncConnection) -> int:
        return await throttles.claim_guess(conn, GUESS, subject, now)

    return await db.write(_write, serializable=False)


async def _row(db: Database, key: str) -> throttles.ThrottleRow | None:
    async def _read(conn: AsyncConnection) -> throttles.ThrottleRow | None:
        return await throttles.throttle_row(conn, key)

    return await db.read(_read)


def test_wait_is_one_formula_rounded_up_in_the_users_words() -> None:
    assert throttles.seconds_until(NOW + dt.timedelta(seconds=0.2), NOW) == 1
    assert throttles.seconds_until(NOW - dt.timedelta(seconds=5), NOW) == 1
    assert throttles.seconds_until(NOW + dt.timedelta(seconds=61.5), NOW) == 62
    assert [throttles.wait_words(s) for s in (1, 40, 60, 61, 899, 900)] == [
        "1 second",
        "40 seconds",
        "1 minute",
        "2 minutes",
        "15 minutes",
        "15 minutes",
    ]


def test_guess_delays_grow_per_failure_up_to_the_cap() -> None:
    delays = [GUESS.delay_after(n).total_seconds() for n in range(0, 8)]
    assert delays == [0, 0, 0, 10, 20, 40, 60, 60]
    assert GUESS.steps() == 6
    with pytest.raises(ValueError, match="first_delay"):
        GuessLimit("x", 1, dt.timedelta(0), dt.timedelta(1), dt.timedelta(1), "")


async def test_attempt_rate_counts_every_event_and_refuses_past_the_limit(db: Database) -> None:
    assert [await _count(db, "10.0.0.1", NOW + dt.timedelta(seconds=i)) for i in range(3)] == [
        1,
        2,
        3,
    ]
    with pytest.raises(Throttled) as refused:
        await _count(db, "10.0.0.1", NOW + dt.timedelta(minutes=4))
    # The window opened at NOW and lasts 10 minutes: 6 minutes left.
    assert refused.value.retry_after == 360
    assert refused.value.message == "Too many. Wait 6 minutes."
    assert refused.value.code == "throttled"
    # Another subject has its own count; the refused event was not counted.
    assert await _count(db, "10.0.0.2", NOW) == 1
    assert (await _row(db, "test-rate:10.0.0.1")) == ("test-rate:10.0.0.1", 3, NOW)
    # A new window starts afresh.
    assert await _count(db, "10.0.0.1", NOW + dt.timedelta(minutes=10)) == 1


async def test_refunded_attempt_gives_its_count_back(db: Database) -> None:
    for _ in range(3):
        await _count(db, "a", NOW)

    async def _refund(conn: AsyncConnection) -> None:
        await throttles.refund_attempt(conn, RATE, "a")

    await db.write(_refund)
    assert await _count(db, "a", NOW) == 3


async def test_guess_limit_delays_after_free_failures_and_success_clears(db: Database) -> None:
    assert await _claim(db, "pin:1", NOW) == 1
    assert await _claim(db, "pin:1", NOW) == 2
    assert await _claim(db, "pin:1", NOW) == 3  # the third failure sets a 10 s delay
    with pytest.raises(Throttled) as refused:
        await _claim(db, "pin:1", NOW + dt.timedelta(seconds=4))
    assert refused.value.retry_after == 6
    assert refused.value.message == "Too many wrong guesses. Wait 6 seconds."
    # A refused try is not counted: waiting out the delay is enough.
    assert (await _row(db, "test-guess:pin:1")).hits == 3  # type: ignore[union-attr]
    assert await _claim(db, "pin:1", NOW + dt.timedelta(seconds=10)) == 4
    with pytest.raises(Throttled) as longer:
        await _claim(db, "pin:1", NOW + dt.timedelta(seconds=11))
    assert longer.value.retry_after == 19  # 20 s after the fourth failure

    async def _clear(conn: AsyncConnection) -> None:
        await throttles.clear_guesses(conn, GUESS, "pin:1")

    await db.write(_clear)
    assert await _row(db, "test-guess:pin:1") is None
    assert await _claim(db, "pin:1", NOW + dt.timedelta(seconds=12)) == 1


async def test_guess_limit_waits_at_most_the_cap_and_forgets_after_quiet(db: Database) -> None:
    moment = NOW
    for _ in range(12):
        await _claim(db, "k", moment)
        moment += GUESS.max_delay
    with pytest.raises(Throttled) as refused:
        await _claim(db, "k", moment - dt.timedelta(seconds=1))
    assert refused.value.retry_after == 1  # never a lock-out: at most max_delay after the last
    quiet = moment - GUESS.max_delay + GUESS.max_delay + GUESS.forget_after
    assert await _claim(db, "k", quiet) == 1


async def test_refund_guess_gives_back_only_this_try(db: Database) -> None:
    for _ in range(2):
        await _claim(db, "shared", NOW)

    async def _refund(conn: AsyncConnection) -> None:
        await throttles.refund_guess(conn, GUESS, "shared", NOW)

    await db.write(_refund)
    assert (await _row(db, "test-guess:shared")).hits == 1  # type: ignore[union-attr]


async def test_refund_guess_gives_back_the_delay_its_claim_set(db: Database) -> None:
    # Three failures on a shared network key: the third sets a 10 s delay.
    for _ in range(3):
        await _claim(db, "venue", NOW)
    later = NOW + dt.timedelta(seconds=10)
    assert await _claim(db, "venue", later) == 4  # a steward's try, claimed before the check

    async def _refund(conn: AsyncConnection) -> None:  # ...and the PIN was right
        await throttles.refund_guess(conn, GUESS, "venue", later)

    await db.write(_refund)
    # The next steward on that network is not made to wait for the right PIN's claim...
    assert await _claim(db, "venue", later + dt.timedelta(seconds=1)) == 4
    # ...but the earlier failures still count: that wrong try set the next, longer delay.
    with pytest.raises(Throttled) as refused:
        await _claim(db, "venue", later + dt.timedelta(seconds=2))
    assert refused.value.retry_after == 19


@pytest.mark.parametrize("serializable", [False, True])
async def test_simultaneous_attempts_on_one_key_count_exactly(
    db: Database, serializable: bool
) -> None:
    hits = 40
    results = await asyncio.gather(
        *(_count(db, "crowd", NOW, serializable=serializable) for _ in range(hits)),
        return_exceptions=True,
    )
    counted = sorted(r for r in results if isinstance(r, int))
    refusals = [r for r in results if isinstance(r, Throttled)]
    assert counted == [1, 2, 3]
    assert len(refusals) == hits - 3
    assert (await _row(db, "test-rate:crowd")).hits == 3  # type: ignore[union-attr]


async def test_simultaneous_guesses_cannot_outrun_the_delay(db: Database) -> None:
    tries = 30
    results = await asyncio.gather(
        *(_claim(db, "race", NOW) for _ in range(tries)), return_exceptions=True
    )
    counted = sorted(r for r in results if isinstance(r, int))
    # Two free failures, then the third sets a delay that refuses every other try at NOW.
    assert counted == [1, 2, 3]
    assert all(isinstance(r, Throttled) for r in results if not isinstance(r, int))
    assert (await _row(db, "test-guess:race")).hits == 3  # type: ignore[union-attr]
