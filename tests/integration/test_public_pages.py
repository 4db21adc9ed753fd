"""Public pages without sign-in: programme by day with filters, sessions, speakers, organisations,
search, and the changes page and Atom feed."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.demo import NEXT_SLUG
from gathering.programme.release import PublicSession, load_programme, release_programme
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.factories import add_room
from tests.helpers import parse_html, texts

pytestmark = pytest.mark.anyio
CONFERENCE = "labour-conference-2019"
NATIONAL = "dont-leave-organise-2021"
ATOM = "{http://www.w3.org/2005/Atom}"
PS = schema.programme_session


async def _execute(db: Database, statement: sa.Executable) -> None:
    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(statement)

    await db.write(_write)


async def _update_and_release(db: Database, session: PublicSession, **values: object) -> None:
    await _execute(db, sa.update(PS).where(PS.c.id == session.id).values(**values))
    programme = await load_programme(db, CONFERENCE)
    await release_programme(db, programme.gathering.id, released_by=None)


async def _sessions(db: Database, slug: str = CONFERENCE) -> tuple[PublicSession, ...]:
    await load_demo(db, secret_key=TEST_SECRET)
    return (await load_programme(db, slug)).sessions


async def _page(client: httpx.AsyncClient, path: str, status: int = 200):  # type: ignore[no-untyped-def]
    response = await client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return parse_html(response.text)


def _feed(content: bytes) -> ET.Element:
    return ET.fromstring(content)  # noqa: S314 - our own feed, in a test


def _paths(hrefs: list[str]) -> list[str]:
    return [urlsplit(href).path for href in hrefs]


def _session_titles(doc) -> list[str]:  # type: ignore[no-untyped-def]
    return texts(doc, "//main//li[contains(@class,'session')]//*[contains(@class,'session-title')]")


# --- the programme -------------------------------------------------------------------------


async def test_programme_is_grouped_by_day_in_london_time(
    db: Database, client: httpx.AsyncClient
) -> None:
    await _sessions(db)
    doc = await _page(client, f"/g/{CONFERENCE}")
    assert texts(doc, "//h1") == ["Labour Left at Labour Party conference 2019"]
    assert texts(doc, "//section[contains(@class,'day')]/h2") == [
        "Sunday 22 September",
        "Monday 23 September",
        "Tuesday 24 September",
        "Wednesday 25 September",
    ]
    # 16:30 UTC is 17:30 BST.
    assert texts(doc, "//li[contains(@class,'session')]//span[@class='when']") == [
        "17:30–19:00",
        "18:30–20:00",
        "19:00–20:30",
        "15:00–16:30",
    ]
    assert texts(doc, "//li[contains(@class,'session')]//span[@class='where']") == ["Venue tbc"] * 4
    assert _session_titles(doc)[0] == "Let's Talk about Palestine"
    links = _paths(doc.xpath("//li[contains(@class,'session')]//h3/a/@href"))
    sessions = await load_programme(db, CONFERENCE)
    assert links == [f"/g/{CONFERENCE}/s/{s.id}" for s in sessions.sessions]


async def test_programme_before_the_first_release_says_so(
    db: Database, client: httpx.AsyncClient
) -> None:
    now = dt.datetime.now(dt.UTC)
    await _execute(
        db,
        sa.insert(schema.gathering).values(
            slug="next-year",
            title="Next year",
            starts_on=dt.date(2030, 9, 21),
            ends_on=dt.date(2030, 9, 22),
            created_at=now,
            updated_at=now,
        ),
    )
    doc = await _page(client, "/g/next-year")
    assert texts(doc, "//main//p[@class='notice']") == ["The programme has not been published yet."]
    assert doc.xpath("//main//li[contains(@class,'session')]") == []
    changes = await _page(client, "/g/next-year/changes")
    assert texts(changes, "//main//p[@class='notice']") == [
        "The programme has not been published yet."
    ]
    feed = _feed((await client.get("/g/next-year/changes.atom")).content)
    assert feed.findall(f"{ATOM}entry") == []
    assert feed.findtext(f"{ATOM}updated") == "2030-09-21T00:00:00+00:00"


async def test_cancelled_session_stays_visible_and_marked(
    db: Database, client: httpx.AsyncClient
) -> None:
    target = (await _sessions(db))[1]
    await _update_and_release(db, target, status="cancelled")

    doc = await _page(client, f"/g/{CONFERENCE}")
    assert len(_session_titles(doc)) == 4
    item = doc.xpath(f"//li[.//h3[@id='session-{target.id}']]")[0]
    assert "is-cancelled" in item.get("class").split()
    assert texts(item, ".//del") == [target.title]
    assert texts(item, ".//*[contains(@class,'badge-cancelled')]") == ["Cancelled"]
    others = doc.xpath("//li[contains(@class,'session')][not(contains(@class,'is-cancelled'))]")
    assert len(others) == 3

    page = await _page(client, f"/g/{CONFERENCE}/s/{target.id}")
    assert texts(page, "//h1/del") == [target.title]
    assert texts(page, "//p[contains(@class,'notice-cancelled')]") == [
        "Cancelled This session has been cancelled and will not take place."
    ]


@pytest.mark.parametrize(
    ("slug", "query", "expected"),
    [
        (
            CONFERENCE,
            "organisation=lla",
            [
                "What kind of Labour Left do we need?",
                "Labour Against the Witchhunt fringe meeting",
                "Labour Left Alliance networking meeting for all signatories",
            ],
        ),
        (
            CONFERENCE,
            "access=supporters",
            ["Labour Left Alliance networking meeting for all signatories"],
        ),
        (NATIONAL, "track=plenary", ["Welcome: reclaiming our party", "Closing plenary"]),
        (NATIONAL, "format=online", ["Organising locally: mutual aid and left groups"]),
        (NATIONAL, "format=in_person", ["Repeal the anti-union laws"]),
        (NATIONAL, "organisation=fbu&format=hybrid", ["Welcome: reclaiming our party"]),
    ],
)
async def test_filters_narrow_the_programme(
    db: Database, client: httpx.AsyncClient, slug: str, query: str, expected: list[str]
) -> None:
    await _sessions(db)
    doc = await _page(client, f"/g/{slug}?{query}")
    assert _session_titles(doc) == expected
    # The form remembers the choice, and works without script: a GET form to this page.
    form = doc.xpath("//main//form")[0]
    assert (form.get("method"), urlsplit(form.get("action")).path) == ("get", f"/g/{slug}")
    for pair in query.split("&"):
        name, value = pair.split("=")
        assert form.xpath(f".//select[@name='{name}']/option[@selected]/@value") == [value]
        select_id = form.xpath(f".//select[@name='{name}']/@id")[0]
        assert form.xpath(f".//label[@for='{select_id}']")
    assert texts(doc, "//p[@id='result-count']") == [
        f"Showing {len(expected)} of {5 if slug == NATIONAL else 4} sessions."
    ]


async def test_unknown_filter_values_are_ignored_and_no_match_is_explained(
    db: Database, client: httpx.AsyncClient
) -> None:
    await _sessions(db)
    doc = await _page(client, f"/g/{CONFERENCE}?organisation=nobody&format=teleport")
    assert len(_session_titles(doc)) == 4
    doc = await _page(client, f"/g/{CONFERENCE}?organisation=jvl&access=supporters")
    assert _session_titles(doc) == []
    assert texts(doc, "//main//p[@class='notice']") == [
        "No sessions match these filters. Show the whole programme."
    ]


# --- a session -----------------------------------------------------------------------------


def _fact(doc, name: str) -> str:  # type: ignore[no-untyped-def]
    return texts(doc, f"//dl[contains(@class,'facts')]/div[dt='{name}']/dd")[0]


async def test_session_page_shows_time_place_hosts_speakers_and_places(
    db: Database, client: httpx.AsyncClient
) -> None:
    session = (await _sessions(db))[1]
    doc = await _page(client, f"/g/{CONFERENCE}/s/{session.id}")
    assert texts(doc, "//h1") == ["What kind of Labour Left do we need?"]
    assert _fact(doc, "When") == ("Monday 23 September 2019, 18:30–20:00 BST (Europe/London time)")
    assert _fact(doc, "Where") == "Venue tbc"
    assert _fact(doc, "Format") == "In person"
    assert _fact(doc, "Language") == "English"
    assert session.places_left == 149  # one demo attendee registered
    # It has ended (2019): the page names no places "left" (upcoming sessions' places are
    # tested on the demo's next gathering, test_programme_phone and test_public_speed_cache).
    assert "Places" not in texts(doc, "//dl//dt")
    assert texts(doc, "//ul[contains(@class,'hosts')]/li") == [
        "Labour Representation Committee (host)",
        "Labour Left Alliance (co-host)",
    ]
    assert _paths(doc.xpath("//ul[contains(@class,'hosts')]/li/a/@href")) == [
        "/organisations/lrc",
        "/organisations/lla",
    ]
    assert texts(doc, "//ul[contains(@class,'speakers')]/li") == [
        "Chris Williamson (speaker, MP)",
        "Jackie Walker (speaker)",
        "Ian Hodson (speaker, Bakers, Food and Allied Workers Union)",
    ]
    assert _paths(doc.xpath("//ul[contains(@class,'speakers')]/li/a/@href"))[0] == (
        "/speakers/chris-williamson"
    )

    # An upcoming session (the demo's next gathering) shows its places, live.
    upcoming = next(s for s in (await load_programme(db, NEXT_SLUG)).sessions if s.capacity)
    capacity = upcoming.capacity
    assert capacity is not None and capacity > 12
    await _execute(
        db, sa.update(PS).where(PS.c.id == upcoming.id).values(places_taken=capacity - 12)
    )
    doc = await _page(client, f"/g/{NEXT_SLUG}/s/{upcoming.id}")
    assert _fact(doc, "Places") == f"12 places left (capacity {capacity})"
    await _execute(db, sa.update(PS).where(PS.c.id == upcoming.id).values(places_taken=capacity))
    doc = await _page(client, f"/g/{NEXT_SLUG}/s/{upcoming.id}")
    assert _fact(doc, "Places") == f"Full — join the waiting list (capacity {capacity})"


async def test_online_session_names_no_joining_link_and_no_limit_shows_no_places(
    db: Database, client: httpx.AsyncClient
) -> None:
    online = next(s for s in await _sessions(db, NATIONAL) if s.format == "online")
    response = await client.get(f"/g/{NATIONAL}/s/{online.id}")
    doc = parse_html(response.text)
    assert _fact(doc, "Format") == "Online: joining details are sent to registered attendees"
    assert _fact(doc, "Where") == "Online"
    assert _fact(doc, "Track") == "Organising"
    assert texts(doc, "//dl[contains(@class,'facts')]/div/dt[.='Places']") == []
    assert "meet.example.org" not in response.text
    assert texts(doc, "//ul[contains(@class,'speakers')]/li") == [
        "Laura Pidcock (speaker, Former Labour MP)"
    ]


async def test_supporters_only_session_shows_how_to_get_in(
    db: Database, client: httpx.AsyncClient
) -> None:
    session = (await _sessions(db))[3]
    doc = await _page(client, f"/g/{CONFERENCE}/s/{session.id}")
    box = doc.xpath("//section[contains(@class,'notice-access')]")[0]
    assert texts(box, "./h2") == ["Supporters only"]
    assert texts(box, ".//p[@class='access-note']") == [
        "For signatories of the Labour Left Alliance appeal: sign it first, then register with "
        "the same email address."
    ]
    programme = await _page(client, f"/g/{CONFERENCE}")
    item = programme.xpath(f"//li[.//h3[@id='session-{session.id}']]")[0]
    assert texts(item, ".//span[contains(@class,'badge-access')]") == ["Supporters only"]


async def test_markdown_is_rendered_and_script_is_shown_as_text(
    db: Database, client: httpx.AsyncClient
) -> None:
    session = (await _sessions(db))[0]
    title = "<script>alert('title')</script> Palestine"
    await _update_and_release(
        db,
        session,
        title=title,
        description=(
            "# Agenda\n\n**Bold** claim <script>alert(1)</script> and "
            "[a link](https://example.org/x) and [bad](javascript:alert(2))"
        ),
    )
    for path in (f"/g/{CONFERENCE}/s/{session.id}", f"/g/{CONFERENCE}", f"/g/{CONFERENCE}/changes"):
        doc = await _page(client, path)
        # The link preview's JSON-LD is data, never run; no other script is on the page but our
        # own files (the programme's stars).
        scripts = doc.xpath("//script[not(@type='application/ld+json')]")
        assert all("/static/js/" in (s.get("src") or "") for s in scripts), path
    doc = await _page(client, f"/g/{CONFERENCE}/s/{session.id}")
    assert texts(doc, "//h1") == [title]
    description = doc.xpath("//div[contains(@class,'description')]")[0]
    assert texts(description, ".//h3") == ["Agenda"]  # demoted below the page's own headings
    assert texts(description, ".//strong") == ["Bold"]
    assert texts(description, ".//p") == [
        "Bold claim <script>alert(1)</script> and a link and [bad](javascript:alert(2))"
    ]
    assert [(a.get("href"), a.get("rel")) for a in description.xpath(".//a")] == [
        ("https://example.org/x", "nofollow noopener")
    ]
    assert len(doc.xpath("//h1")) == 1


# --- speakers, organisations, search -------------------------------------------------------


async def test_speaker_page_lists_their_sessions_across_gatherings(
    db: Database, client: httpx.AsyncClient
) -> None:
    await _sessions(db)
    await _execute(
        db,
        sa.update(schema.speaker)
        .where(schema.speaker.c.slug == "laura-pidcock")
        .values(bio="Organiser in the *North East*."),
    )
    doc = await _page(client, "/speakers/laura-pidcock")
    assert texts(doc, "//h1") == ["Laura Pidcock"]
    assert texts(doc, "//p[contains(@class,'affiliation')]") == ["Former Labour MP"]
    assert texts(doc, "//div[contains(@class,'bio')]//em") == ["North East"]
    assert texts(doc, "//section[@class='group']/h3") == [
        "Don't Leave, Organise: the next national gathering",  # the demo's upcoming one first
        "Don't Leave, Organise: national gathering",
    ]
    assert _session_titles(doc) == 2 * [
        "Organising locally: mutual aid and left groups",
        "Closing plenary",
    ]
    assert texts(doc, "//li[contains(@class,'session')]//span[@class='when']")[2:] == [
        "Saturday 18 September, 14:00–15:00",
        "Saturday 18 September, 15:15–16:00",
    ]
    assert (
        texts(doc, "//li[contains(@class,'session')]//span[contains(@class,'badge-role')]")
        == ["Speaker"] * 4
    )


async def test_organisation_page_lists_hosted_and_co_hosted_sessions(
    db: Database, client: httpx.AsyncClient
) -> None:
    await _sessions(db)
    doc = await _page(client, "/organisations/lrc")
    assert texts(doc, "//h1") == ["Labour Representation Committee (LRC)"]
    assert texts(doc, "//section[@class='group']/h3") == [
        "Don't Leave, Organise: the next national gathering",  # the demo's upcoming one first
        "Don't Leave, Organise: national gathering",
        "Labour Left at Labour Party conference 2019",
    ]
    assert _session_titles(doc) == [
        "Restoring democracy throughout our party",
        "Restoring democracy throughout our party",
        "What kind of Labour Left do we need?",
    ]
    assert texts(doc, "//li[contains(@class,'session')]//span[contains(@class,'badge-role')]") == [
        "Co-host",
        "Co-host",
        "Host",
    ]
    empty = await _page(client, "/organisations/derby-red-labour")
    assert texts(empty, "//main/p") == [
        "Derby Red Labour hosts no session in a published programme at the moment."
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pappe", ["Let's Talk about Palestine"]),  # accent-insensitive: Pappé
        ("LIVINGSTONE witchhunt", ["Labour Against the Witchhunt fringe meeting"]),
        ("jvl", ["Let's Talk about Palestine"]),  # a host's short name
        # The demo's next gathering has the same programme as its first (issue 16).
        ("plenary", 2 * ["Welcome: reclaiming our party", "Closing plenary"]),
    ],
)
async def test_search_finds_sessions_containing_every_word(
    db: Database, client: httpx.AsyncClient, query: str, expected: list[str]
) -> None:
    await _sessions(db)
    doc = await _page(client, f"/search?q={query}")
    assert _session_titles(doc) == expected
    assert doc.xpath("//input[@name='q']/@value") == [query]
    assert texts(doc, "//p[@id='result-count']") == [
        f"{len(expected)} session{'' if len(expected) == 1 else 's'} match “{query}”."
    ]


async def test_search_without_words_or_with_too_many_is_explained(
    db: Database, client: httpx.AsyncClient
) -> None:
    await _sessions(db)
    doc = await _page(client, "/search?q=+++")
    assert texts(doc, "//main//p[@class='notice']") == [
        "Type one or more words to find sessions, for example a speaker's name or a topic."
    ]
    doc = await _page(client, "/search?q=zebra+palestine")
    assert texts(doc, "//main//p[@class='notice']") == [
        "No session matches “zebra palestine”. Try fewer or different words."
    ]
    doc = await _page(client, "/search?q=" + "a" * 201, status=400)
    assert texts(doc, "//p[@id='search-error']") == ["Please search with at most 200 characters."]
    assert doc.xpath("//input[@name='q']/@aria-invalid") == ["true"]
    assert _session_titles(doc) == []
    doc = await _page(client, "/search?q=%3Cscript%3Ealert(1)%3C/script%3E")
    assert doc.xpath("//script") == []
    assert texts(doc, "//main//p[@class='notice']") == [
        "No session matches “<script>alert(1)</script>”. Try fewer or different words."
    ]


# --- changes -------------------------------------------------------------------------------


async def test_changes_page_words_a_room_move_and_a_time_change(
    db: Database, client: httpx.AsyncClient
) -> None:
    sessions = await _sessions(db)
    moved = sessions[1]
    programme = await load_programme(db, CONFERENCE)
    room_id = await add_room(db, programme.gathering.id)
    await _execute(
        db,
        sa.update(PS)
        .where(PS.c.id == moved.id)
        .values(
            room_id=room_id,
            starts_at=moved.starts_at + dt.timedelta(hours=1),
            ends_at=moved.ends_at + dt.timedelta(hours=1),
        ),
    )
    await release_programme(db, programme.gathering.id, released_by=None, note="Venue confirmed.")

    doc = await _page(client, f"/g/{CONFERENCE}/changes")
    assert texts(doc, "//h1") == ["Changes to the programme"]
    assert texts(doc, "//section[@class='release']/h2") == ["Release 2", "Release 1"]
    latest = doc.xpath("//section[@class='release']")[0]
    assert texts(latest, ".//p[@class='release-note']") == ["Venue confirmed."]
    assert texts(latest, ".//ul[@class='changes']/li") == [
        "What kind of Labour Left do we need?: Time changed from Mon 23 Sep 18:30 to 19:30; "
        "Moved from Venue tbc to Main hall, Brighthelm Centre"
    ]
    assert _paths(latest.xpath(".//ul[@class='changes']/li/a/@href")) == [
        f"/g/{CONFERENCE}/s/{moved.id}"
    ]
    assert (
        texts(doc, "//section[@class='release'][2]//ul[@class='changes']/li//span") == ["New"] * 4
    )
    assert texts(latest, ".//p[@class='meta']/time")[0].startswith(
        f"{dt.datetime.now(dt.UTC).astimezone(__import__('zoneinfo').ZoneInfo('Europe/London')):%A}"
    )

    # The session page shows the place and its access facts now.
    page = await _page(client, f"/g/{CONFERENCE}/s/{moved.id}")
    assert _fact(page, "Where") == "Main hall, Brighthelm Centre North Road, Brighton BN1 1YD"
    assert _fact(page, "Step-free access") == "Yes"
    assert _fact(page, "Hearing loop") == "No"
    assert _fact(page, "Quiet room") == "Not known yet"
    programme_page = await _page(client, f"/g/{CONFERENCE}")
    assert texts(programme_page, "//span[@class='where']")[1] == "Main hall, Brighthelm Centre"


async def test_atom_feed_lists_releases_with_stable_ids_and_answers_304(
    db: Database, client: httpx.AsyncClient
) -> None:
    target = (await _sessions(db))[0]
    await _update_and_release(db, target, status="cancelled")

    first = await client.get(f"/g/{CONFERENCE}/changes.atom")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/atom+xml")
    assert first.headers["access-control-allow-origin"] == "*"
    feed = _feed(first.content)
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        "Release 2: 1 change",
        "Release 1: 4 changes",
    ]
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert ids == [
        f"http://127.0.0.1:8000/g/{CONFERENCE}/changes#release-2",
        f"http://127.0.0.1:8000/g/{CONFERENCE}/changes#release-1",
    ]
    programme = await load_programme(db, CONFERENCE)
    assert programme.release is not None
    updated = dt.datetime.fromisoformat(entries[0].findtext(f"{ATOM}updated") or "")
    assert updated == programme.release.released_at
    assert feed.findtext(f"{ATOM}updated") == entries[0].findtext(f"{ATOM}updated")
    content = entries[0].find(f"{ATOM}content")
    assert content is not None and content.get("type") == "html"
    assert texts(parse_html(content.text or ""), "//li") == [
        "Let's Talk about Palestine: Cancelled"
    ]
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == (  # type: ignore[union-attr]
        f"http://127.0.0.1:8000/g/{CONFERENCE}/changes.atom"
    )
    assert feed.findtext(f"{ATOM}author/{ATOM}name")

    second = await client.get(f"/g/{CONFERENCE}/changes.atom")
    assert [e.findtext(f"{ATOM}id") for e in _feed(second.content).findall(f"{ATOM}entry")] == ids
    assert second.headers["etag"] == first.headers["etag"]
    cached = await client.get(
        f"/g/{CONFERENCE}/changes.atom", headers={"if-none-match": first.headers["etag"]}
    )
    assert (cached.status_code, cached.content) == (304, b"")


# --- links between pages and to machine-readable forms -------------------------------------


async def test_gathering_pages_advertise_their_machine_readable_forms(
    db: Database, client: httpx.AsyncClient
) -> None:
    session = (await _sessions(db))[0]
    expected_types = [
        "application/atom+xml",
        "application/xml",
        "application/json",
        "text/calendar",
    ]
    for path in (
        f"/g/{CONFERENCE}",
        f"/g/{CONFERENCE}/s/{session.id}",
        f"/g/{CONFERENCE}/changes",
    ):
        doc = await _page(client, path)
        # oEmbed discovery (its answer is application/json) is tested in test_reach_embeds.py,
        # the page in other languages (hreflang) in tests/i18n.
        links = doc.xpath(
            "//head/link[@rel='alternate'][not(@type='application/json+oembed')][not(@hreflang)]"
        )
        assert [link.get("type") for link in links] == expected_types, path
        for link in links:
            response = await client.get(link.get("href"))
            assert response.status_code == 200, link.get("href")
            assert response.headers["content-type"].startswith(link.get("type"))
    doc = await _page(client, f"/g/{CONFERENCE}")
    assert texts(doc, "//section[@class='elsewhere']//a") == [
        "Changes to the programme",
        "Atom feed",
        "frab schedule XML",
        "Schedule JSON",
    ]


async def test_home_links_each_gathering_and_the_api_description(
    db: Database, client: httpx.AsyncClient
) -> None:
    await _sessions(db)
    doc = await _page(client, "/")
    assert _paths(doc.xpath("//main//article/h2/a/@href")) == [
        f"/g/{NEXT_SLUG}",  # the demo's upcoming gathering (issue 16)
        f"/g/{NATIONAL}",
        f"/g/{CONFERENCE}",
    ]
    service = doc.xpath("//head/link[@rel='service-desc']")
    assert [link.get("type") for link in service] == ["application/openapi+json"]
    assert (await client.get(service[0].get("href"))).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/g/no-such-gathering",
        "/g/no-such-gathering/changes",
        "/g/no-such-gathering/changes.atom",
        f"/g/{CONFERENCE}/s/999999",
        "/speakers/nobody",
        "/organisations/nobody",
    ],
)
async def test_unknown_addresses_are_404(
    db: Database, client: httpx.AsyncClient, path: str
) -> None:
    await _sessions(db)
    assert (await client.get(path)).status_code == 404


async def test_a_session_of_another_gathering_is_404(
    db: Database, client: httpx.AsyncClient
) -> None:
    other = (await _sessions(db, NATIONAL))[0]
    assert (await client.get(f"/g/{CONFERENCE}/s/{other.id}")).status_code == 404
    assert (await client.get(f"/g/{NATIONAL}/s/{other.id}")).status_code == 200


async def test_a_speaker_in_no_released_programme_has_no_public_page(
    db: Database, client: httpx.AsyncClient
) -> None:
    """An unannounced speaker stays unannounced until a release names them."""
    await load_demo(db, secret_key=TEST_SECRET)

    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(
            sa.insert(schema.speaker).values(
                slug="surprise-guest", name="Surprise Guest", created_at=dt.datetime.now(dt.UTC)
            )
        )

    await db.write(_write)
    assert (await client.get("/speakers/surprise-guest")).status_code == 404
    assert (await client.get("/api/speakers/surprise-guest")).status_code == 404
    search = await client.get("/search", params={"q": "Surprise"})
    assert "Surprise Guest" not in search.text


async def test_speaker_photo_is_public_only_once_a_release_names_the_speaker(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32  # stored as given; the type check is the admin's
    now = dt.datetime.now(dt.UTC)

    async def _write(conn: AsyncConnection) -> None:
        hidden = await conn.execute(
            sa.insert(schema.speaker)
            .values(slug="surprise-guest", name="Surprise Guest", photo="abc", created_at=now)
            .returning(schema.speaker.c.id)
        )
        bash = await conn.execute(
            sa.update(schema.speaker)
            .where(schema.speaker.c.slug == "graham-bash")
            .values(photo="def")
            .returning(schema.speaker.c.id)
        )
        for speaker_id in (hidden.scalar_one(), bash.scalar_one()):
            await conn.execute(
                sa.insert(schema.speaker_photo).values(
                    speaker_id=speaker_id, content_type="image/png", data=png, updated_at=now
                )
            )

    await db.write(_write)
    assert (await client.get("/speakers/surprise-guest/photo")).status_code == 404
    page = parse_html((await client.get("/speakers/graham-bash")).text)
    [img] = page.xpath("//main//img[@class='speaker-photo']")
    assert img.get("alt") == "Photo of Graham Bash"
    photo = await client.get(img.get("src"))
    assert photo.status_code == 200
    assert photo.content == png
    assert photo.headers["content-type"] == "image/png"
    assert photo.headers["cache-control"].startswith("public")
