"""Ticket codes: opaque, random, small in a QR code, easy to read aloud or type."""

from __future__ import annotations

import math
import secrets

# QR alphanumeric mode holds 0-9 A-Z; leaving out 0 O 1 I L keeps codes unambiguous when typed.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = math.ceil(128 / math.log2(len(ALPHABET)))  # at least 128 bits of randomness


def new_ticket_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
