from __future__ import annotations

import math
import re

from gathering.registration.tickets import ALPHABET, LENGTH, new_ticket_code

QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def test_ticket_codes_carry_at_least_128_bits_in_qr_alphanumeric_mode() -> None:
    assert LENGTH * math.log2(len(ALPHABET)) >= 128
    assert set(ALPHABET) <= QR_ALPHANUMERIC
    assert not set("01OIL") & set(ALPHABET)


def test_ticket_codes_are_unique_and_well_formed() -> None:
    codes = {new_ticket_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(re.fullmatch(f"[{ALPHABET}]{{{LENGTH}}}", code) for code in codes)
