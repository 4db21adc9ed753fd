"""The door's help desk: find someone who has no phone with them, narrowly, and admit them.

A search needs a first name and at least three letters of a surname, or a whole email address;
it finds only people with a place (not a waiting-list entry) in the pass's scope, at most
``MAX_MATCHES`` of them (else none), is throttled per pass, and is audited. Each match carries a
short-lived signed *ref* that a scan may send in place of a ticket code.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import audit, throttles
from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.i18n import gettext
from gathering.door import move_queries, queries, words
from gathering.door.devices import StewardDevice, refused, usable_pass

_REF_SALT = "gathering.door-ref"
REF_MAX_AGE = dt.timedelta(minutes=15)  # a help-desk match can be admitted for this long
MAX_SEARCHES_PER_PASS = 60  # per SEARCH_WINDOW: a help desk, not a way to read the list
SEARCH_WINDOW = dt.timedelta(minutes=15)
SEARCHES = throttles.AttemptRate(
    "door-search", MAX_SEARCHES_PER_PASS, SEARCH_WINDOW, words.TOO_MANY_SEARCHES
)
MAX_MATCHES = 5  # more than this: ask for more of the name instead of listing people
MAX_QUERY_LENGTH = 200
MAX_REF_LENGTH = 300
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class SearchMatch:
    """One person the help desk found: enough to recognise them, nothing more."""

    ref: str  # signed, short-lived: admits this person through ``scan`` without their code
    name: str
    ticket_type: str | None
    place: str | None  # their place at the session searched (None: the whole gathering)
    checked_in: bool  # inside now


@dataclass(frozen=True)
class SearchResult:
    matches: tuple[SearchMatch, ...]
    too_many: bool  # more than MAX_MATCHES matched: none are listed


def _ref_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_REF_SALT)


def registration_for_ref(ref: str, device: StewardDevice, secret_key: str) -> int | None:
    """The registration a help-desk match's ref names, if it is fresh and made for this pass."""
    if not ref or len(ref) > MAX_REF_LENGTH or not secret_key:
        return None
    try:  # the age is checked against the real clock, as the ref was signed with it
        data = _ref_serializer(secret_key).loads(ref, max_age=int(REF_MAX_AGE.total_seconds()))
    except BadSignature:  # SignatureExpired included
        return None
    if not isinstance(data, dict) or data.get("p") != device.pass_id:
        return None
    registration_id = data.get("r")
    return registration_id if isinstance(registration_id, int) else None


def _words(text: str) -> list[str]:
    return [w.casefold() for w in re.split(r"[\s,]+", text) if w]


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _search_terms(query: str) -> tuple[str | None, list[str]]:
    """(email, []) or (None, [first name, surname start]); InvalidInput if too vague."""
    query = " ".join(query.split())
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInput({"query": gettext(words.QUERY_TOO_LONG)})
    if "@" in query:
        if not _EMAIL.fullmatch(query):
            raise InvalidInput({"query": words.not_an_email()})
        return query.casefold(), []
    terms = _words(query)
    if len(terms) < 2 or _letters(terms[0]) < 1 or _letters(terms[-1]) < 3:
        raise InvalidInput({"query": gettext(words.QUERY_HELP)})
    return None, [terms[0], terms[-1]]


def _name_matches(name: str, first: str, surname_start: str) -> bool:
    terms = _words(name)
    return (
        len(terms) >= 2
        and terms[0] == first
        and any(term.startswith(surname_start) for term in terms[1:])
    )


async def search(
    db: Database,
    device: StewardDevice,
    query: str,
    *,
    session_id: int | None,
    now: dt.datetime,
    secret_key: str,
) -> SearchResult:
    """Find someone without their phone, narrowly: a first name and at least three letters of
    the surname, or the whole email address; only people with a confirmed place at the session
    chosen (without one: at the pass's sessions, or anyone confirmed for the gathering on an
    all-sessions pass); at most MAX_MATCHES, else none. Throttled per pass, and every search is
    audited (by name or by email, and how many matched; never what was typed or who).
    """
    email, name_terms = _search_terms(query)

    async def _write(conn: AsyncConnection) -> SearchResult:
        pass_row = await usable_pass(conn, device, now)
        if session_id is not None and not await queries.session_on_pass(conn, pass_row, session_id):
            raise refused("session_not_on_pass")
        await throttles.count_attempt(conn, SEARCHES, str(pass_row.id), now)
        candidates = await queries.door_candidates(conn, pass_row, session_id, email=email)
        if name_terms:
            candidates = [c for c in candidates if _name_matches(c.name, *name_terms)]
        too_many = len(candidates) > MAX_MATCHES
        await audit.insert_audit_event(
            conn,
            now=now,
            actor_kind="steward_pass",
            actor_id=pass_row.id,
            action="door_search",
            subject_kind="gathering",
            subject_id=pass_row.gathering_id,
            # What was asked stays out of the log: it names someone (maybe someone who later
            # erases themselves); the kind of search and the number found are enough to spot
            # a pass being used to trawl.
            detail={
                "by": "email" if email is not None else "name",
                "session_id": session_id,
                "matches": len(candidates),
            },
        )
        if too_many:
            return SearchResult((), True)
        serializer = _ref_serializer(secret_key)
        matches = []
        for person in candidates:
            moves = await move_queries.moves_of(conn, person.id, session_id)
            matches.append(
                SearchMatch(
                    ref=serializer.dumps({"r": person.id, "p": pass_row.id}),
                    name=person.name,
                    ticket_type=person.ticket_type,
                    place=person.place,
                    checked_in=bool(moves) and moves[-1].kind == "entry",
                )
            )
        return SearchResult(tuple(matches), False)

    return await db.write(_write, offload=True)
