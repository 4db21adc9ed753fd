"""The door's devices: a steward pass opened on a phone with its link and PIN.

A steward pass (an organiser made it: label, validity window, PIN, all sessions or some) is opened
on a phone with its token and PIN; the device then carries a *device token* signed with the
service's secret key, holding the pass id, a fingerprint of the PIN hash and a random device id
(itsdangerous adds the issue time). No table holds devices: every scan, undo and count re-reads
the pass, so revoking it or changing its PIN stops every device at its next request. The device
id tells one phone from another on the same pass: undo acts only on that phone's own check-ins,
and the per-device bounds (``gathering.door.bounds``) count per phone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth.passwords import DUMMY_HASH, verify_password
from gathering.core import audit, throttles
from gathering.core.database import Database
from gathering.core.errors import GatheringError
from gathering.core.i18n import gettext
from gathering.door import queries, words
from gathering.door.queries import StewardPass

# Guessing a PIN needs the pass's link (a 192-bit secret) first; these slow down whoever has a
# leaked link but not the PIN, and never lock anyone out (issue 14): only wrong PINs count, each
# past the free ones makes the next try from the same place wait longer, and a quiet spell
# forgets them. A right PIN gives its try back. Keys are per network (an IPv6 /64 counts as
# one), so a stranger elsewhere never delays a steward, and a phone that opened the pass before
# (it still holds its device cookie) is trusted: it counts on a key of its own, which no
# stranger's failures touch.
PIN_GUESSES = throttles.GuessLimit(
    name="door-pin",  # per pass and network
    free_failures=5,
    first_delay=dt.timedelta(seconds=2),
    max_delay=dt.timedelta(minutes=5),
    forget_after=dt.timedelta(hours=1),
    refusal=words.TOO_MANY_WRONG_PINS,
)
# One network guessing at several passes (a venue's Wi-Fi is shared by many stewards).
NETWORK_PIN_GUESSES = throttles.GuessLimit(
    name="door-pin-net",
    free_failures=20,
    first_delay=dt.timedelta(seconds=2),
    max_delay=dt.timedelta(minutes=1),
    forget_after=dt.timedelta(minutes=15),
    refusal=words.TOO_MANY_WRONG_PINS_HERE,
)
# Links that match no pass, per network: kept apart from the PINs, so junk from someone on the
# venue's network does not delay the stewards behind it.
LINK_GUESSES = throttles.GuessLimit(
    name="door-link",
    free_failures=100,
    first_delay=dt.timedelta(seconds=1),
    max_delay=dt.timedelta(minutes=1),
    forget_after=dt.timedelta(minutes=15),
    refusal=words.TOO_MANY_UNKNOWN_LINKS,
)
MAX_TOKEN_LENGTH = 300
_DEVICE_SALT = "gathering.steward-device"


class PassRefused(GatheringError):
    """The pass cannot be used: ``unknown_pass``, ``wrong_pin``, ``pass_revoked``,
    ``pass_expired``, ``not_yet_valid`` or ``session_not_on_pass``."""

    code = "pass_refused"


def refused(code: str) -> PassRefused:
    """PassRefused with ``code`` and its words."""
    return PassRefused(gettext(words.REFUSALS[code]), code=code)


@dataclass(frozen=True)
class StewardDevice:
    """A phone signed in with a steward pass (from its signed device token)."""

    pass_id: int
    pin_fingerprint: str
    issued_at: dt.datetime
    id: str = ""  # random per opening: tells phones on one pass apart


@dataclass(frozen=True)
class PassSession:
    id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    is_cancelled: bool


@dataclass(frozen=True)
class PassInfo:
    """What a steward device may know about its own pass: no people, only sessions."""

    pass_id: int
    label: str
    gathering_id: int
    gathering_slug: str
    gathering_title: str
    timezone: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    sessions: tuple[PassSession, ...]
    all_sessions: bool  # the whole gathering too, not only the sessions listed


@dataclass(frozen=True)
class StewardSession:
    token: str  # the device token, for an HttpOnly cookie
    device: StewardDevice
    info: PassInfo


def token_hash(token: str) -> str:
    """The SHA-256 a pass link's token is stored as."""
    return hashlib.sha256(token.encode()).hexdigest()


def _pin_fingerprint(pin_hash: str) -> str:
    # Changing the PIN changes the hash, so devices opened with the old PIN stop working.
    return hashlib.sha256(pin_hash.encode()).hexdigest()[:16]


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_DEVICE_SALT)


