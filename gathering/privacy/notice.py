"""Privacy notices built from a gathering's own settings, and the network admin's audit log.

The notice says what the registration form really asks (its enabled questions, with why), who
answers for the data, who sees what, when it is erased and how to download or erase it, so it
cannot drift from the form. The audit log lists sign-ins, role changes, exports and views of
attendee lists, steward passes made and revoked, purges and erasures, in words; reading it is
itself recorded.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.auth import queries as audit_queries
from gathering.core.database import Database
from gathering.core.errors import NotFound
from gathering.core.permissions import Actor, require_admin
from gathering.privacy import queries
from gathering.privacy.retention import erase_from
from gathering.programme import queries as programme_queries
from gathering.registration import queries as registration_queries

# Why each standard question is asked (the keys are the only ones a form may ask).
WHY = {
    "constituency": "So the organisers know which constituencies are represented, and, only if "
    "you tick the box for it, to put you in touch with other attendees from yours.",
    "organisation": "So the organisers know which union branches and groups are taking part.",
    "access_needs": "So the organisers can plan step-free routes, hearing loops, interpreters or "
    "quiet space. The stewards at the door see it only if you tick the box to let them.",
    "dietary": "So whoever caters can plan for what you can eat.",
    "free_text": "Anything else you choose to tell the organisers.",
}


@dataclass(frozen=True)
class Asked:
    """One thing the registration form asks, and why."""

    label: str
    why: str
    help: str = ""
    is_required: bool = True


@dataclass(frozen=True)
class PrivacyNotice:
    slug: str
    title: str
    controller: str  # who answers for the data
    controller_is_host: bool  # no controller named: the host organisation stands in
    contact_email: str
    contact_website: str
    host_name: str
    asked: tuple[Asked, ...]
    contact_organisations: tuple[str, ...]  # each may contact people who tick its box
    retention_days: int
    ends_on: dt.date
    erase_on: dt.date  # the first day the data is no longer kept
    anonymised_at: dt.datetime | None
    timezone: str


def _asked(questions: Sequence[Any], has_ticket_types: bool) -> tuple[Asked, ...]:
    items = [
        Asked(
            "Your name",
            "It goes on your ticket, and the steward who scans your ticket at the door sees it.",
        ),
        Asked(
            "Your email address",
            "To confirm it is yours, send your ticket and manage link, tell you about changes "
            "to your sessions, offer you a place that frees up and remind you before a session. "
            "Never shown to other attendees.",
        ),
    ]
    if has_ticket_types:
        items.append(
            Asked(
                "Ticket type",
                "So the organisers know what contribution to suggest. Nothing is charged here.",
            )
        )
    items.append(
        Asked(
            "The sessions you choose",
            "To hold your place (or your turn on a waiting list) and admit you at the door.",
            is_required=False,
        )
    )
    for q in questions:
        items.append(Asked(q.label, WHY.get(q.key, ""), q.help, bool(q.is_required)))
    return tuple(items)


async def privacy_notice(db: Database, slug: str) -> PrivacyNotice:
    """The privacy notice of the gathering ``slug``; NotFound if there is none."""

    async def _read(conn: AsyncConnection) -> PrivacyNotice:
        row = await programme_queries.gathering_row(conn, slug=slug)
        if row is None:
            raise NotFound("There is no gathering at this address.")
        host = await queries.organisation_contact(conn, row.host_organisation_id)
        host_name = str(host.name) if host is not None else ""
        named = str(row.data_controller).strip()
        contact = str(row.privacy_contact).strip() or (host.contact_email if host else "")
        organisations = await registration_queries.consent_organisations(
            conn, row.id, row.host_organisation_id
        )
        return PrivacyNotice(
            slug=row.slug,
            title=row.title,
            controller=named or host_name,
            controller_is_host=not named and bool(host_name),
            contact_email=contact,
            contact_website=host.website if host is not None else "",
            host_name=host_name,
            asked=_asked(
                await registration_queries.questions(conn, row.id),
                bool(await registration_queries.ticket_types(conn, row.id)),
            ),
            contact_organisations=tuple(o.name for o in organisations),
            retention_days=row.retention_days,
            ends_on=row.ends_on,
            erase_on=erase_from(row.ends_on, row.retention_days),
            anonymised_at=row.anonymised_at,
            timezone=row.timezone,
        )

    return await db.read(_read)


# --- the audit log ------------------------------------------------------------------------------

PAGE_SIZE = 50

# Readable names of the actions, for the filter and the list. Unknown actions are shown by name.
ACTION_LABELS = {
    "signin": "Signed in",
    "password_reset_requested": "Asked for a password reset",
    "password_reset": "Reset their password",
    "account_created": "Account created",
    "role_changed": "Role changed",
    "attendee_list_viewed": "Viewed an attendee list",
    "attendees_exported": "Exported contacts",
    "registrants_messaged": "Wrote to registrants",
    "supporters.exported": "Downloaded a supporters list",
    "supporters.added": "Added to a supporters list",
    "supporters.replaced": "Replaced a supporters list",
    "outbox_message_viewed": "Read a message in the outbox",
    "steward_pass_created": "Made a steward pass",
    "steward_pass_revoked": "Revoked a steward pass",
    "steward_pass_updated": "Changed a steward pass",
    "steward_device_opened": "Opened a steward pass on a device",
    "door_search": "Searched at the door's help desk",
    "retention_purge": "Erased personal data after the retention period",
    "registration_erased": "Erased their own registration",
    "audit_log_viewed": "Read the audit log",
    "admin.questions_updated": "Changed the registration questions",
}
ACTOR_KINDS = {
    "account": "Account",
    "steward_pass": "Steward pass",
    "system": "The service (scheduled work)",
    "attendee": "An attendee (from their manage link)",
    "command_line": "The gathering command",
}
SUBJECT_WORDS = {
    "gathering": "gathering",
    "session": "session",
    "organisation": "organisation",
    "steward_pass": "steward pass",
    "account": "account",
    "registration": "registration",
    "outbox": "outbox message",
}
# Detail entries worth a word in the list (never free text that could hold personal data).
DETAIL_WORDS = {
    "rows": "{} rows",
    "count": "{} addresses",
    "recipients": "{} recipients",
    "matches": "{} matches",
    "registrations": "{} registrations",
    "mails": "{} messages",
    "scans": "{} door answers",
    "supporters": "{} supporters-list addresses",
    "audit_events": "{} audit details",
    "throttles": "{} throttle counters",
    "added": "{} added",
    "removed": "{} removed",
    "page": "page {}",
    "role": "role {}",
    "is_admin": "network admin: {}",
    "organisation": "organisation {}",
    "gathering": "gathering {}",
}


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor: str  # who, in words
    action: str  # the machine name
    description: str  # what, in words
    subject: str  # about what, in words ("" if nothing)
    details: tuple[str, ...]


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
        return ACTION_LABELS[action]
    if action.startswith("admin."):
        kind, _, verb = action.removeprefix("admin.").rpartition("_")
        return f"{verb.capitalize()} a {kind.replace('_', ' ')}".strip()
    return action.replace("_", " ").replace(".", ": ").capitalize()


def _actor_filter(actor: str) -> tuple[str | None, int | None]:
    kind, _, raw_id = actor.partition(":")
    if kind not in ACTOR_KINDS:
        return None, None
    return kind, int(raw_id) if raw_id.isdigit() and len(raw_id) < 10 else None


def _details(detail: Any) -> tuple[str, ...]:
    if not isinstance(detail, Mapping):
        return ()
    words = []
    for key, template in DETAIL_WORDS.items():
        value = detail.get(key)
        if isinstance(value, bool):
            words.append(template.format("yes" if value else "no"))
        elif isinstance(value, int | str) and (value or key == "matches"):
            words.append(template.format(value))
    return tuple(words)


def _actor_name(kind: str, actor_id: int | None, names: Mapping[tuple[str, int], str]) -> str:
    if actor_id is not None and (kind, actor_id) in names:
        return names[(kind, actor_id)]
    base = ACTOR_KINDS.get(kind, kind)
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


def _entry(row: Any, names: Mapping[tuple[str, int], str]) -> AuditEntry:
    subject = ""
    if row.subject_kind:
        word = SUBJECT_WORDS.get(row.subject_kind, row.subject_kind.replace("_", " "))
        key = (row.subject_kind, row.subject_id)
        if row.subject_id is not None and key in names:
            subject = f"{word} “{names[key]}”"
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
    )


def _actor_choices(
    actors: Sequence[Any], names: Mapping[tuple[str, int], str]
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
            label = ACTOR_KINDS[kind] + ("s (any)" if kind == "steward_pass" else "")
            choices.append(Choice(kind, label))
    return tuple(choices)
