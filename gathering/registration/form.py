"""The registration form: what it offers for a gathering, and checking what was typed into it."""

from __future__ import annotations

import dataclasses
import secrets
import unicodedata
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth.accounts import check_email
from gathering.core import clock, i18n
from gathering.core.database import Database
from gathering.core.errors import InvalidInput, NotFound
from gathering.core.i18n import gettext, ngettext
from gathering.organiser.constituencies import canonical_answer
from gathering.programme import queries as programme_queries
from gathering.programme.queries import GatheringRow
from gathering.programme.release import Programme, PublicSession, programme_for_row
from gathering.registration import queries, window_queries, words
from gathering.registration.question_wording import question_wording
from gathering.registration.window_queries import GatheringWindowRow, SessionWindowRow

CONTACT = "contact"  # consent purpose: contact by a named organisation
MATCH = "constituency_match"  # consent purpose: put in touch with others in the same CLP


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    hint: str = ""


@dataclass(frozen=True)
class Question:
    key: str
    label: str
    help: str
    is_required: bool


@dataclass(frozen=True)
class RegistrationPage:
    programme: Programme
    is_open: bool
    ticket_types: tuple[Choice, ...]
    questions: tuple[Question, ...]
    sessions: tuple[PublicSession, ...]  # released, not cancelled
    organisations: tuple[Choice, ...]  # for per-organisation contact consent


@dataclass(frozen=True)
class RegistrationInput:
    name: str = ""
    email: str = ""
    ticket_type_id: str = ""
    answers: dict[str, str] = field(default_factory=dict)
    session_ids: tuple[str, ...] = ()
    invite_codes: dict[str, str] = field(default_factory=dict)  # session id -> code
    contact_organisation_ids: tuple[str, ...] = ()
    constituency_match: bool = False
    share_access_needs: bool = False


@dataclass(frozen=True)
class CheckedForm:
    """A registration form that passed every check that does not depend on who registers."""

    name: str
    email: str
    ticket_type_id: int | None
    answers: dict[str, str]
    sessions: tuple[PublicSession, ...]
    contacts: tuple[Choice, ...]  # organisations the person agreed may contact them
    constituency_match: bool
    share_access_needs: bool


# The form's page is kept per database and gathering for the public generation it was read at
# (core.schema_public: raised in the same transaction as every write to the gathering, its
# releases, sessions' windows, ticket types, questions and session hosts), so a request reads
# that one number instead of the seven statements that build the page: the registration POST
# and its form page are the rush's hot path. Places left and the time window are applied per
# request on top (the places are read live; the window's edges are instants, not writes).
_PAGE_CACHE_SIZE = 64


@dataclass
class _KeptPage:
    generation: int
    row: GatheringRow
    page: RegistrationPage  # places left not read, window not applied
    window: GatheringWindowRow | None
    own: dict[int, SessionWindowRow]
    # The sessions with places left, as last read: rebuilt only when a count has changed.
    taken: tuple[int, ...] | None = None
    with_places: tuple[PublicSession, ...] = ()

    def sessions_with(self, taken: dict[int, int]) -> tuple[PublicSession, ...]:
        """The page's sessions with their places left (``taken``: places taken by session)."""
        sessions = self.page.programme.sessions
        now = tuple(taken.get(s.id, 0) for s in sessions)
        if now != self.taken:
            self.with_places = tuple(
                s
                if s.capacity is None
                else dataclasses.replace(s, places_left=max(s.capacity - count, 0))
                for s, count in zip(sessions, now, strict=True)
            )
            self.taken = now
        return self.with_places


# Keyed by language too (issue 18): the sessions' titles are in the reader's where given.
_pages: OrderedDict[tuple[str, str, str], _KeptPage] = OrderedDict()


async def _build_page(conn: AsyncConnection, slug: str, generation: int) -> _KeptPage:
    row = await programme_queries.gathering_row(conn, slug=slug)
    if row is None:
        raise NotFound(gettext(words.NO_GATHERING))
    programme = await programme_for_row(conn, row, live_places=False)
    page = RegistrationPage(
        programme=programme,
        is_open=bool(row.registration_open) and programme.release is not None,
        ticket_types=tuple(
            Choice(str(t.id), t.name, t.suggested_contribution)
            for t in await queries.ticket_types(conn, row.id)
        ),
        questions=tuple(
            Question(q.key, q.label, q.help, q.is_required)
            for q in await queries.questions(conn, row.id)
        ),
        sessions=tuple(s for s in programme.sessions if not s.is_cancelled),
        organisations=tuple(
            Choice(str(o.id), o.name)
            for o in await queries.consent_organisations(conn, row.id, row.host_organisation_id)
        ),
    )
    window = await window_queries.gathering_window(conn, gathering_id=row.id)
    own = await window_queries.session_windows(conn, row.id) if window is not None else {}
    return _KeptPage(generation, row, page, window, own)


