"""The one clock: instants are stored and compared in UTC."""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    """Now, as an aware UTC instant."""
    return dt.datetime.now(dt.UTC)
