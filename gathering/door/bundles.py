"""The door's offline bundle (issue 15): what a steward's phone holds to answer scans with no
signal, without holding a list of people.

Per ticket the bundle has ``HMAC-SHA256(bundle_key, code)`` cut to ``HASH_BYTES`` (never the
code), its status, ticket type and a bitmap of the pass's sessions it has a confirmed place at,
and the display name (with access needs, if shared) sealed with AES-128-GCM under
``HKDF-SHA256(code, salt)``. The phone finds a record by hashing the code it scanned and opens
the name with that same code: the bundle alone names nobody, and a lost phone reveals no name,
email or code (codes are 128-bit random, so the hashes cannot be walked back).

The bundle key is per pass and PIN (changing the PIN, which stops every phone, changes it); a
revoked pass gets no bundle. The salt is new for every bundle, so each sealing key seals once
and a fixed nonce is safe (NIST SP 800-38D 8.2: a key never sees the same nonce twice).

Binary layout (big-endian): ``b"GDB2"``, a 4-byte header length, the header (UTF-8 JSON: pass,
times, key, salt, sessions, ticket types, sizes), then the tickets column by column: every hash,
every status byte, every ticket type byte (255: none), every session bitmap (``bitmap_bytes``
each), every sealed length (one byte each), then every sealed name (ciphertext and an 8-byte
GCM tag: the full tag's first 64 bits, as GCM truncates and Web Crypto's ``tagLength: 64``
checks).
Columns put the bytes that repeat (statuses, types, bitmaps, lengths) together, so the answer's
brotli or gzip coding takes them down to almost nothing; the hashes and sealed names are random
and stay as they are. About 35 bytes a ticket on the wire for a typical name.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import hmac
import json
import secrets
import struct
from dataclasses import dataclass

import brotli  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.door import bundle_queries, queries
from gathering.door.bundle_queries import BundleTicket
from gathering.door.devices import StewardDevice, usable_pass
from gathering.door.queries import StewardPass

MAGIC = b"GDB2"
VERSION = 2
HASH_BYTES = 8  # 64 bits: no two of a gathering's tickets share one (2^-35 for 10 000)
SALT_BYTES = 16
KEY_INFO = b"gathering door name v1"
NONCE = bytes(12)  # each sealing key is used once (a fresh salt per bundle)
# GCM tags cut to 64 bits: NIST SP 800-38D Appendix C allows them for packets up to 2^15 bytes
# and up to 2^32 decryptions under one key; a sealed name is under 120 bytes and its key is
# derived per ticket and per bundle. The tag only tells the phone a name opened untouched (the
# keyed hash already found the ticket); 2^-64 a forgery is plenty for that.
TAG_BYTES = 8
MAX_PLAINTEXT = 88  # the name and shared access needs, cut to this (keeps a ticket <= 120 B)
NO_TICKET_TYPE = 255
# Registration statuses as one byte; the phone says "cancelled" or "not confirmed" by these.
STATUS_CODES = {"confirmed": 0, "cancelled": 1, "pending": 2}


# Brotli's quality 5 takes the columns of 10 000 tickets to the random bytes' size in a few ms.
BROTLI_QUALITY = 5


def coded(content: bytes, accepted: frozenset[str]) -> tuple[bytes, str | None]:
    """The bundle in the best coding the phone accepts (brotli, gzip, none) and its name.

    Compressing is safe here (no BREACH): nothing a registrant chooses is in the bundle in clear
    (names are sealed before compression), and the rest is the service's or the organisers'.
    """
    if "br" in accepted:
        return brotli.compress(content, quality=BROTLI_QUALITY), "br"
    if "gzip" in accepted:
        return gzip.compress(content, compresslevel=6, mtime=0), "gzip"
    return content, None


@dataclass(frozen=True)
class Bundle:
    content: bytes
    tickets: int
    expires_at: dt.datetime


def bundle_key(secret_key: str, pass_row: StewardPass) -> bytes:
    """The pass's bundle key: from the service's secret, the pass and its PIN's hash."""
    message = f"gathering.door-bundle\0{pass_row.id}\0{pass_row.pin_hash}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).digest()


def ticket_hash(key: bytes, code: str) -> bytes:
    """The full keyed hash of a (normalised) ticket code; the bundle keeps its first bytes."""
    return hmac.new(key, code.encode(), hashlib.sha256).digest()


