"""The list of addresses allowed into a supporters-only session, kept by its organisers.

Organisers paste addresses (from a spreadsheet or typed); every one is checked before anything
is saved, and a bad one is reported by its line. The list is never shown back in full on the
page; it can be downloaded as CSV, and each download is audit-logged.

The list is the host organisation's membership list, so it belongs to the host alone (issue 14):
the network admin and organisers of the session's *host* read, download and change it.
Organisers of a co-host see how many addresses it holds and nothing else; anyone else is refused.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth.accounts import check_email
from gathering.core.audit import insert_audit_event
from gathering.core.database import Database
from gathering.core.errors import Forbidden, InvalidInput, NotFound
from gathering.core.i18n import gettext, ngettext
from gathering.core.permissions import Actor, is_session_host, require_session_manager
from gathering.organiser import supporter_queries as queries
from gathering.organiser import words
from gathering.organiser.supporter_queries import SupportersSession
from gathering.programme import queries as programme_queries

MAX_SUPPORTERS = 20_000
MAX_TEXT = 4 * 1024 * 1024  # characters pasted at once; 20,000 long addresses fit easily
MAX_REPORTED = 10  # bad lines named in one message
MODES = ("add", "replace")
_SEPARATORS = re.compile(r"[,;\s]+")
_HEADER_WORDS = {"email", "e-mail", "emails", "address", "addresses", "mail", "email_address"}


@dataclass(frozen=True)
class SupportersInput:
    """The form as sent, kept so a rejected form can be shown again as typed."""

    emails: str = ""
    mode: str = "add"  # add | replace
    include_registrants: bool = False


@dataclass(frozen=True)
class SupportersPage:
    gathering_slug: str
    gathering_title: str
    session_id: int
    session_title: str
    access: str  # public | supporters | invite
    count: int
    include_registrants: bool
    may_manage: bool  # False for a co-host: the count only, no form and no download


@dataclass(frozen=True)
class SupportersSaved:
    added: int
    removed: int
    count: int
    include_registrants: bool


@dataclass(frozen=True)
class SupportersExport:
    filename: str
    body: str
    count: int


def parse_emails(text: str, field: str = "emails") -> list[str]:
    """Addresses in ``text``, normalised and deduplicated in order of first appearance.

    One per line, or several on a line separated by commas, semicolons, spaces or tabs (as a
    spreadsheet column or an address book pastes). Quotes and angle brackets round an address are
    dropped, and a first line naming the column ("Email") is skipped. InvalidInput names the
    lines that hold something that is not an address, and nothing is kept.
    """
    if len(text) > MAX_TEXT:
        raise InvalidInput({field: gettext(words.SUPPORTERS_TOO_MUCH_TEXT)})
    seen: dict[str, None] = {}
    problems: list[str] = []
    bad_lines = 0
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = [t.strip("\"'<>()[]") for t in _SEPARATORS.split(line)]
        tokens = [t for t in tokens if t]
        if number == 1 and tokens and all(t.lower() in _HEADER_WORDS for t in tokens):
            continue
        bad = []
        for token in tokens:
            try:
                seen.setdefault(check_email(token, field), None)
            except InvalidInput:
                bad.append(token if len(token) <= 60 else token[:57] + "...")
        if bad:
            bad_lines += 1
            if len(problems) < MAX_REPORTED:
                quoted = ", ".join(f"'{b}'" for b in bad)
                said = words.SUPPORTERS_BAD_LINE if len(bad) == 1 else words.SUPPORTERS_BAD_LINES
                problems.append(gettext(said).format(number=number, quoted=quoted))
    if problems:
        message = " ".join(problems)
        more = bad_lines - len(problems)
        if more > 0:
            message += ngettext(
                " And {more:,} more line like these.", " And {more:,} more lines like these.", more
            ).format(more=more)
        raise InvalidInput({field: message + gettext(words.NOTHING_SAVED)})
    if len(seen) > MAX_SUPPORTERS:
        raise InvalidInput(
            {field: gettext(words.SUPPORTERS_TOO_MANY).format(count=len(seen), max=MAX_SUPPORTERS)}
        )
    return list(seen)


@dataclass(frozen=True)
class _Target:
    gathering_slug: str
    gathering_title: str
    session: SupportersSession
    actor: Actor
    is_owner: bool  # the admin or an organiser of the session's host (not a co-host)


async def _session(
    conn: AsyncConnection, actor: Actor | None, slug: str, session_id: int
) -> _Target:
    """The session, if ``actor`` (co-)hosts it; else NotFound/Forbidden. See the docstring."""
    gathering = await programme_queries.gathering_row(conn, slug=slug)
    if gathering is None:
        raise NotFound(gettext(words.NO_GATHERING))
    row = await queries.session_for_supporters(conn, session_id)
    if row is None or row.gathering_id != gathering.id:
        raise NotFound(gettext(words.NO_SESSION))
    hosts = await queries.host_roles(conn, session_id)
    checked = require_session_manager(actor, [h.organisation_id for h in hosts])
    is_owner = is_session_host(checked, [h.organisation_id for h in hosts if h.role == "host"])
    return _Target(gathering.slug, gathering.title, row, checked, is_owner)


async def _owned_list(
    conn: AsyncConnection, actor: Actor | None, slug: str, session_id: int
) -> _Target:
    """The session, if ``actor`` may read and change its list (the host or the admin)."""
    target = await _session(conn, actor, slug, session_id)
    if not target.is_owner:
        raise Forbidden(gettext(words.ONLY_OWNER_SUPPORTERS))
    return target


async def supporters_page(
    db: Database, actor: Actor | None, slug: str, session_id: int
) -> SupportersPage:
    async def _read(conn: AsyncConnection) -> SupportersPage:
        target = await _session(conn, actor, slug, session_id)
        row = target.session
        return SupportersPage(
            gathering_slug=target.gathering_slug,
            gathering_title=target.gathering_title,
            session_id=row.id,
            session_title=row.title,
            access=row.access,
            count=await queries.supporter_count(conn, row.id),
            include_registrants=row.supporters_include_registrants,
            may_manage=target.is_owner,
        )

    return await db.read(_read, offload=True)


async def save_supporters(
    db: Database,
    actor: Actor | None,
    slug: str,
    session_id: int,
    form: SupportersInput,
    *,
    now: dt.datetime | None = None,
) -> SupportersSaved:
    """Add to or replace the list and set the registrants flag, in one unit with its audit row."""
    if form.mode not in MODES:
        raise InvalidInput({"mode": gettext(words.SUPPORTERS_MODE_UNKNOWN)})

    async def _write(conn: AsyncConnection) -> SupportersSaved:
        target = await _owned_list(conn, actor, slug, session_id)
        row, owner = target.session, target.actor
        emails = parse_emails(form.emails)
        previous = set(await queries.supporter_emails(conn, row.id))
        new = [e for e in emails if e not in previous]
        removed = len(previous - set(emails)) if form.mode == "replace" else 0
        total = len(previous) - removed + len(new)
        if total > MAX_SUPPORTERS:
            raise InvalidInput(
                {
                    "emails": gettext(words.SUPPORTERS_WOULD_BE_TOO_MANY).format(
                        count=total, max=MAX_SUPPORTERS
                    )
                }
            )
        if form.mode == "replace":
            await queries.delete_supporters(conn, row.id)
            await queries.insert_supporters(conn, row.id, emails)
        else:
            await queries.insert_supporters(conn, row.id, new)
        added = len(new)
        count = await queries.supporter_count(conn, row.id)
        await queries.set_include_registrants(conn, row.id, form.include_registrants)
        await insert_audit_event(
            conn,
            now=now or dt.datetime.now(dt.UTC),
            actor_kind="account",
            actor_id=owner.account_id,
            action=f"supporters.{'replaced' if form.mode == 'replace' else 'added'}",
            subject_kind="session",
            subject_id=row.id,
            detail={
                "sent": len(emails),
                "added": added,
                "removed": removed,
                "count": count,
                "include_registrants": form.include_registrants,
            },
        )
        return SupportersSaved(added, removed, count, form.include_registrants)

    return await db.write(_write, offload=True)


def _csv_cell(value: str) -> str:
    # A spreadsheet would run a cell starting with one of these as a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


async def export_supporters(
    db: Database,
    actor: Actor | None,
    slug: str,
    session_id: int,
    *,
    now: dt.datetime | None = None,
) -> SupportersExport:
    """The list as CSV (one ``email`` column); the download itself is audit-logged."""

    async def _write(conn: AsyncConnection) -> SupportersExport:
        target = await _owned_list(conn, actor, slug, session_id)
        row = target.session
        emails = await queries.supporter_emails(conn, row.id)
        await insert_audit_event(
            conn,
            now=now or dt.datetime.now(dt.UTC),
            actor_kind="account",
            actor_id=target.actor.account_id,
            action="supporters.exported",
            subject_kind="session",
            subject_id=row.id,
            detail={"count": len(emails)},
        )
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["email"])
        writer.writerows([_csv_cell(e)] for e in emails)
        filename = f"supporters-{target.gathering_slug}-session-{row.id}.csv"
        return SupportersExport(filename, out.getvalue(), len(emails))

    return await db.write(_write, offload=True)
