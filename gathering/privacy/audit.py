"""The network admin's audit log: sign-ins, role changes, exports and views of attendee lists,
steward passes made and revoked, purges and erasures, in words; reading it is itself recorded.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import audit as audit_queries
from gathering.core.database import Database
from gathering.core.i18n import gettext
from gathering.core.permissions import Actor, require_admin
from gathering.privacy import queries
from gathering.privacy.words import (
    ACTION_LABELS,
    ACTOR_KINDS,
    ADMIN_VERBS,
    DETAIL_WORDS,
    SUBJECT_WORDS,
)

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor: str  # who, in words
    action: str  # the machine name
    description: str  # what, in words
    subject: str  # about what, in words ("" if nothing)
    details: tuple[str, ...]
    # The parts that are names (accounts, passes, gatherings...): data, never translated.
    actor_named: bool = False
    subject_word: str = ""
    subject_name: str = ""


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class AuditPage:
    entries: tuple[AuditEntry, ...]
    page: int
    pages: int
    total: int
    action: str  # the filter in force ("" for all)
    actor: str  # "" for all, "account:3", "steward_pass", "system" ...
    actions: tuple[Choice, ...]
    actors: tuple[Choice, ...]


def action_label(action: str) -> str:
    if action in ACTION_LABELS:
        return gettext(ACTION_LABELS[action])
    if action.startswith("admin."):
        kind, _, verb = action.removeprefix("admin.").rpartition("_")
        named = gettext(SUBJECT_WORDS[kind]) if kind in SUBJECT_WORDS else kind.replace("_", " ")
        if verb in ADMIN_VERBS:
            return gettext(ADMIN_VERBS[verb]).format(kind=named)
        return f"{verb.capitalize()} a {named}".strip()
    return action.replace("_", " ").replace(".", ": ").capitalize()


def _actor_filter(actor: str) -> tuple[str | None, int | None]:
    kind, _, raw_id = actor.partition(":")
    if kind not in ACTOR_KINDS:
        return None, None
    return kind, int(raw_id) if raw_id.isdigit() and len(raw_id) < 10 else None


def _details(detail: object) -> tuple[str, ...]:
    if not isinstance(detail, Mapping):
        return ()
    words = []
    for key, template in DETAIL_WORDS.items():
        value = detail.get(key)
        if isinstance(value, bool):
            words.append(gettext(template).format(gettext("yes") if value else gettext("no")))
        elif isinstance(value, int | str) and (value or key == "matches"):
            words.append(gettext(template).format(value))
    return tuple(words)


def _actor_name(kind: str, actor_id: int | None, names: Mapping[tuple[str, int], str]) -> str:
    if actor_id is not None and (kind, actor_id) in names:
        return names[(kind, actor_id)]
    base = gettext(ACTOR_KINDS[kind]) if kind in ACTOR_KINDS else kind
    return f"{base} {actor_id}" if actor_id is not None else base


async def _names(conn: AsyncConnection, wanted: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
    found: dict[tuple[str, int], str] = {}
    for kind in {k for k, _ in wanted}:
        ids = {i for k, i in wanted if k == kind}
        for row_id, name in (await queries.names_of(conn, kind, ids)).items():
            found[(kind, row_id)] = name
    return found


async def audit_log(
    db: Database,
    actor: Actor | None,
    *,
    page: int = 1,
    action: str = "",
    who: str = "",
    now: dt.datetime | None = None,
) -> AuditPage:
    """One page of the audit log, newest first, for a network admin; the reading is recorded in
    the same unit (so the log shows who read it, and when)."""
    admin = require_admin(actor)
    actor_kind, actor_id = _actor_filter(who)
    action = action.strip()[:60]

    async def _write(conn: AsyncConnection) -> AuditPage:
        moment = now or dt.datetime.now(dt.UTC)
        await audit_queries.insert_audit_event(
            conn,
            now=moment,
            actor_kind="account",
            actor_id=admin.account_id,
            action="audit_log_viewed",
            detail={"page": page, "action": action, "actor": who[:40]},
        )
        chosen = action or None
        total = await queries.audit_event_count(
            conn, action=chosen, actor_kind=actor_kind, actor_id=actor_id
        )
        pages = max(1, math.ceil(total / PAGE_SIZE))
        current = min(max(page, 1), pages)
        rows = await queries.audit_events(
            conn,
            action=chosen,
            actor_kind=actor_kind,
            actor_id=actor_id,
            offset=(current - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        actors = await queries.audit_actors(conn)
        wanted = {(r.actor_kind, r.actor_id) for r in rows if r.actor_id is not None}
        wanted |= {(r.subject_kind, r.subject_id) for r in rows if r.subject_id is not None}
        wanted |= {(a.actor_kind, a.actor_id) for a in actors if a.actor_id is not None}
        names = await _names(conn, wanted)
        entries = tuple(_entry(r, names) for r in rows)
        return AuditPage(
            entries=entries,
            page=current,
            pages=pages,
            total=total,
            action=action,
            actor=who if actor_kind else "",
            actions=tuple(Choice(a, action_label(a)) for a in await queries.audit_actions(conn)),
            actors=_actor_choices(actors, names),
        )

    return await db.write(_write, offload=True)


def _entry(row: queries.AuditRow, names: Mapping[tuple[str, int], str]) -> AuditEntry:
    subject = word = name = ""
    if row.subject_kind:
        kind = row.subject_kind
        word = gettext(SUBJECT_WORDS[kind]) if kind in SUBJECT_WORDS else kind.replace("_", " ")
        if row.subject_id is not None and (row.subject_kind, row.subject_id) in names:
            name = names[(row.subject_kind, row.subject_id)]
            subject = f"{word} “{name}”"
        elif row.subject_id is not None:
            subject = f"{word} {row.subject_id}"
        else:
            subject = word
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=_actor_name(row.actor_kind, row.actor_id, names),
        action=row.action,
        description=action_label(row.action),
        subject=subject,
        details=_details(row.detail),
        actor_named=row.actor_id is not None and (row.actor_kind, row.actor_id) in names,
        subject_word=word,
        subject_name=name,
    )


def _actor_choices(
    actors: Sequence[queries.AuditActor], names: Mapping[tuple[str, int], str]
) -> tuple[Choice, ...]:
    choices = []
    kinds_seen = []
    for a in actors:
        if a.actor_kind not in kinds_seen:
            kinds_seen.append(a.actor_kind)
        if a.actor_kind == "account" and a.actor_id is not None:
            choices.append(
                Choice(f"account:{a.actor_id}", _actor_name("account", a.actor_id, names))
            )
    for kind in kinds_seen:
        if kind != "account" and kind in ACTOR_KINDS:
            label = gettext(ACTOR_KINDS[kind])
            if kind == "steward_pass":
                label = gettext("Steward passes (any)")
            choices.append(Choice(kind, label))
    return tuple(choices)
