"""Setting the app clock (``gathering.core.clock``) for a while: registration windows (issue 16)
are decided on it, so people in the demo's past gatherings register "back then"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from gathering.core import clock

# The week before the demo's conference fringe (21-25 September 2019) and its gathering (18
# September 2021): registration was open for both then.
BEFORE_CONFERENCE = dt.datetime(2019, 9, 1, 12, 0, tzinfo=dt.UTC)
BEFORE_NATIONAL = dt.datetime(2021, 9, 1, 12, 0, tzinfo=dt.UTC)


@contextmanager
def app_clock_at(moment: dt.datetime) -> Iterator[None]:
    """Inside the block, the app's clock reads ``moment``."""
    real = clock.utc_now
    clock.utc_now = lambda: moment
    try:
        yield
    finally:
        clock.utc_now = real
