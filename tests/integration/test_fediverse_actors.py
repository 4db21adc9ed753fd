"""The fediverse's public side: WebFinger, actor documents, outboxes of Events, followers.

Documents are checked against the ActivityStreams vocabulary by expanding them as JSON-LD with
pyld, offline: its frozen loader serves the W3C ActivityStreams and security contexts it ships,
and refuses any other URL. The AS context maps unknown terms to blank nodes (``"@vocab": "_:"``),
so a property or type outside the vocabularies (AS2, security, and the Mobilizon terms our
context defines) shows up as a ``_:`` key or type: none may.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pyld import jsonld
from pyld.documentloader.frozen import FrozenDocumentLoader

from gathering.core.settings import Settings
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo

pytestmark = pytest.mark.anyio
AS = "https://www.w3.org/ns/activitystreams#"
LDP = "http://www.w3.org/ns/ldp#"
SEC = "https://w3id.org/security#"
ACTIVITY = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
# What must never leave Gathering (demo data): the supporters-only session, its note, joining
# links, attendees.
SECRETS = (
    "Labour Left Alliance networking meeting",
    "For signatories of the Labour Left Alliance appeal",
    "meet.example.org",
    "example.org/",
    "Sam Okafor",
    "sam.okafor@",
    "Rhiannon Price",
    "invite_code",
    "places_left",
)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, secret_key=TEST_SECRET, password_hash_cost="test")


def expand(document: dict[str, Any]) -> list[dict[str, Any]]:
    expanded: list[dict[str, Any]] = jsonld.expand(
        document, {"documentLoader": FrozenDocumentLoader()}
    )
    return expanded


def undefined_terms(node: Any) -> list[str]:
    """Keys or types that fell outside every vocabulary (blank-node IRIs)."""
    found: list[str] = []
    if isinstance(node, list):
        for item in node:
            found += undefined_terms(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("_:"):
                found.append(key)
            if key == "@type":
                found += [t for t in value if t.startswith("_:")]
            found += undefined_terms(value)
    return found


async def _demo(client: httpx.AsyncClient) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    await load_demo(app.state.db, secret_key=TEST_SECRET)


async def _actor_url(client: httpx.AsyncClient, slug: str) -> str:
    answer = await client.get(
        "/.well-known/webfinger", params={"resource": f"acct:{slug}@127.0.0.1:8000"}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/jrd+json")
    links = {link["rel"]: link for link in answer.json()["links"]}
    assert links["self"]["type"] == ACTIVITY
    return str(links["self"]["href"])


async def test_webfinger_names_the_organisation_and_the_gathering(
    client: httpx.AsyncClient,
) -> None:
    await _demo(client)
    answer = await client.get(
        "/.well-known/webfinger", params={"resource": "acct:lla@127.0.0.1:8000"}
    )
    jrd = answer.json()
    assert jrd["subject"] == "acct:lla@127.0.0.1:8000"
    actor = await _actor_url(client, "lla")
    assert actor.startswith("http://127.0.0.1:8000/ap/o/")
    assert jrd["links"][1] == {
        "rel": "http://webfinger.net/rel/profile-page",
        "type": "text/html",
        "href": "http://127.0.0.1:8000/organisations/lla",
    }
    gathering = await _actor_url(client, "labour-conference-2019")
    assert gathering.startswith("http://127.0.0.1:8000/ap/g/")
    # By actor URL too, as Mastodon asks after reading an actor.
    again = await client.get("/.well-known/webfinger", params={"resource": actor})
    assert again.json()["subject"] == "acct:lla@127.0.0.1:8000"


@pytest.mark.parametrize(
    "resource",
    [
        "acct:nobody@127.0.0.1:8000",
        "acct:lla@elsewhere.example",
        "acct:door-practice@127.0.0.1:8000",  # unlisted gatherings are never announced
    ],
)
async def test_webfinger_refuses_what_is_not_ours(client: httpx.AsyncClient, resource: str) -> None:
    await _demo(client)
    answer = await client.get("/.well-known/webfinger", params={"resource": resource})
    assert answer.status_code == 404
    missing = await client.get("/.well-known/webfinger")
    assert missing.status_code == 400
    assert "resource=acct:" in missing.json()["error"]


@pytest.mark.parametrize("accept", [ACTIVITY, LD])
async def test_actor_documents_validate_as_activitystreams(
    client: httpx.AsyncClient, accept: str
) -> None:
    await _demo(client)
    for slug, kind in (("lla", "Organization"), ("labour-conference-2019", "Group")):
        url = await _actor_url(client, slug)
        answer = await client.get(
            url.removeprefix("http://127.0.0.1:8000"), headers={"accept": accept}
        )
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith(ACTIVITY)
        document = answer.json()
        [node] = expand(document)
        assert undefined_terms(node) == []
        assert node["@id"] == url
        assert node["@type"] == [AS + kind]
        assert node[LDP + "inbox"] == [{"@id": f"{url}/inbox"}]
        assert node[AS + "outbox"] == [{"@id": f"{url}/outbox"}]
        assert node[AS + "followers"] == [{"@id": f"{url}/followers"}]
        assert node[AS + "preferredUsername"] == [{"@value": slug}]
        [key] = node[SEC + "publicKey"]
        assert key["@id"] == f"{url}#main-key"
        assert key[SEC + "owner"] == [{"@id": url}]
        pem = key[SEC + "publicKeyPem"][0]["@value"]
        assert pem.startswith("-----BEGIN PUBLIC KEY-----")
        assert "PRIVATE" not in answer.text
        # One key per actor, generated once: asked again, the same key.
        second = await client.get(
            url.removeprefix("http://127.0.0.1:8000"), headers={"accept": accept}
        )
        assert second.json()["publicKey"]["publicKeyPem"] == pem


async def test_a_browser_asking_for_an_actor_goes_to_its_page(client: httpx.AsyncClient) -> None:
    await _demo(client)
    url = await _actor_url(client, "lla")
    answer = await client.get(
        url.removeprefix("http://127.0.0.1:8000"), headers={"accept": "text/html"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "http://127.0.0.1:8000/organisations/lla"


async def _outbox_items(
    client: httpx.AsyncClient, actor_url: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every item of an actor's outbox, page after page, and every page's raw text."""
    path = actor_url.removeprefix("http://127.0.0.1:8000")
    answer = await client.get(f"{path}/outbox", headers={"accept": ACTIVITY})
    collection = answer.json()
    assert collection["type"] == "OrderedCollection"
    texts = [answer.text]
    items: list[dict[str, Any]] = []
    page_url: str | None = collection["first"]
    while page_url is not None:
        page = await client.get(
            page_url.removeprefix("http://127.0.0.1:8000"), headers={"accept": ACTIVITY}
        )
        texts.append(page.text)
        document = page.json()
        assert document["type"] == "OrderedCollectionPage"
        assert document["partOf"] == f"{actor_url}/outbox"
        items += document["orderedItems"]
        page_url = document.get("next")
    assert collection["totalItems"] == len(items)
    return items, texts


