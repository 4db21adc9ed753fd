"""Finding and blanking personal values in free text: audit details, door answers, throttle keys.

Pure functions over plain JSON values, shared by the retention purge (a whole gathering's people)
and by one person's erasure. Decoding and searching happen off the event loop (the callers run
them in a worker thread when there are many rows).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gathering.privacy.retention_queries import PersonalValues, StoredAudit, StoredScan

ERASED = "[erased]"
# What a stored door answer may keep: the outcome, never who it was about.
SCAN_KEPT = ("status", "reason", "kind", "session_id", "at", "first_at", "door")
SCAN_PERSONAL = ("name", "ticket_type", "access_needs")
MIN_NEEDLE = 4
# Detail keys holding what an organiser or steward typed to find people (attendee list filter,
# help-desk search). The service no longer logs them; older events still hold them.
SEARCH_KEYS = frozenset({"query", "q", "search"})
# Detail keys holding free text someone typed about people: a message's subject (issue 14: "Sam,
# your room changed"), an export's note. A purge erases every string under them (and under
# SEARCH_KEYS), whoever it names; structured facts (counts, ids, scopes, flags) stay.
FREE_TEXT_KEYS = frozenset({"subject", "note", "message", "body", "comment"}) | SEARCH_KEYS
_WORD = re.compile(r"\w+")

# Plain JSON, as stored in an audit detail or a door answer.
Json = Any


def personal_strings(people: Iterable[PersonalValues]) -> frozenset[str]:
    """Every personal value of these registrations worth searching for: names, addresses,
    ticket codes and link secrets (lower-cased, so an address typed in capitals matches too)."""
    found: set[str] = set()
    for person in people:
        for value in person.searchable():
            if value.strip():
                found.add(value.strip().casefold())
    return frozenset(found)


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.casefold()))


@dataclass(frozen=True)
class Needles:
    """The personal values of some registrations, ready to be looked for in free text.

    A string holds a value if it is the value (in any case, outer spaces aside) or, for values
    of MIN_NEEDLE characters or more, if the value's words come one after another among the
    string's words: "Sent to Sam Okafor <sam.okafor@example.org>" holds both "Sam Okafor" and
    the address. A very short name ("Al") is only found where it is the whole value, or every
    string with those letters in it would go. Found by set lookups, so searching for ten thousand
    people costs no more than searching for one.
    """

    whole: frozenset[str] = frozenset()
    runs: frozenset[tuple[str, ...]] = frozenset()
    lengths: tuple[int, ...] = ()  # how many words the runs have

    @classmethod
    def of(cls, people: Iterable[PersonalValues]) -> Needles:
        """The needles of these registrations' values."""
        whole = personal_strings(people)
        runs = frozenset(
            words for value in whole if len(value) >= MIN_NEEDLE and (words := _words(value))
        )
        return cls(whole, runs, tuple(sorted({len(run) for run in runs})))

    def held_by(self, text: str) -> bool:
        """Whether ``text`` holds one of the values (see the class notes)."""
        if text.strip().casefold() in self.whole:
            return True
        if not self.runs:
            return False
        words = _words(text)
        return any(
            words[start : start + size] in self.runs
            for size in self.lengths
            for start in range(len(words) - size + 1)
        )


def scrubbed(
    value: Json,
    needles: Needles,
    *,
    every_string: bool = False,
    free_text: frozenset[str] = frozenset(),
) -> Json:
    """``value`` (plain JSON) with each string holding a personal value replaced by [erased];
    with ``every_string``, every string at all; and every string under a key in ``free_text``
    (what someone typed, which may name people in ways no search finds). Numbers and booleans
    stay for statistics."""
    if isinstance(value, dict):
        return {
            k: scrubbed(
                v,
                needles,
                every_string=every_string or k in free_text,
                free_text=free_text,
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrubbed(v, needles, every_string=every_string, free_text=free_text) for v in value]
    if isinstance(value, str) and value not in ("", ERASED):
        return ERASED if every_string or needles.held_by(value) else value
    return value


@dataclass(frozen=True)
class AuditRule:
    """How the details of a gathering's audit events are scrubbed: personal values found, every
    search typed, and (in a purge) every free text and every string its steward passes logged,
    all of which was about its attendees."""

    needles: Needles
    steward_passes: frozenset[int] = frozenset()
    free_text: frozenset[str] = SEARCH_KEYS

    def scrubbed(self, event: DecodedAudit) -> Json:
        """The event's detail as the rule leaves it."""
        every = event.actor_kind == "steward_pass" and event.actor_id in self.steward_passes
        return scrubbed(event.detail, self.needles, every_string=every, free_text=self.free_text)


@dataclass(frozen=True)
class DecodedAudit:
    """An audit event with its detail decoded."""

    id: int
    actor_kind: str
    actor_id: int | None
    detail: Json


@dataclass(frozen=True)
class DecodedScan:
    """A door answer (scan) with its stored response decoded."""

    id: int
    response: Json


def decoded_audit(rows: Iterable[StoredAudit]) -> list[DecodedAudit]:
    """Audit events read with their detail as JSON text, decoded."""
    return [DecodedAudit(e.id, e.actor_kind, e.actor_id, json.loads(e.detail_json)) for e in rows]


def decoded_scans(rows: Iterable[StoredScan]) -> list[DecodedScan]:
    """Door answers read with their response as JSON text, decoded."""
    return [DecodedScan(s.id, json.loads(s.response_json)) for s in rows]


def scan_kept(response: Json) -> dict[str, Json] | None:
    """A stored door answer without who it was about; None if there is nothing to erase."""
    if not isinstance(response, dict) or all(response.get(k) is None for k in SCAN_PERSONAL):
        return None
    return {k: v for k, v in response.items() if k in SCAN_KEPT}


def audit_changes(events: Iterable[DecodedAudit], rule: AuditRule) -> list[tuple[int, Json]]:
    """(id, new detail) of the events whose details the rule changes."""
    changes = []
    for event in events:
        new = rule.scrubbed(event)
        if new != event.detail:
            changes.append((event.id, new))
    return changes


def scan_changes(scans: Iterable[DecodedScan]) -> list[tuple[int, dict[str, Json]]]:
    """(id, answer kept) of the door answers that say who they were about."""
    return [(s.id, kept) for s in scans if (kept := scan_kept(s.response)) is not None]


def audit_to_scrub(rows: Sequence[StoredAudit], rule: AuditRule) -> tuple[int, ...]:
    """Ids of the audit events (read with their detail as text) whose details the rule changes.
    CPU work, for a worker thread."""
    return tuple(event_id for event_id, _ in audit_changes(decoded_audit(rows), rule))


def scans_to_scrub(rows: Sequence[StoredScan]) -> tuple[int, ...]:
    """Ids of the door answers that still say who they were about."""
    return tuple(scan_id for scan_id, _ in scan_changes(decoded_scans(rows)))


def matching_throttles(keys: Iterable[str], addresses: Iterable[str]) -> list[str]:
    """Throttle keys counting attempts for one of these addresses (``reset:<address>``)."""
    wanted = {a.strip().casefold() for a in addresses if a}
    return [
        key
        for key in keys
        if key.casefold() in wanted or key.partition(":")[2].casefold() in wanted
    ]