async def _kept_page(conn: AsyncConnection, slug: str) -> tuple[_KeptPage, bool]:
    """The gathering's kept page, read again if the public generation moved; and whether it is
    kept (False: the generation row is missing, so the page was read for this request only)."""
    generation = await queries.public_generation_number(conn)
    key = (str(conn.engine.url), slug, i18n.current_language())
    kept = _pages.get(key)
    if kept is None or generation is None or kept.generation != generation:
        # Read after the generation: a write between the two makes the number older than the
        # page, and the next request reads the page again (never the other way round).
        kept = await _build_page(conn, slug, -1 if generation is None else generation)
        if generation is not None:
            _pages[key] = kept
            if len(_pages) > _PAGE_CACHE_SIZE:
                _pages.popitem(last=False)
    else:
        _pages.move_to_end(key)
    return kept, generation is not None


async def _page_of(
    conn: AsyncConnection,
    kept: _KeptPage,
    live_places: bool,
    taken: dict[int, int] | None = None,
) -> tuple[GatheringRow, RegistrationPage]:
    """The kept page as it is now: with live places (``taken`` when already read) and its
    window applied."""
    from gathering.registration import windows  # issue 16; it builds on this module's page

    page = kept.page
    if live_places and page.programme.release is not None:
        # The kept page holds the release it was built from: the generation moves with every
        # release, so only the places taken are read here, not the release's head again.
        if taken is None:
            taken = await programme_queries.places_taken(conn, kept.row.id)
        programme = dataclasses.replace(page.programme, sessions=kept.sessions_with(taken))
        sessions = tuple(s for s in programme.sessions if not s.is_cancelled)
        page = dataclasses.replace(page, programme=programme, sessions=sessions)
    return kept.row, windows.windowed(page, kept.window, kept.own, clock.utc_now())


async def _live_page(conn: AsyncConnection, slug: str) -> tuple[_KeptPage, bool, RegistrationPage]:
    """The kept page (and whether it is kept) with live places and its window applied: while
    the kept page is current, the generation and the places are read in one statement."""
    key = (str(conn.engine.url), slug, i18n.current_language())
    kept = _pages.get(key)
    if kept is not None:
        generation, taken = await queries.generation_and_places(conn, kept.row.id)
        if generation is not None and generation == kept.generation:
            _pages.move_to_end(key)
            return kept, True, (await _page_of(conn, kept, True, taken))[1]
    kept, is_kept = await _kept_page(conn, slug)
    return kept, is_kept, (await _page_of(conn, kept, True))[1]


async def read_page(
    conn: AsyncConnection, slug: str, *, live_places: bool = True
) -> tuple[GatheringRow, RegistrationPage]:
    """The gathering ``slug`` and what its form offers now; NotFound if there is none."""
    kept, _is_kept = await _kept_page(conn, slug)
    return await _page_of(conn, kept, live_places)


async def registration_page(db: Database, slug: str) -> RegistrationPage:
    """What the registration form offers for the gathering ``slug``."""
    return (await registration_page_keyed(db, slug))[0]


async def registration_page_keyed(db: Database, slug: str) -> tuple[RegistrationPage, Hashable]:
    """``registration_page``, and a key that changes whenever anything the page shows may have
    (None when there is none to be had): the kept page's generation, the window's state, and
    the sessions offered with their places left."""
    from gathering.registration import windows  # issue 16; it builds on this module's page

    async def _read(conn: AsyncConnection) -> tuple[RegistrationPage, Hashable]:
        kept, is_kept, page = await _live_page(conn, slug)
        language = i18n.current_language()
        i18n.prefer_default(kept.row.default_language)  # issue 18: for a reader who chose none
        if i18n.current_language() != language:
            kept, is_kept, page = await _live_page(conn, slug)
        if not is_kept:
            return page, None
        window = page.window if isinstance(page, windows.WindowedPage) else None
        # Whether each session has places, is full or has no limit: how many are left is
        # filled in per request (``places_holes``), so a rush's registrations keep one page.
        places = tuple((s.id, _place_state(s.places_left)) for s in page.sessions)
        return page, (str(conn.engine.url), slug, kept.generation, page.is_open, window, places)

    page, key = await db.read(_read)
    i18n.prefer_default(page.programme.gathering.default_language)  # rendered in it too
    return page, key


