"""The UK's Westminster constituencies (2024 boundaries), shipped as data, and an answer naming
one read as its canonical name (issue 16): so dashboards and introductions count by CLP reliably
whatever the spelling ("hove & portslade CLP" is "Hove and Portslade").

The list is ``gathering/data/constituencies.txt`` (its header names the source). An answer that
names no constituency on the list is kept as typed (cleaned of extra spaces): people abroad, or
a CLP named otherwise, can still say where they are from.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib import resources

from gathering.introductions.matching import constituency_key

QUESTION_KEY = "constituency"  # the standard question the picker serves
DATA_FILE = "data/constituencies.txt"


@cache
def names() -> tuple[str, ...]:
    """Every constituency's name, alphabetical (650)."""
    text = resources.files("gathering").joinpath(DATA_FILE).read_text(encoding="utf-8")
    lines = (line.strip() for line in text.splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


def key(text: str) -> str:
    """The matching key: ``introductions.matching.constituency_key`` without accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return constituency_key(plain)


@cache
def _by_key() -> dict[str, str]:
    return {key(name): name for name in names()}


def canonical(text: str) -> str:
    """The list's name for the constituency ``text`` names, or ``text`` cleaned if none."""
    cleaned = " ".join(text.split())
    return _by_key().get(key(cleaned), cleaned)


def canonical_answer(question_key: str, value: str) -> str:
    """An answer as stored: a constituency answer by its canonical name, others as given."""
    return canonical(value) if question_key == QUESTION_KEY and value else value