def _cut(text: str, limit: int) -> str:
    data = text.encode()[:limit]
    return data.decode("utf-8", errors="ignore")


def plaintext(ticket: BundleTicket) -> bytes:
    """What is sealed: the name, and after a newline the access needs if shared."""
    name = " ".join(ticket.name.split())
    needs = ""
    if ticket.share_access_needs and isinstance(ticket.answers, dict):
        needs = " ".join(str(ticket.answers.get("access_needs") or "").split())
    text = _cut(name, MAX_PLAINTEXT) if not needs else _cut(name, 60)
    if needs:
        text += "\n" + _cut(needs, MAX_PLAINTEXT - len(text.encode()) - 1)
    return text.encode()


def seal(code: str, salt: bytes, data: bytes) -> bytes:
    """AES-GCM under HKDF(code, salt): only someone holding the code can open it."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key = HKDF(algorithm=hashes.SHA256(), length=16, salt=salt, info=KEY_INFO).derive(code.encode())
    sealed = AESGCM(key).encrypt(NONCE, data, None)  # ciphertext + 16-byte tag
    return sealed[: len(sealed) - 16 + TAG_BYTES]


def pack(
    *,
    key: bytes,
    salt: bytes,
    pass_row: StewardPass,
    session_ids: list[int],
    tickets: list[BundleTicket],
    places: dict[int, set[int]],
    now: dt.datetime,
) -> bytes:
    """The bundle's bytes (see the module docstring for the layout)."""
    type_names = sorted({t.ticket_type for t in tickets if t.ticket_type is not None})[:254]
    type_index = {name: i for i, name in enumerate(type_names)}
    session_bit = {s: i for i, s in enumerate(session_ids)}
    bitmap_bytes = (len(session_ids) + 7) // 8
    header = {
        "v": VERSION,
        "pass_id": pass_row.id,
        "generated_at": now.isoformat(),
        "expires_at": pass_row.valid_until.isoformat(),
        "key": base64.b64encode(key).decode(),
        "salt": base64.b64encode(salt).decode(),
        "info": KEY_INFO.decode(),
        "hash_bytes": HASH_BYTES,
        "tag_bytes": TAG_BYTES,
        "sessions": session_ids,
        "bitmap_bytes": bitmap_bytes,
        "ticket_types": type_names,
        "count": len(tickets),
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    hashes, statuses, types, bitmaps, lengths, names = (bytearray() for _ in range(6))
    for ticket in tickets:
        bits = 0
        for session_id in places.get(ticket.id, ()):
            bits |= 1 << session_bit[session_id]
        sealed = seal(ticket.code, salt, plaintext(ticket)) if ticket.status == "confirmed" else b""
        hashes += ticket_hash(key, ticket.code)[:HASH_BYTES]
        statuses.append(STATUS_CODES.get(ticket.status, 1))
        types.append(type_index.get(ticket.ticket_type or "", NO_TICKET_TYPE))
        bitmaps += bits.to_bytes(bitmap_bytes, "little")
        lengths.append(len(sealed))
        names += sealed
    out = bytearray(MAGIC + struct.pack(">I", len(head)) + head)
    for column in (hashes, statuses, types, bitmaps, lengths, names):
        out += column
    return bytes(out)


async def offline_bundle(
    db: Database, device: StewardDevice, *, now: dt.datetime, secret_key: str
) -> Bundle:
    """The bundle for the device's pass; PassRefused if the pass cannot be used now."""

    async def _read(
        conn: AsyncConnection,
    ) -> tuple[StewardPass, list[int], list[BundleTicket], dict[int, set[int]]]:
        pass_row = await usable_pass(conn, device, now)
        session_ids = [s.id for s in await queries.sessions_on_pass(conn, pass_row)]
        tickets = await bundle_queries.bundle_tickets(conn, pass_row, session_ids)
        places: dict[int, set[int]] = {}
        for place in await bundle_queries.confirmed_places(conn, pass_row, session_ids):
            places.setdefault(place.registration_id, set()).add(place.session_id)
        return pass_row, session_ids, tickets, places

    pass_row, session_ids, tickets, places = await db.read(_read)
    content = pack(
        key=bundle_key(secret_key, pass_row),
        salt=secrets.token_bytes(SALT_BYTES),
        pass_row=pass_row,
        session_ids=session_ids,
        tickets=tickets,
        places=places,
        now=now,
    )
    return Bundle(content, len(tickets), pass_row.valid_until)
