"""Calendar feeds in the reader's language (issue 18), on both engines: the words calendar apps
show (venue tbc, format, "details and changes", a cancelled session's summary and text, a
personal feed's name) follow ``?lang=``, the subscribe links on a Welsh page carry it (a calendar
app has no cookie), kept feeds are kept per language, and a registrant's own feed is in the
language they registered in whatever the app's Accept-Language says."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import icalendar
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.calendars import words
from gathering.core import i18n, schema
from gathering.core.database import Database
from gathering.demo import NEXT_SLUG
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import parse_html

pytestmark = pytest.mark.anyio


def cy(message: str) -> str:
    with i18n.use_language("cy"):
        welsh = i18n.gettext(message)
    assert welsh != message
    return welsh


def _prefix(message: str) -> str:
    """The words of a ``{field}`` sentence before its field."""
    return message.split("{", 1)[0]


async def _events(client: httpx.AsyncClient, path: str, **headers: str) -> list[icalendar.Event]:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    calendar = icalendar.Calendar.from_ical(response.content)
    return list(calendar.walk("VEVENT"))


async def test_a_gathering_feed_speaks_the_language_asked_for(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    feed = f"/g/{NEXT_SLUG}/calendar.ics"
    english = await _events(client, feed)
    welsh = await _events(client, f"{feed}?lang=cy")
    assert len(english) == len(welsh) > 0
    english_text = " ".join(str(e["DESCRIPTION"]) for e in english)
    welsh_text = " ".join(str(e["DESCRIPTION"]) for e in welsh)
    assert _prefix(words.DETAILS_AT) in english_text
    assert _prefix(cy(words.DETAILS_AT)) in welsh_text
    assert _prefix(words.DETAILS_AT) not in welsh_text
    # The same events, instants and addresses: only the words differ.
    assert [(e["UID"], e["DTSTART"].dt) for e in english] == [
        (e["UID"], e["DTSTART"].dt) for e in welsh
    ]
    # Kept per language: English again after the Welsh one was built.
    again = await _events(client, feed)
    assert " ".join(str(e["DESCRIPTION"]) for e in again) == english_text


async def test_a_cancelled_session_reads_cancelled_in_welsh(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    S, G = schema.programme_session, schema.gathering

    async def _one(conn: AsyncConnection) -> tuple[int, str]:
        row = (
            await conn.execute(
                sa.select(S.c.id, S.c.title)
                .join(G, G.c.id == S.c.gathering_id)
                .where(G.c.slug == NEXT_SLUG, S.c.status == "published")
                .order_by(S.c.id)
                .limit(1)
            )
        ).one()
        return int(row.id), str(row.title)

    session_id, title = await db.read(_one)
    from gathering.programme.release import release_programme

    async def _cancel(conn: AsyncConnection) -> int:
        await conn.execute(sa.update(S).where(S.c.id == session_id).values(status="cancelled"))
        return int(await conn.scalar(sa.select(G.c.id).where(G.c.slug == NEXT_SLUG)))

    gathering_id = await db.write(_cancel)
    await release_programme(db, gathering_id, released_by=None)
    [event] = await _events(client, f"/g/{NEXT_SLUG}/s/{session_id}/calendar.ics?lang=cy")
    assert str(event["SUMMARY"]) == cy(words.CANCELLED_SUMMARY).format(title=title)
    assert str(event["DESCRIPTION"]).startswith(cy(words.CANCELLED))
    assert str(event["STATUS"]) == "CANCELLED"


async def test_subscribe_links_on_a_welsh_page_carry_the_language(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    for lang, expected in (("en", False), ("cy", True)):
        client.cookies.set(i18n.COOKIE, lang)
        page = parse_html((await client.get(f"/g/{NEXT_SLUG}")).text)
        feeds = [
            h for h in page.xpath("//a/@href") if "calendar.ics" in h or h.startswith("webcal")
        ]
        assert feeds, lang
        # Google's and Outlook's subscribe links carry the feed's address encoded.
        assert [h for h in feeds if ("lang=cy" in unquote(h)) != expected] == [], lang


async def test_a_registrants_own_feed_is_in_the_language_they_registered_in(
    db: Database, client: httpx.AsyncClient
) -> None:
    logins = await load_demo(db, secret_key=TEST_SECRET)
    registration_id = int(logins.attendee_manage_token.split("-", 1)[0])
    R = schema.registration

    async def _welsh(conn: AsyncConnection) -> str:
        await conn.execute(sa.update(R).where(R.c.id == registration_id).values(language="cy"))
        return str(await conn.scalar(sa.select(R.c.feed_key).where(R.c.id == registration_id)))

    feed_key = await db.write(_welsh)
    path = f"/my/{feed_key}/agenda.ics"
    response = await client.get(path, headers={"accept-language": "en-GB,en;q=0.9"})
    assert response.status_code == 200, response.text
    calendar = icalendar.Calendar.from_ical(response.content)
    assert str(calendar["X-WR-CALNAME"]).startswith(_prefix(cy(words.AGENDA_FEED_NAME)))
    assert response.headers["content-language"] == "cy"
    # A choice made in the address still wins.
    english = icalendar.Calendar.from_ical((await client.get(f"{path}?lang=en")).content)
    assert str(english["X-WR-CALNAME"]).startswith(_prefix(words.AGENDA_FEED_NAME))
