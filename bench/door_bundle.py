"""The door's offline bundle, measured (issue 15): build time and size for 10 000 tickets.

``python -m bench.door_bundle`` packs a bundle for ``--tickets`` confirmed tickets (names of
realistic lengths, one in five with shared access needs, places at one of eight sessions) with
``gathering.door.bundles.pack``, as ``GET /door/api/bundle`` does after its two reads, and
prints the best build time of a few rounds (packing, then coding as the answer is sent), the
size before and after the answer's brotli coding (the hashes and sealed names are random bytes;
the columns of statuses, types, bitmaps and lengths shrink to almost nothing), the bytes per
ticket and how long the download takes on slow links. The target: at most 120 bytes a ticket,
under 2 s to download 10 000 on a slow link (Lighthouse's "slow 4G", 1.6 Mbit/s, and its
150 ms round trip).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import secrets
import time

from gathering.door import bundles
from gathering.door.bundle_queries import BundleTicket
from gathering.door.queries import StewardPass
from gathering.registration.tickets import new_ticket_code

FIRST = ["Ann", "Bola", "Chiara", "Dmitri", "Eilidh", "Farhan", "Grace", "Hamid", "Ioana", "Jo"]
LAST = ["Okafor", "McAllister", "Nowak-Lewandowska", "Smith", "O'Brien", "Ramaswamy", "Lee"]
NEEDS = ["Step-free route, please", "Hearing loop", "BSL interpreter", "Seat near the door"]
LINKS = {"3G (400 kbit/s)": 400_000, "slow 4G (1.6 Mbit/s)": 1_600_000, "4G (9 Mbit/s)": 9_000_000}
ROUND_TRIP = 0.150  # seconds: the request before the first byte comes back


def tickets(count: int, seed: int = 15) -> tuple[list[BundleTicket], dict[int, set[int]]]:
    """Synthetic confirmed tickets and their places at sessions 1-8."""
    chance = random.Random(seed)
    made, places = [], {}
    for i in range(count):
        name = f"{chance.choice(FIRST)} {chance.choice(LAST)}"
        shares = chance.random() < 0.2
        answers = {"access_needs": chance.choice(NEEDS)} if shares else {}
        made.append(
            BundleTicket(i, new_ticket_code(), name, "confirmed", answers, shares, "Standard")
        )
        places[i] = {chance.randint(1, 8)}
    return made, places


def bench_pass(now: dt.datetime) -> StewardPass:
    """A steward pass for pass 1, valid for eight hours from ``now``."""
    return StewardPass(
        1,
        1,
        "Bench",
        "$argon2$bench",
        True,
        now,
        now + dt.timedelta(hours=8),
        None,
        None,
        True,
        now.date(),
        now.date(),
        "Europe/London",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    now = dt.datetime.now(dt.UTC)
    pass_row = bench_pass(now)
    made, places = tickets(args.tickets)
    best, coding, content, sent = float("inf"), float("inf"), b"", b""
    for _ in range(args.rounds):
        started = time.perf_counter()
        content = bundles.pack(
            key=secrets.token_bytes(32),
            salt=secrets.token_bytes(bundles.SALT_BYTES),
            pass_row=pass_row,
            session_ids=list(range(1, 9)),
            tickets=made,
            places=places,
            now=now,
        )
        packed = time.perf_counter()
        sent, _name = bundles.coded(content, frozenset({"br"}))
        best = min(best, packed - started)
        coding = min(coding, time.perf_counter() - packed)
    size, wire = len(content), len(sent)
    print(f"tickets: {args.tickets}")
    print(
        f"build (best of {args.rounds}): {best * 1000:.0f} ms, brotli coding {coding * 1000:.0f} ms"
    )
    print(f"size: {size:,} bytes, {size / args.tickets:.1f} bytes a ticket (target <= 120)")
    print(f"on the wire (br): {wire:,} bytes, {wire / args.tickets:.1f} bytes a ticket")
    for link, bits in LINKS.items():
        print(f"download on {link}: {ROUND_TRIP + wire * 8 / bits:.2f} s (one round trip included)")


if __name__ == "__main__":
    main()
