"""Registration windows (issue 16): whether a gathering, and each of its sessions, takes
registrations now, and why not.

One rule for every place that asks: the registration form and its POST, the JSON API, the public
pages (their "Register" button and the sentence saying why there is none) and the organiser's
pages.

- The organisers open registration (``registration_open``) and may bound it with an opening and
  a closing time (``registration_opens_at`` / ``registration_closes_at``, either may be empty).
- Nobody registers before the programme is released.
- It closes by itself when the gathering has ended (midnight after its last day, in its own
  zone): a past gathering is never bookable, whatever its settings say.
- A session takes registrations while its gathering does, inside its own window if it has one,
  and until it has ended; a full session still takes people onto its waiting list.

Every state carries the next instant at which time alone changes it (``changes_at``), so a page
showing it can be kept until then and no longer (``programme.page_cache``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import clock
from gathering.core.database import Database
from gathering.core.i18n import gettext
from gathering.programme.release import PublicSession
from gathering.registration import window_words as words
from gathering.registration.form import RegistrationPage
from gathering.registration.mail_text import moment_text
from gathering.registration.window_queries import (
    GatheringWindowRow,
    SessionWindowRow,
    gathering_and_session_window,
    gathering_window,
    session_windows,
)

Kind = Literal["open", "full", "not_yet", "closed", "ended", "unreleased", "cancelled"]


@dataclass(frozen=True)
class WindowState:
    """Whether registration is open, the sentence a person reads, and when that may change.

    ``message`` is the sentence's msgid (window_words); ``text`` is it in the reader's language,
    with ``moment`` on the gathering's clocks when it names one (made only when shown: the form
    judges every session's window and shows none of their sentences)."""

    kind: Kind
    message: str
    changes_at: dt.datetime | None = None  # the next boundary; None: not by time alone
    moment: dt.datetime | None = None
    timezone: str = "UTC"

    @property
    def text(self) -> str:
        sentence = gettext(self.message)
        if self.moment is None:
            return sentence
        return sentence.format(moment=moment_text(self.moment, self.timezone))

    @property
    def is_open(self) -> bool:
        return self.kind in ("open", "full")


class SessionLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def ends_at(self) -> dt.datetime: ...
    @property
    def places_left(self) -> int | None: ...
    @property
    def is_cancelled(self) -> bool: ...


@dataclass(frozen=True)
class WindowedPage(RegistrationPage):
    """The registration form's page with the state of its window (what the form says)."""

    window: WindowState = WindowState("closed", words.CLOSED)


def gathering_ends_at(ends_on: dt.date, timezone: str) -> dt.datetime:
    """Midnight after the gathering's last day, in its own zone, as a UTC instant."""
    zone = zoneinfo.ZoneInfo(timezone)
    midnight = dt.datetime.combine(ends_on + dt.timedelta(days=1), dt.time(0, 0), zone)
    return midnight.astimezone(dt.UTC)


def _earliest(*moments: dt.datetime | None) -> dt.datetime | None:
    found = [m for m in moments if m is not None]
    return min(found) if found else None


def gathering_state(row: GatheringWindowRow, now: dt.datetime) -> WindowState:
    """The gathering's registration state at ``now``."""
    ends = gathering_ends_at(row.ends_on, row.timezone)
    if now >= ends:
        return WindowState("ended", words.GATHERING_ENDED)
    if row.released_version <= 0:
        return WindowState("unreleased", words.NOT_RELEASED)
    if not row.registration_open:
        return WindowState("closed", words.NOT_OPENED)
    opens, closes = row.registration_opens_at, row.registration_closes_at
    if opens is not None and now < opens:
        return WindowState("not_yet", words.OPENS_ON, opens, opens, row.timezone)
    if closes is not None and now >= closes:
        return WindowState("closed", words.CLOSED_ON, ends, closes, row.timezone)
    until = _earliest(closes, ends)
    if closes:
        return WindowState("open", words.OPEN_UNTIL, until, closes, row.timezone)
    return WindowState("open", words.OPEN, until)


