"""Bounds on one steward device (issue 14): how fast it may scan and how many live streams it
may hold, so one phone (or a script holding its cookie) cannot flood the scan table or the
server's connections.

Kept in this process's memory, with no statement added to a scan: a bound checked in the
database would cost every real scan a round trip. With several replicas each holds its own
bounds, so a device's allowance is the sum over the replicas its requests reach; that still
bounds it. Nothing here is personal: devices are random ids.

- Scans: a token bucket per device (``SCAN_BURST`` at once, then ``SCAN_RATE`` a second), and a
  second, smaller one that only refused (red) answers draw from, so junk codes are stopped soon
  while a queue of real tickets never is. A scan past either bound is refused before its unit
  of work runs: it writes no row.
- Live streams: at most ``MAX_STREAMS`` per device (two tabs); opening another closes the
  oldest, which ends with an ``event: replaced``.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from gathering.core.errors import GatheringError
from gathering.core.i18n import gettext
from gathering.door import words

# A real door scans one or two people a second, with bursts; a load test's steward (bench/)
# scans as fast as the server answers, about 80 a second for a few seconds, and must pass.
SCAN_BURST = 240.0
SCAN_RATE = 20.0  # a second, once the burst is spent
# Refused answers: a few in a row happen (the wrong session chosen); hundreds are junk.
REFUSED_BURST = 20.0
REFUSED_RATE = 0.5  # a second: one every two seconds once the burst is spent
MAX_STREAMS = 2
MAX_DEVICES = 4096  # buckets kept; idle full ones are dropped first


class TooManyScans(GatheringError):
    """This device scans faster than a door can; ``retry_after`` is in seconds."""

    code = "too_many_scans"

    def __init__(self, message: str, *, retry_after: int, code: str = "too_many_scans") -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


@dataclass
class _Bucket:
    burst: float
    rate: float
    tokens: float
    at: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now

    def wait(self) -> int:
        """Whole seconds until one token is back (0 if there is one)."""
        return 0 if self.tokens >= 1 else max(1, math.ceil((1 - self.tokens) / self.rate))


@dataclass(eq=False)
class _Slot:
    close: Callable[[], None]
    is_replaced: bool = False


@dataclass
class DeviceBounds:
    """Every device's scan buckets and live streams, in this process."""

    clock: Callable[[], float] = time.monotonic
    _scans: OrderedDict[str, _Bucket] = field(default_factory=OrderedDict)
    _refused: OrderedDict[str, _Bucket] = field(default_factory=OrderedDict)
    _streams: dict[str, deque[_Slot]] = field(default_factory=dict)

    def _bucket(
        self, buckets: OrderedDict[str, _Bucket], device_id: str, burst: float, rate: float
    ) -> _Bucket:
        now = self.clock()
        bucket = buckets.get(device_id)
        if bucket is None:
            if len(buckets) >= MAX_DEVICES:
                buckets.popitem(last=False)  # the longest unused: its phone has gone quiet
            bucket = buckets[device_id] = _Bucket(burst, rate, burst, now)
        else:
            buckets.move_to_end(device_id)
            bucket.refill(now)
        return bucket

    def take_scan(self, device_id: str) -> None:
        """Count one scan by this device; TooManyScans (nothing counted) past a bound."""
        refused = self._bucket(self._refused, device_id, REFUSED_BURST, REFUSED_RATE)
        if refused.tokens < 1:
            wait = refused.wait()
            raise TooManyScans(
                gettext(words.TOO_MANY_REFUSED).format(seconds=wait),
                retry_after=wait,
                code="too_many_refused",
            )
        scans = self._bucket(self._scans, device_id, SCAN_BURST, SCAN_RATE)
        if scans.tokens < 1:
            wait = scans.wait()
            raise TooManyScans(gettext(words.TOO_MANY_SCANS).format(seconds=wait), retry_after=wait)
        scans.tokens -= 1

    def note_refused(self, device_id: str) -> None:
        """A scan by this device was answered red."""
        bucket = self._bucket(self._refused, device_id, REFUSED_BURST, REFUSED_RATE)
        bucket.tokens = max(0.0, bucket.tokens - 1)

    @contextmanager
    def stream(self, device_id: str, close: Callable[[], None]) -> Iterator[_Slot]:
        """Hold one of the device's live streams; ``close`` is called if a newer one replaces
        it (the slot's ``is_replaced`` is then True)."""
        slots = self._streams.setdefault(device_id, deque())
        while len(slots) >= MAX_STREAMS:
            oldest = slots.popleft()
            oldest.is_replaced = True
            oldest.close()
        slot = _Slot(close)
        slots.append(slot)
        try:
            yield slot
        finally:
            if slot in slots:
                slots.remove(slot)
            if not slots:
                self._streams.pop(device_id, None)

    def stream_count(self, device_id: str) -> int:
        """How many live streams this device holds here."""
        return len(self._streams.get(device_id, ()))
