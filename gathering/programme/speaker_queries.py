"""Queries for speakers' private email addresses (issue 16): read only to send release notices.

Nothing here is used by a public reader; public queries select speakers' columns by name and
never the ``email`` column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.schema import gathering, outbox, programme_session, session_speaker, speaker

# The outbox kind of a speaker's release notice; its context names the speaker and gathering,
# so erasure and retention find these messages without reading their text.
NOTICE_KIND = "speaker_session_changed"


class SpeakerContact(NamedTuple):
    session_id: int
    speaker_id: int
    slug: str
    name: str
    email: str


async def speaker_contacts(
    conn: AsyncConnection, session_ids: Sequence[int]
) -> list[SpeakerContact]:
    """The speakers (and chairs) of these sessions who have an email address, in order."""
    if not session_ids:
        return []
    query = (
        sa.select(
            session_speaker.c.session_id,
            speaker.c.id,
            speaker.c.slug,
            speaker.c.name,
            speaker.c.email,
        )
        .join(speaker, speaker.c.id == session_speaker.c.speaker_id)
        .where(session_speaker.c.session_id.in_(list(session_ids)), speaker.c.email != "")
        .order_by(session_speaker.c.session_id, session_speaker.c.position, speaker.c.id)
    )
    return [SpeakerContact(*row) for row in await conn.execute(query)]


async def speaker_email(conn: AsyncConnection, speaker_id: int) -> str:
    """One speaker's private address ("" if none, or no such speaker)."""
    query = sa.select(speaker.c.email).where(speaker.c.id == speaker_id)
    return str((await conn.execute(query)).scalar_one_or_none() or "")


async def delete_notices_to_speaker(conn: AsyncConnection, speaker_id: int) -> int:
    """Drop every release notice queued or sent to one speaker; how many went."""
    result = await conn.execute(
        sa.delete(outbox).where(
            outbox.c.kind == NOTICE_KIND,
            outbox.c.context["speaker_id"].as_integer() == speaker_id,
        )
    )
    return int(result.rowcount or 0)


async def delete_notices_of_gathering(conn: AsyncConnection, gathering_id: int) -> int:
    """Drop every speaker release notice about one gathering; how many went."""
    result = await conn.execute(
        sa.delete(outbox).where(
            outbox.c.kind == NOTICE_KIND,
            outbox.c.context["gathering_id"].as_integer() == gathering_id,
        )
    )
    return int(result.rowcount or 0)


async def speakers_past_retention(conn: AsyncConnection, purged_id: int) -> list[int]:
    """Speakers with an email who speak somewhere, but only at gatherings already anonymised
    or at ``purged_id`` (being anonymised in this unit)."""
    sessions = sa.select(session_speaker.c.speaker_id).join(
        programme_session, programme_session.c.id == session_speaker.c.session_id
    )
    live = sessions.join(gathering, gathering.c.id == programme_session.c.gathering_id).where(
        gathering.c.anonymised_at.is_(None), gathering.c.id != purged_id
    )
    query = sa.select(speaker.c.id).where(
        speaker.c.email != "", speaker.c.id.in_(sessions), speaker.c.id.not_in(live)
    )
    return [int(i) for i in (await conn.execute(query)).scalars()]


async def forget_speaker_email(conn: AsyncConnection, speaker_id: int) -> None:
    """Blank one speaker's private address and drop the notices sent to it."""
    await delete_notices_to_speaker(conn, speaker_id)
    await conn.execute(sa.update(speaker).where(speaker.c.id == speaker_id).values(email=""))
