"""Our actors: organisations (``Organization``) and listed gatherings (``Group``), their keys,
and the public sessions each one publishes (its outbox)."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.clock import utc_now
from gathering.core.database import Database
from gathering.core.errors import NotFound
from gathering.core.i18n import gettext
from gathering.fediverse import queries, words
from gathering.fediverse.documents import (
    CONTEXT,
    Document,
    EventContext,
    LocalActor,
    event_object,
    session_activity,
)
from gathering.fediverse.queries import KeyRow, SubjectRow
from gathering.fediverse.signatures import new_key_pair
from gathering.programme import queries as programme_queries
from gathering.programme.published import Host, PublicGathering, PublicSession
from gathering.programme.release import programme_for_row

KINDS = ("organisation", "gathering")


def is_published(session: PublicSession) -> bool:
    """Only public sessions leave Gathering; supporters-only and invite-only ones never do."""
    return session.access == "public"


def local_actor(subject: SubjectRow, base_url: str) -> LocalActor:
    # The public pages' paths (programme.pages: public:organisation, public:gathering).
    page = (
        f"{base_url}/organisations/{subject.slug}"
        if subject.kind == "organisation"
        else f"{base_url}/g/{subject.slug}"
    )
    return LocalActor(
        subject.kind, subject.id, subject.slug, subject.name, subject.summary, page, base_url
    )


def public_gathering(row: programme_queries.GatheringRow) -> PublicGathering:
    """A gathering row as the programme's public value (what an Event names)."""
    return PublicGathering(
        id=row.id,
        slug=row.slug,
        title=row.title,
        description=row.description,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        timezone=row.timezone,
        mode=row.mode,
        location=row.location,
    )


def host_actor(host: Host, base_url: str) -> LocalActor:
    return LocalActor(
        "organisation",
        host.id,
        host.slug,
        host.name,
        "",
        f"{base_url}/organisations/{host.slug}",
        base_url,
    )


def session_page(base_url: str, gathering_slug: str, session_id: int) -> str:
    return f"{base_url}/g/{gathering_slug}/s/{session_id}"  # programme.pages: public:session


def event_context(
    session: PublicSession, gathering: PublicGathering, gathering_actor: LocalActor, base_url: str
) -> EventContext:
    """The host first, then co-hosts; the host signs, or the gathering when none is named."""
    ordered = sorted(session.hosts, key=lambda h: (h.role != "host", h.name))
    hosts = tuple(host_actor(h, base_url) for h in ordered)
    return EventContext(
        gathering=gathering,
        page_url=session_page(base_url, gathering.slug, session.id),
        hosts=hosts,
        signer=hosts[0] if hosts else gathering_actor,
    )


async def subject(conn: AsyncConnection, kind: str, subject_id: int) -> SubjectRow | None:
    if kind == "organisation":
        return await queries.organisation_subject(conn, organisation_id=subject_id)
    return await queries.gathering_subject(conn, gathering_id=subject_id)


async def find_actor(db: Database, kind: str, subject_id: int, base_url: str) -> LocalActor:
    """The actor of an organisation or a listed gathering; NotFound otherwise."""
    if kind not in KINDS:
        raise NotFound(gettext(words.NO_SUCH_ACTOR))

    async def _read(conn: AsyncConnection) -> SubjectRow | None:
        return await subject(conn, kind, subject_id)

    found = await db.read(_read)
    if found is None:
        raise NotFound(gettext(words.NO_SUCH_ACTOR))
    return local_actor(found, base_url)


async def actor_for_handle(db: Database, username: str, base_url: str) -> LocalActor:
    """``acct:username@host``: an organisation's slug, else a listed gathering's."""

    async def _read(conn: AsyncConnection) -> SubjectRow | None:
        found = await queries.organisation_subject(conn, slug=username)
        return found or await queries.gathering_subject(conn, slug=username)

    found = await db.read(_read)
    if found is None:
        raise NotFound(gettext(words.NO_SUCH_ACTOR))
    return local_actor(found, base_url)


async def actor_key(db: Database, kind: str, subject_id: int) -> KeyRow:
    """The actor's key pair, generated and stored the first time it is needed."""

    async def _read(conn: AsyncConnection) -> KeyRow | None:
        return await queries.actor_key(conn, kind, subject_id)

    key = await db.read(_read)
    if key is not None:
        return key
    pair = await asyncio.to_thread(new_key_pair)  # RSA generation takes a while: off the loop

    async def _write(conn: AsyncConnection) -> KeyRow:
        # Another request may have stored one meanwhile: the first stored pair is the pair.
        stored = await queries.actor_key(conn, kind, subject_id)
        if stored is None:
            await queries.insert_actor_key(
                conn,
                kind,
                subject_id,
                public_pem=pair.public_pem,
                private_pem=pair.private_pem,
                now=utc_now(),
            )
            stored = await queries.actor_key(conn, kind, subject_id)
        assert stored is not None
        return stored

    return await db.write(_write)


async def follower_count(db: Database, actor: LocalActor) -> int:
    async def _read(conn: AsyncConnection) -> int:
        key = await queries.actor_key(conn, actor.kind, actor.id)
        return 0 if key is None else await queries.follower_count(conn, key.id)

    return await db.read(_read)


async def published_activities(db: Database, actor: LocalActor) -> list[Document]:
    """``Create`` activities of the actor's released public sessions, soonest first: a
    gathering's programme, or every session an organisation hosts or co-hosts."""

    async def _read(conn: AsyncConnection) -> list[Document]:
        ids = [actor.id] if actor.kind == "gathering" else await queries.listed_gathering_ids(conn)
        items: list[tuple[PublicSession, Document]] = []
        for gathering_id in ids:
            row = await programme_queries.gathering_by_id(conn, gathering_id)
            if row is None or not row.is_listed:
                continue
            programme = await programme_for_row(conn, row, live_places=False)
            subject_row = await queries.gathering_subject(conn, gathering_id=row.id)
            if subject_row is None:
                continue
            gathering_actor = local_actor(subject_row, actor.base_url)
            for session in programme.sessions:
                if not is_published(session):
                    continue
                if actor.kind == "organisation" and actor.id not in {h.id for h in session.hosts}:
                    continue
                context = event_context(
                    session, programme.gathering, gathering_actor, actor.base_url
                )
                items.append(
                    (session, session_activity("Create", session, context, actor.base_url))
                )
        items.sort(key=lambda item: (item[0].starts_at, item[0].id))
        return [document for _session, document in items]

    return await db.read(_read)


async def published_event(db: Database, session_id: int, base_url: str) -> Document:
    """A released public session as its ``Event`` (the object's id dereferences to it)."""

    async def _read(conn: AsyncConnection) -> Document:
        gathering_id = await queries.session_gathering_id(conn, session_id)
        subject_row = (
            None
            if gathering_id is None
            else await queries.gathering_subject(conn, gathering_id=gathering_id)
        )
        row = (
            None
            if gathering_id is None
            else await programme_queries.gathering_by_id(conn, gathering_id)
        )
        if subject_row is None or row is None:
            raise NotFound(gettext(words.NO_SUCH_SESSION))
        programme = await programme_for_row(conn, row, live_places=False)
        session = programme.session(session_id)
        if session is None or not is_published(session):
            raise NotFound(gettext(words.NO_SUCH_SESSION))
        gathering_actor = local_actor(subject_row, base_url)
        context = event_context(session, programme.gathering, gathering_actor, base_url)
        return {"@context": CONTEXT, **event_object(session, context, base_url)}

    return await db.read(_read)