def session_state(
    gathering: GatheringWindowRow,
    session: SessionLike,
    own: SessionWindowRow | None,
    now: dt.datetime,
    overall: WindowState | None = None,
) -> WindowState:
    """A session's registration state at ``now``: its gathering's (``overall`` when the caller
    has it already), narrowed by its own."""
    if session.is_cancelled:
        return WindowState("cancelled", words.SESSION_CANCELLED)
    if now >= session.ends_at:
        return WindowState("ended", words.SESSION_ENDED)
    if overall is None:
        overall = gathering_state(gathering, now)
    if not overall.is_open:
        return dataclasses.replace(
            overall, changes_at=_earliest(overall.changes_at, session.ends_at)
        )
    opens = own.registration_opens_at if own is not None else None
    closes = own.registration_closes_at if own is not None else None
    zone = gathering.timezone
    if opens is not None and now < opens:
        return WindowState(
            "not_yet", words.OPENS_ON, _earliest(opens, overall.changes_at), opens, zone
        )
    if closes is not None and now >= closes:
        return WindowState("closed", words.CLOSED_ON, session.ends_at, closes, zone)
    until = _earliest(closes, overall.changes_at, session.ends_at)
    if session.places_left == 0:
        return WindowState("full", words.FULL, until)
    if closes is None:
        return dataclasses.replace(overall, changes_at=until)
    return WindowState("open", words.OPEN_UNTIL, until, closes, zone)


# --- what registering and the pages call ------------------------------------------------------


async def within_window(
    conn: AsyncConnection, gathering_id: int, page: RegistrationPage, now: dt.datetime | None = None
) -> WindowedPage:
    """The registration form's page as its window allows it now: open or not (and why), and
    only the sessions that take registrations."""
    row = await gathering_window(conn, gathering_id=gathering_id)
    own = await session_windows(conn, gathering_id) if row is not None else {}
    return windowed(page, row, own, now or clock.utc_now())


def windowed(
    page: RegistrationPage,
    row: GatheringWindowRow | None,
    own: dict[int, SessionWindowRow],
    now: dt.datetime,
) -> WindowedPage:
    """``page`` as its windows (read by ``within_window``, or kept) allow it at ``now``."""
    if row is None:  # read in the same unit as the page: cannot happen
        return _windowed(page, page.sessions, WindowState("closed", words.CLOSED))
    state = gathering_state(row, now)
    sessions = tuple(
        s for s in page.sessions if session_state(row, s, own.get(s.id), now, state).is_open
    )
    return _windowed(page, sessions, state)


def _windowed(
    page: RegistrationPage, sessions: tuple[PublicSession, ...], state: WindowState
) -> WindowedPage:
    return WindowedPage(
        programme=page.programme,
        is_open=page.is_open and state.is_open,
        ticket_types=page.ticket_types,
        questions=page.questions,
        sessions=sessions,
        organisations=page.organisations,
        window=state,
    )


def why_closed(page: RegistrationPage) -> str:
    """What a refused registration is told: the window's own reason."""
    if isinstance(page, WindowedPage) and not page.window.is_open:
        return page.window.text
    return gettext(words.CLOSED)


async def gathering_page_state(
    db: Database, gathering_id: int, now: dt.datetime | None = None
) -> WindowState:
    """The gathering's state for its public programme page."""

    async def _read(conn: AsyncConnection) -> WindowState:
        row = await gathering_window(conn, gathering_id=gathering_id)
        if row is None:
            return WindowState("closed", words.CLOSED)
        return gathering_state(row, now or clock.utc_now())

    return await db.read(_read)


async def session_page_state(
    db: Database, gathering_id: int, session: SessionLike, now: dt.datetime | None = None
) -> WindowState:
    """A session's state for its public page."""

    async def _read(conn: AsyncConnection) -> WindowState:
        found = await gathering_and_session_window(conn, gathering_id, session.id)
        if found is None:
            return WindowState("closed", words.CLOSED)
        row, own = found
        return session_state(row, session, own, now or clock.utc_now())

    return await db.read(_read)
