"""The door's rules, for callers outside the door: one import for the whole of it.

The rules themselves live by topic: ``devices`` (opening a pass on a phone), ``scanning`` (scans
and undo), ``desk`` (the help desk), ``counts`` (numbers for the door), ``bounds`` (per-device
limits), ``passes`` (organisers making and revoking passes) and ``page_rules`` (what the door's
two pages show). Their words are in ``words``.
"""

from __future__ import annotations

from gathering.door.bounds import DeviceBounds, TooManyScans
from gathering.door.counts import Counts, counts
from gathering.door.desk import (
    MAX_MATCHES,
    MAX_SEARCHES_PER_PASS,
    SEARCH_WINDOW,
    SearchMatch,
    SearchResult,
    search,
)
from gathering.door.devices import (
    LINK_GUESSES,
    NETWORK_PIN_GUESSES,
    PIN_GUESSES,
    PassInfo,
    PassRefused,
    PassSession,
    StewardDevice,
    StewardSession,
    device_for_token,
    open_pass,
    pass_info,
)
from gathering.door.scanning import (
    ADMISSION_OPENS_BEFORE,
    UNDO_WINDOW,
    Kind,
    ScanResult,
    UndoResult,
    normalised_code,
    scan,
    undo,
)

__all__ = [
    "ADMISSION_OPENS_BEFORE",
    "LINK_GUESSES",
    "MAX_MATCHES",
    "MAX_SEARCHES_PER_PASS",
    "NETWORK_PIN_GUESSES",
    "PIN_GUESSES",
    "SEARCH_WINDOW",
    "UNDO_WINDOW",
    "Counts",
    "DeviceBounds",
    "Kind",
    "PassInfo",
    "PassRefused",
    "PassSession",
    "ScanResult",
    "SearchMatch",
    "SearchResult",
    "StewardDevice",
    "StewardSession",
    "TooManyScans",
    "UndoResult",
    "counts",
    "device_for_token",
    "normalised_code",
    "open_pass",
    "pass_info",
    "scan",
    "search",
    "undo",
]
