"""Messages from a session's organisers to the people who booked it.

A message about the session is service mail to the people who booked it, so the admin and
organisers of the session's *hosts* may write to everyone holding a confirmed place, and if they
choose those waiting or offered a place. Organisers of a *co-host* may write only to those of them
who gave one of their co-hosting organisations the contact consent and have not withdrawn it, the
same people their attendee list shows. Either way the sender sees only how many people it goes to.
One outbox row per person and the audit row (``registrants_messaged``) are written in one unit; the
form's nonce makes a second submit of the same form send nothing.

Who may see whom is decided in ``organiser.scope``.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.audit import insert_audit_event
from gathering.core.database import Database
from gathering.core.errors import InvalidInput
from gathering.core.i18n import gettext
from gathering.core.permissions import Actor
from gathering.mail import messages as mail
from gathering.organiser import people_queries, words
from gathering.organiser.scope import (
    Organisation,
    SessionRef,
    consent_filter,
    scope_for,
    session_ref,
)
from gathering.registration.tokens import Links

MAX_SUBJECT = 150
MAX_BODY = 10_000
MESSAGED = "registrants_messaged"
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")


# --- messages to registrants ----------------------------------------------------------------------


@dataclass(frozen=True)
class MessageInput:
    """The form as sent (kept as typed to show again) and the nonce of the page it came from."""

    subject: str = ""
    body: str = ""
    include_waiting: bool = False
    nonce: str = ""


@dataclass(frozen=True)
class MessagePage:
    session: SessionRef
    confirmed: int  # people with a confirmed place (email confirmed) the actor may write to
    waiting: int  # people waitlisted or offered a place the actor may write to
    reaches_everyone: bool  # a host or admin; False: a co-host, only people who consented
    consent_organisations: tuple[Organisation, ...]  # a co-host's: whose consent reaches people

    @property
    def consented_to(self) -> list[int] | None:
        """The organisations a recipient must have consented to (None: everyone)."""
        return None if self.reaches_everyone else [o.id for o in self.consent_organisations]


@dataclass(frozen=True)
class MessagePreview:
    page: MessagePage
    form: MessageInput  # cleaned
    recipients: int
    email_subject: str


@dataclass(frozen=True)
class MessageSent:
    recipients: int
    already: bool  # this form had been sent before: nothing new was queued


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def _statuses(include_waiting: bool) -> tuple[str, ...]:
    return ("confirmed", "waitlisted", "offered") if include_waiting else ("confirmed",)


def clean_message(form: MessageInput) -> MessageInput:
    """The message ready to send; InvalidInput names each field to correct, in the user's words."""
    errors: dict[str, str] = {}
    subject = " ".join(
        "".join(ch for ch in form.subject if unicodedata.category(ch)[0] != "C").split()
    )
    if not subject:
        errors["subject"] = gettext(words.SUBJECT_MISSING)
    elif len(subject) > MAX_SUBJECT:
        errors["subject"] = gettext(words.SUBJECT_TOO_LONG).format(
            max=MAX_SUBJECT, length=len(subject)
        )
    body = form.body.replace("\r\n", "\n").replace("\r", "\n")
    body = "".join(ch for ch in body if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    body = "\n".join(line.rstrip() for line in body.strip().split("\n"))
    if not body:
        errors["body"] = gettext(words.BODY_MISSING)
    elif len(body) > MAX_BODY:
        errors["body"] = gettext(words.BODY_TOO_LONG).format(max=MAX_BODY, length=len(body))
    if errors:
        raise InvalidInput(errors)
    return MessageInput(subject, body, form.include_waiting, form.nonce)


async def _message_page(
    conn: AsyncConnection, actor: Actor | None, slug: str, sid: int
) -> MessagePage:
    session = await session_ref(conn, slug, sid)
    scope = scope_for(actor, session.hosts)  # hosts and co-hosts see only a number
    counts = await people_queries.recipient_counts(conn, sid, consented_to=consent_filter(scope))
    waiting = counts.get("waitlisted", 0) + counts.get("offered", 0)
    return MessagePage(
        session,
        counts.get("confirmed", 0),
        waiting,
        scope.sees_everyone,
        scope.consent_organisations,
    )


async def message_page(
    db: Database, actor: Actor | None, slug: str, session_id: int
) -> MessagePage:
    """The session and how many people this actor's message could go to."""

    async def _read(conn: AsyncConnection) -> MessagePage:
        return await _message_page(conn, actor, slug, session_id)

    return await db.read(_read, offload=True)


def _email_subject(subject: str, session_title: str) -> str:
    return f"{subject} · {session_title}"  # as templates/email/organiser_message.subject.txt


async def preview_message(
    db: Database, actor: Actor | None, slug: str, session_id: int, form: MessageInput
) -> MessagePreview:
    """Check the message and count who it would go to; nothing is sent."""
    page = await message_page(db, actor, slug, session_id)
    cleaned = clean_message(form)
    recipients = page.confirmed + (page.waiting if cleaned.include_waiting else 0)
    subject = _email_subject(cleaned.subject, page.session.session_title)
    return MessagePreview(page, cleaned, recipients, subject)


async def send_message(
    db: Database,
    actor: Actor | None,
    slug: str,
    session_id: int,
    form: MessageInput,
    *,
    links: Links,
    now: dt.datetime | None = None,
) -> MessageSent:
    """Queue one message per recipient through the outbox, with its audit row, in one unit.

    The same form (nonce) sent again queues nothing and reports the first sending.
    """
    if not _NONCE.fullmatch(form.nonce):
        raise InvalidInput({"nonce": gettext(words.FORM_EXPIRED)})
    cleaned = clean_message(form)

    async def _write(conn: AsyncConnection) -> MessageSent:
        moment = now or dt.datetime.now(dt.UTC)
        page = await _message_page(conn, actor, slug, session_id)
        assert actor is not None
        earlier = await people_queries.earlier_recipients(conn, MESSAGED, session_id, form.nonce)
        if earlier is not None:
            return MessageSent(earlier, already=True)
        people = await people_queries.recipients(
            conn,
            session_id,
            _statuses(cleaned.include_waiting),
            consented_to=page.consented_to,
        )
        for person in people:
            await mail.queue(
                conn,
                kind="organiser_message",
                to_address=person.email,
                registration_id=person.id,
                now=moment,
                context={
                    "name": person.name,
                    "session_title": page.session.session_title,
                    "subject": cleaned.subject,
                    "body_text": cleaned.body,
                    # A co-host reaches people only through their consent: the mail says so.
                    "consented_to": (
                        ""
                        if page.reaches_everyone
                        else " and ".join(o.name for o in page.consent_organisations)
                    ),
                    # Joined in the recipient's language when the mail is written (issue 18).
                    "consented_names": (
                        []
                        if page.reaches_everyone
                        else [o.name for o in page.consent_organisations]
                    ),
                    "manage_url": (
                        links.manage_url(person.id, person.manage_key) if person.manage_key else ""
                    ),
                },
            )
        await insert_audit_event(
            conn,
            now=moment,
            actor_kind="account",
            actor_id=actor.account_id,
            action=MESSAGED,
            subject_kind="session",
            subject_id=session_id,
            detail={
                "nonce": form.nonce,
                "recipients": len(people),
                "include_waiting": cleaned.include_waiting,
                "scope": "everyone" if page.reaches_everyone else "consented",
                "consent_organisation_ids": page.consented_to or [],
                "subject": cleaned.subject,
            },
        )
        return MessageSent(len(people), already=False)

    return await db.write(_write, offload=True)