async def test_outboxes_hold_mobilizon_shaped_events_of_public_sessions_only(
    client: httpx.AsyncClient,
) -> None:
    await _demo(client)
    lla = await _actor_url(client, "lla")
    lrc = await _actor_url(client, "lrc")
    items, texts = await _outbox_items(client, lla)
    # LLA co-hosts two public sessions; its own supporters-only meeting is not there.
    assert [i["object"]["name"] for i in items] == [
        "What kind of Labour Left do we need?",
        "Labour Against the Witchhunt fringe meeting",
    ]
    first = items[0]
    assert first["type"] == "Create"
    assert first["actor"] == lrc  # the host signs; LLA is a co-host
    event = first["object"]
    assert event["type"] == "Event"
    assert event["startTime"] == "2019-09-23T18:30:00+01:00"  # the gathering's zone, with offset
    assert event["endTime"] == "2019-09-23T20:00:00+01:00"
    assert event["timezone"] == "Europe/London"
    assert event["attributedTo"] == lrc
    assert event["contacts"] == [lrc, lla]  # every host organisation named
    assert [t["href"] for t in event["tag"]] == [lrc, lla]
    assert event["ical:status"] == "CONFIRMED"
    assert event["url"].startswith("http://127.0.0.1:8000/g/labour-conference-2019/s/")
    assert "location" not in event  # venue to be confirmed
    assert "https://www.w3.org/ns/activitystreams#Public" in event["to"]
    assert undefined_terms(expand(first)) == []
    # The Event's id dereferences to the same Event.
    again = await client.get(
        event["id"].removeprefix("http://127.0.0.1:8000"), headers={"accept": ACTIVITY}
    )
    assert {k: v for k, v in again.json().items() if k != "@context"} == event
    # Nothing private on any page of any actor's outbox.
    actors = [lla, lrc] + [
        await _actor_url(client, slug)
        for slug in (
            "jvl",
            "law",
            "dont-leave-organise",
            "labour-conference-2019",
            "dont-leave-organise-2021",
        )
    ]
    for actor in actors:
        _items, pages = await _outbox_items(client, actor)
        texts += pages
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, (secret, text[:200])


