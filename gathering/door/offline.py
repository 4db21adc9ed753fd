"""Scans a phone made with no signal, sent when the signal returns (issue 15).

The phone queues each offline admission with its nonce, the time it was made, the session,
door and kind, and the ticket's keyed hash (``gathering.door.bundles``), never its code: the
queue, like the bundle, names nobody. Here each hash is matched against the gathering's codes
and the scan is decided as ``gathering.door.scanning.scan`` decides any scan, as of the time it
was made, each in its own unit of work:

- the first admission to arrive stands, with its original time;
- an offline admission of someone already inside (another phone admitted them too) is answered
  amber ``admitted_twice_offline`` and recorded once as a ``door_conflict`` for organisers;
- a pass revoked (or its PIN changed) meanwhile refuses every queued scan: red
  ``pass_revoked``, which the phone reports;
- a resent queue gets the first answers again (the nonces), and writes nothing new.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.door import bundle_queries, queries, scanning
from gathering.door.bounds import DeviceBounds
from gathering.door.bundles import bundle_key, ticket_hash
from gathering.door.devices import StewardDevice
from gathering.door.scanning import Kind, ScanResult

MAX_QUEUED = 50  # scans in one request; the phone sends a longer queue in turns


@dataclass(frozen=True)
class QueuedScan:
    """One offline scan as the phone queued it."""

    ticket_hash: str  # base64url of HMAC-SHA256(bundle key, code), unpadded
    session_id: int | None
    door: str
    kind: Kind
    nonce: str
    scanned_at: dt.datetime


def _digest(text: str) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


async def _registrations_by_hash(
    db: Database, device: StewardDevice, secret_key: str
) -> dict[bytes, int]:
    """Every live ticket of the pass's gathering by its keyed hash (empty: no such pass)."""

    async def _read(conn: AsyncConnection) -> dict[bytes, int]:
        pass_row = await queries.pass_by_id(conn, device.pass_id)
        if pass_row is None:
            return {}
        key = bundle_key(secret_key, pass_row)
        codes = await bundle_queries.ticket_codes(conn, pass_row)
        return {ticket_hash(key, c.code): c.id for c in codes}

    return await db.read(_read)


async def send_queued(
    db: Database,
    device: StewardDevice,
    scans: list[QueuedScan],
    *,
    now: dt.datetime,
    secret_key: str,
    bounds: DeviceBounds | None = None,
) -> list[ScanResult]:
    """Decide each queued scan (see the module docstring); answers in the same order."""
    by_hash = await _registrations_by_hash(db, device, secret_key) if scans else {}
    results = []
    for queued in scans:
        digest = _digest(queued.ticket_hash)
        # No match is registration 0, answered unknown_code. The device already holds a working
        # pass, so a lookup's timing tells it nothing its bundle does not.
        registration_id = by_hash.get(digest, 0) if digest is not None else 0
        result = await scanning.scan(
            db,
            device,
            "",
            session_id=queued.session_id,
            door=queued.door,
            client_nonce=queued.nonce,
            kind=queued.kind,
            now=now,
            secret_key=secret_key,
            bounds=bounds,
            registration_id=registration_id,
            scanned_at=queued.scanned_at,
        )
        results.append(result)
    return results
