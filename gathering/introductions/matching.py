"""Matching people by the constituency they typed: pure functions, no database.

Two answers name the same CLP when they agree after normalising: Unicode compatibility forms,
case, "&" read as "and", punctuation as spaces, runs of spaces, and a trailing "CLP",
"Constituency Labour Party", "Labour Party" or "Constituency" dropped. So "Brighton, Kemptown
CLP", "brighton kemptown" and "Brighton Kemptown Constituency Labour Party" match, and "Hove &
Portslade" matches "Hove and Portslade". An answer that normalises to nothing matches no one.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

_SUFFIXES = ("constituency labour party", "labour party", "constituency", "clp")
_PUNCTUATION = re.compile(r"[^\w\s]|_")


def constituency_key(text: str) -> str:
    """The normalised form two answers must share to name the same CLP ("" for none)."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("&", " and ")
    words = " ".join(_PUNCTUATION.sub(" ", folded).split())
    changed = True
    while changed and words:
        changed = False
        for suffix in _SUFFIXES:
            if words == suffix:
                return ""
            if words.endswith(" " + suffix):
                words = words[: -len(suffix) - 1].rstrip()
                changed = True
    return words


class HasConstituency(Protocol):
    @property
    def constituency(self) -> str: ...


P = TypeVar("P", bound=HasConstituency)


@dataclass(frozen=True)
class Group(Generic[P]):
    """The people who gave one CLP; ``label`` is its most common spelling."""

    key: str
    label: str
    people: tuple[P, ...]


def group_by_constituency(people: Iterable[P]) -> list[Group[P]]:
    """People grouped by normalised constituency (answers normalising to nothing left out),
    largest first; each group in the order given."""
    groups: dict[str, list[P]] = {}
    for person in people:
        key = constituency_key(person.constituency)
        if key:
            groups.setdefault(key, []).append(person)
    return sorted(
        (Group(key, _label(members), tuple(members)) for key, members in groups.items()),
        key=lambda g: (-len(g.people), g.key),
    )


def _label(members: Sequence[HasConstituency]) -> str:
    spellings = Counter(" ".join(m.constituency.split()) for m in members)
    return sorted(spellings.items(), key=lambda item: (-item[1], item[0]))[0][0]
