"""Dates and times on the organiser's pages, in the reader's language (issue 18).

Babel's CLDR patterns, so Welsh gets its own day and month names ("Sad 21 Medi"). English is
written in CLDR's plain English, whose short names are the ones these pages always printed
("Sat 21 Sep"), not en_GB's "Sept".
"""

from __future__ import annotations

import datetime as dt

from babel import dates as babel_dates

from gathering.core import i18n

SHORT = "EEE dd MMM HH:mm"  # 'Sat 21 Sep 14:05'
SHORT_WITH_YEAR = "EEE dd MMM y HH:mm"  # 'Sat 21 Sep 2019 14:05'
DAY_AND_MONTH = "d MMM"  # '21 Sep'


def _locale() -> str:
    language = i18n.current_language()
    return "en" if language == i18n.DEFAULT_LANGUAGE else language


def when(moment: dt.datetime | dt.date, pattern: str = SHORT) -> str:
    """``moment`` (a local time, as the pages hold them) written with a CLDR ``pattern``; Welsh
    days of the month without a leading zero ('Sul 1 Medi')."""
    if _locale() != "en":
        pattern = pattern.replace("dd", "d")
    if isinstance(moment, dt.datetime):
        return babel_dates.format_datetime(moment, pattern, locale=_locale())
    return babel_dates.format_date(moment, pattern, locale=_locale())