async def test_a_place_is_a_place_with_its_address(client: httpx.AsyncClient) -> None:
    import sqlalchemy as sa

    from gathering.core import schema
    from gathering.programme.release import release_programme
    from tests.factories import add_room

    await _demo(client)
    db = client._transport.app.state.db  # type: ignore[attr-defined]

    async def _ids(conn: Any) -> tuple[int, int]:
        gid = (
            await conn.execute(
                sa.select(schema.gathering.c.id).where(
                    schema.gathering.c.slug == "labour-conference-2019"
                )
            )
        ).scalar_one()
        sid = (
            await conn.execute(
                sa.select(schema.programme_session.c.id).where(
                    schema.programme_session.c.title == "Let's Talk about Palestine"
                )
            )
        ).scalar_one()
        return gid, sid

    gathering_id, session_id = await db.read(_ids)
    room_id = await add_room(db, gathering_id)

    async def _move(conn: Any) -> None:
        await conn.execute(
            sa.update(schema.programme_session)
            .where(schema.programme_session.c.id == session_id)
            .values(room_id=room_id)
        )

    await db.write(_move)
    await release_programme(db, gathering_id, released_by=None)
    answer = await client.get(f"/ap/sessions/{session_id}", headers={"accept": ACTIVITY})
    event = answer.json()
    assert event["location"] == {
        "type": "Place",
        "name": "Main hall, Brighthelm Centre",
        "address": {
            "type": "PostalAddress",
            "name": "Brighthelm Centre",
            "streetAddress": "North Road, Brighton BN1 1YD",
        },
    }
    [node] = expand(event)
    assert undefined_terms(node) == []
    [place] = node[AS + "location"]
    assert place["@type"] == [AS + "Place"]
    assert place["http://schema.org#address"][0]["http://schema.org#streetAddress"] == [
        {"@value": "North Road, Brighton BN1 1YD"}
    ]


async def test_a_supporters_only_session_is_no_object(client: httpx.AsyncClient) -> None:
    import sqlalchemy as sa

    from gathering.core import schema

    await _demo(client)
    db = client._transport.app.state.db  # type: ignore[attr-defined]

    async def _id(conn: Any) -> int:
        query = sa.select(schema.programme_session.c.id).where(
            schema.programme_session.c.access == "supporters"
        )
        return int((await conn.execute(query)).scalars().first())

    session_id = await db.read(_id)
    answer = await client.get(f"/ap/sessions/{session_id}", headers={"accept": ACTIVITY})
    assert answer.status_code == 404
    assert "Labour Left Alliance networking" not in answer.text


async def test_followers_collection_is_a_count_only(client: httpx.AsyncClient) -> None:
    await _demo(client)
    lla = await _actor_url(client, "lla")
    answer = await client.get(
        f"{lla.removeprefix('http://127.0.0.1:8000')}/followers", headers={"accept": ACTIVITY}
    )
    document = answer.json()
    assert document == {
        "@context": document["@context"],
        "id": f"{lla}/followers",
        "type": "OrderedCollection",
        "totalItems": 0,
    }
    assert json.dumps(document).count("orderedItems") == 0
