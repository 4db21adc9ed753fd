"""The calendar years a gathering and its sessions may fall in.

A date such as 9999-12-31 is valid to Python but breaks everything that adds to it (the retention
purge adds days after the end, the privacy page and the frab export add a day or compute
durations), so every save path refuses dates outside these years. 2000–2100 covers any real
gathering, past ones entered for the record included.
"""

from __future__ import annotations

import datetime as dt

FIRST_YEAR = 2000
LAST_YEAR = 2100


def is_within_bounds(day: dt.date) -> bool:
    """Whether ``day`` falls in the years a gathering may use (``FIRST_YEAR``–``LAST_YEAR``)."""
    return FIRST_YEAR <= day.year <= LAST_YEAR