def _place_state(places_left: int | None) -> str:
    return "unlimited" if places_left is None else ("full" if places_left == 0 else "open")


def places_holes(page: RegistrationPage) -> dict[str, str]:
    """Each session's "N places left", in the reader's language, for the kept form's holes."""
    return {
        f"places_{s.id}": ngettext("%(num)d place left", "%(num)d places left", s.places_left)
        % {"num": s.places_left}
        for s in page.sessions
        if s.places_left
    }


def clean_line(text: str) -> str:
    """One line of text without control characters or runs of spaces."""
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())


def checked_answers(
    given: dict[str, str], questions: tuple[Question, ...], errors: dict[str, str]
) -> dict[str, str]:
    """The answers worth keeping; adds an error per answer too long or required and missing."""
    answers: dict[str, str] = {}
    for q in questions:
        value = given.get(q.key, "").strip()
        if len(value) > words.MAX_ANSWER:
            errors[f"answer_{q.key}"] = gettext(words.ANSWER_TOO_LONG).format(
                limit=f"{words.MAX_ANSWER:,}"
            )
        elif q.is_required and not value:
            errors[f"answer_{q.key}"] = words.please_answer(question_wording(q)[0])
        elif value:
            answers[q.key] = canonical_answer(q.key, value)  # issue 16: a CLP by its name
    return answers


def check_form(form: RegistrationInput, page: RegistrationPage) -> CheckedForm:
    """The form, checked against what the page offers; InvalidInput names every bad field."""
    errors: dict[str, str] = {}
    name = clean_line(form.name)
    if not name:
        errors["name"] = gettext(words.NAME_MISSING)
    elif len(name) > words.MAX_NAME:
        errors["name"] = gettext(words.NAME_TOO_LONG).format(limit=words.MAX_NAME)
    email = ""
    try:
        email = check_email(form.email)
    except InvalidInput as error:
        errors.update(error.errors)
    ticket_type_id = None
    if page.ticket_types:
        if form.ticket_type_id not in {t.value for t in page.ticket_types}:
            errors["ticket_type_id"] = gettext(words.CHOOSE_TICKET_TYPE)
        else:
            ticket_type_id = int(form.ticket_type_id)
    answers = checked_answers(form.answers, page.questions, errors)
    offered = {str(s.id): s for s in page.sessions}
    chosen: list[PublicSession] = []
    for value in dict.fromkeys(form.session_ids):
        if value not in offered:
            errors["session_ids"] = gettext(words.CHOOSE_SESSIONS)
            break
        chosen.append(offered[value])
    for session in chosen:
        if session.access == "invite" and not form.invite_codes.get(str(session.id), "").strip():
            errors[f"invite_{session.id}"] = words.invite_code_needed(session.title)
    organisations = {o.value: o for o in page.organisations}
    contacts: list[Choice] = []
    for value in dict.fromkeys(form.contact_organisation_ids):
        if value not in organisations:
            errors["consent"] = gettext(words.CHOOSE_ORGANISATIONS)
            break
        contacts.append(organisations[value])
    if errors:
        raise InvalidInput(errors)
    return CheckedForm(
        name=name,
        email=email,
        ticket_type_id=ticket_type_id,
        answers=answers,
        sessions=tuple(chosen),
        contacts=tuple(contacts),
        constituency_match=form.constituency_match,
        share_access_needs=form.share_access_needs and "access_needs" in answers,
    )


async def check_invite_codes(
    conn: AsyncConnection, sessions: tuple[PublicSession, ...], form: RegistrationInput
) -> None:
    """Invite codes depend only on the code typed, so a wrong one may be said on the page."""
    errors = {}
    for session in sessions:
        if session.access != "invite":
            continue
        expected = await queries.invite_code(conn, session.id)
        given = form.invite_codes.get(str(session.id), "").strip().casefold()
        if not expected or not secrets.compare_digest(
            given.encode(), expected.strip().casefold().encode()
        ):
            errors[f"invite_{session.id}"] = words.invite_code_wrong(session.title)
    if errors:
        raise InvalidInput(errors)
