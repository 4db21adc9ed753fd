"""The one argon2 hasher, for organisers' passwords and steward PINs.

Its cost comes from ``GATHERING_PASSWORD_HASH_COST``: ``production`` (argon2-cffi's RFC 9106
low-memory profile: 3 passes over 64 MiB, 4 lanes) or ``test`` (1 pass over 8 KiB: thousands of
times cheaper, for the test suite only; the settings refuse it in production). ``create_app``
calls ``use_hash_cost`` once; a process has one cost. Verifying reads the cost from the hash
itself, so hashes made at either cost keep verifying.
"""

from __future__ import annotations

from typing import NamedTuple

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class HashCost(NamedTuple):
    time_cost: int  # passes
    memory_cost: int  # KiB
    parallelism: int  # lanes


HASH_COSTS = {"production": HashCost(3, 65536, 4), "test": HashCost(1, 8, 1)}


def _hasher_for(cost: HashCost) -> PasswordHasher:
    return PasswordHasher(
        time_cost=cost.time_cost, memory_cost=cost.memory_cost, parallelism=cost.parallelism
    )


# Stands for "no such account / pass": verify_password then checks against a hash made at the
# current cost, so a miss takes as long as a wrong secret. (A real hash of a discarded secret.)
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$aNI3/W4cdDD0DPqK7jQpNQ"
    "$zKTfWyDig5/NACV3kE0+lPYZFzSANSxs2tHEVUiaSbk"
)

_hasher = _hasher_for(HASH_COSTS["production"])
_dummies: dict[str, str] = {}
_cost = "production"


def use_hash_cost(cost: str) -> None:
    """Hash from now on at ``cost`` (a key of HASH_COSTS); ValueError for any other."""
    global _hasher, _cost
    if cost not in HASH_COSTS:
        raise ValueError(f"unknown password hash cost {cost!r}")
    _hasher = _hasher_for(HASH_COSTS[cost])
    _cost = cost


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` at the configured cost (slow on purpose)."""
    return _hasher.hash(password)


def _dummy_hash() -> str:
    if _cost not in _dummies:
        _dummies[_cost] = _hasher.hash("no account has this password")
    return _dummies[_cost]


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches the argon2 hash; None (or DUMMY_HASH) does the same work and
    is False. Checked in a worker thread: argon2 is deliberately slow."""
    if password_hash is None or password_hash == DUMMY_HASH:
        password_hash = _dummy_hash()
        matches_nobody = True
    else:
        matches_nobody = False
    hasher = _hasher

    def _check() -> bool:
        try:
            return hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(_check) and not matches_nobody