def device_for_token(token: str, *, secret_key: str) -> StewardDevice | None:
    """The device behind a device token, or None if it is not one this service signed."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        data, issued = _serializer(secret_key).loads(token, return_timestamp=True)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    pass_id, fingerprint, device_id = data.get("p"), data.get("k"), data.get("d")
    if not isinstance(pass_id, int) or not isinstance(fingerprint, str):
        return None
    if not isinstance(device_id, str) or not device_id:
        # A token signed before devices had ids: the token itself tells the phone apart.
        device_id = hashlib.sha256(token.encode()).hexdigest()[:22]
    return StewardDevice(pass_id, fingerprint, issued, device_id)


def pass_problem(
    row: StewardPass | None, device: StewardDevice | None, now: dt.datetime
) -> str | None:
    """Why the pass cannot be used now (a reason code), or None."""
    if row is None or row.revoked_at is not None:
        return "pass_revoked"
    if device is not None and not secrets.compare_digest(
        device.pin_fingerprint, _pin_fingerprint(row.pin_hash)
    ):
        return "pass_revoked"
    if now < row.valid_from:
        return "not_yet_valid"
    if now >= row.valid_until:
        return "pass_expired"
    return None


async def describe_pass(conn: AsyncConnection, row: StewardPass) -> PassInfo:
    """The pass as its device may see it: its gathering and the sessions it covers."""
    found = await queries.gathering_for_pass(conn, row.gathering_id)
    sessions = tuple(
        PassSession(s.id, s.title, s.starts_at, s.ends_at, s.status == "cancelled")
        for s in await queries.sessions_on_pass(conn, row)
    )
    return PassInfo(
        pass_id=row.id,
        label=row.label,
        gathering_id=found.id,
        gathering_slug=found.slug,
        gathering_title=found.title,
        timezone=found.timezone,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        sessions=sessions,
        all_sessions=row.all_sessions,
    )


async def usable_pass(
    conn: AsyncConnection, device: StewardDevice, now: dt.datetime
) -> StewardPass:
    """The device's pass; PassRefused if it cannot be used now."""
    row = await queries.pass_by_id(conn, device.pass_id)
    problem = pass_problem(row, device, now)
    if problem is not None or row is None:
        raise refused(problem or "pass_revoked")
    return row


def network_of(client_address: str) -> str:
    """The network a client address counts as: the address itself, or its IPv6 /64 (one
    household or phone gets a whole /64, so its addresses are not many people)."""
    try:
        address = ipaddress.ip_address(client_address)
    except ValueError:
        return client_address[:100]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _is_trusted(device: StewardDevice | None, row: StewardPass) -> bool:
    """This phone opened this pass before, with its current PIN (its cookie says so)."""
    return (
        device is not None
        and device.pass_id == row.id
        and secrets.compare_digest(device.pin_fingerprint, _pin_fingerprint(row.pin_hash))
    )


async def open_pass(
    db: Database,
    token: str,
    pin: str,
    *,
    client_address: str,
    now: dt.datetime,
    secret_key: str,
    device: StewardDevice | None = None,
) -> StewardSession:
    """Check a pass's token and PIN and sign this device in for scanning; ``device`` is the
    one its cookie already holds, if any (a phone that opened this pass before is trusted).

    PassRefused (with its machine code) or Throttled (a delay still runs) on failure. Each try
    from an untrusted phone is counted as a failure before the PIN is checked, so parallel
    guesses cannot outrun the delays; a right PIN gives its count back.
    """
    token, pin = token.strip(), pin.strip()
    if not token or len(token) > 200 or len(pin) > 100:
        raise refused("unknown_pass")
    network = network_of(client_address)

    async def _claim(conn: AsyncConnection) -> tuple[StewardPass, bool] | None:
        row = await queries.pass_by_token_hash(conn, token_hash(token))
        if row is None:
            await throttles.claim_guess(conn, LINK_GUESSES, network, now)
            return None
        trusted = _is_trusted(device, row)
        if trusted and device is not None:
            # Its own key, which no stranger's failures touch (it still may not guess freely).
            await throttles.claim_guess(conn, PIN_GUESSES, f"{row.id}:device:{device.id}", now)
        else:
            await throttles.claim_guess(conn, NETWORK_PIN_GUESSES, network, now)
            await throttles.claim_guess(conn, PIN_GUESSES, f"{row.id}:{network}", now)
        return row, trusted

    # Claimed in its own unit so the count survives the failed attempt.
    found = await db.write(_claim, serializable=False)
    is_right = await verify_password(found[0].pin_hash if found else DUMMY_HASH, pin)
    if found is None:
        raise refused("unknown_pass")
    if not pin or not is_right:
        raise refused("wrong_pin")
    pass_id, pin_hash, trusted = found[0].id, found[0].pin_hash, found[1]

    async def _open(conn: AsyncConnection) -> PassInfo:
        if trusted and device is not None:
            await throttles.clear_guesses(conn, PIN_GUESSES, f"{pass_id}:device:{device.id}")
        else:
            # Shared keys: give back this try only, so a steward's success does not wipe the
            # failures of someone guessing from the same network.
            await throttles.refund_guess(conn, NETWORK_PIN_GUESSES, network, now)
            await throttles.refund_guess(conn, PIN_GUESSES, f"{pass_id}:{network}", now)
        row = await queries.pass_by_id(conn, pass_id)
        problem = pass_problem(row, None, now)
        if problem is not None or row is None:
            raise refused(problem or "pass_revoked")
        await audit.insert_audit_event(
            conn,
            now=now,
            actor_kind="steward_pass",
            actor_id=pass_id,
            action="steward_device_opened",
            subject_kind="steward_pass",
            subject_id=pass_id,
        )
        return await describe_pass(conn, row)

    info = await db.write(_open)
    # Opened again on the same phone: it keeps its id, so it may still undo its own scans.
    device_id = device.id if trusted and device is not None else secrets.token_urlsafe(12)
    payload = {"p": pass_id, "k": _pin_fingerprint(pin_hash), "d": device_id}
    device_token = _serializer(secret_key).dumps(payload)
    opened = device_for_token(device_token, secret_key=secret_key)
    assert opened is not None
    return StewardSession(device_token, opened, info)


async def pass_info(db: Database, device: StewardDevice, *, now: dt.datetime) -> PassInfo:
    """The device's pass and the sessions it covers; PassRefused if it can no longer be used."""

    async def _read(conn: AsyncConnection) -> PassInfo:
        return await describe_pass(conn, await usable_pass(conn, device, now))

    return await db.read(_read)
