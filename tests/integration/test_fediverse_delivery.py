"""Following over the fediverse, and releases delivered to followers.

A test actor (``fediverse_peer.Peer``, an aiohttp server on 127.0.0.1 with its own key) signs
its Follow; the app fetches its actor document, stores the follower and answers with a signed
Accept. The peer verifies every HTTP signature it receives with apsig. Deliveries are driven by a
``Deliverer`` with a clock the test moves (the app's own background deliverer is stopped, so
every attempt here is one the test made).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.core.settings import Settings
from gathering.fediverse.delivery import Deliverer
from gathering.programme.release import release_programme
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, sign_in
from tests.integration.fediverse_peer import Peer
from tests.integration.test_fediverse_actors import SECRETS

pytestmark = pytest.mark.anyio
BASE = "http://127.0.0.1:8000"
ACTIVITY = "application/activity+json"
NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        secret_key=TEST_SECRET,
        password_hash_cost="test",
        fediverse_private_network=True,  # the peer is on 127.0.0.1
    )


@pytest.fixture
async def world(client: httpx.AsyncClient) -> AsyncIterator[tuple[Database, Peer, Any]]:
    app = client._transport.app  # type: ignore[attr-defined]
    app.state.fediverse.stop()  # the test drives deliveries itself
    logins = await load_demo(app.state.db, secret_key=TEST_SECRET)
    peer = Peer(client)
    await peer.start()
    yield app.state.db, peer, logins
    await peer.stop()


class Clock:
    """The deliverer's clock, a minute ahead of the real one when made: what the inbox queues
    at the real time (the Accept) is due, and the test moves it on from there."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)

    def __call__(self) -> dt.datetime:
        return self.now


async def _actor_url(client: httpx.AsyncClient, slug: str) -> str:
    answer = await client.get(
        "/.well-known/webfinger", params={"resource": f"acct:{slug}@127.0.0.1:8000"}
    )
    return str(answer.json()["links"][0]["href"])


async def _rows(db: Database, table: sa.Table) -> list[dict[str, Any]]:
    async def _read(conn: AsyncConnection) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in await conn.execute(sa.select(table))]

    return await db.read(_read)


async def _execute(db: Database, statement: sa.Executable) -> None:
    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(statement)

    await db.write(_write)


async def _session_id(db: Database, title: str) -> int:
    async def _read(conn: AsyncConnection) -> int:
        query = sa.select(schema.programme_session.c.id).where(
            schema.programme_session.c.title == title
        )
        return int((await conn.execute(query)).scalar_one())

    return await db.read(_read)


async def _gathering_id(db: Database, slug: str) -> int:
    async def _read(conn: AsyncConnection) -> int:
        query = sa.select(schema.gathering.c.id).where(schema.gathering.c.slug == slug)
        return int((await conn.execute(query)).scalar_one())

    return await db.read(_read)


async def _move(db: Database, session_id: int, minutes: int) -> None:
    column = schema.programme_session.c

    async def _write(conn: AsyncConnection) -> None:
        query = sa.select(column.starts_at, column.ends_at).where(column.id == session_id)
        starts, ends = (await conn.execute(query)).one()
        shift = dt.timedelta(minutes=minutes)
        await conn.execute(
            sa.update(schema.programme_session)
            .where(column.id == session_id)
            .values(starts_at=starts + shift, ends_at=ends + shift)
        )

    await db.write(_write)


async def _follow(client: httpx.AsyncClient, peer: Peer, slug: str) -> str:
    actor = await _actor_url(client, slug)
    answer = await peer.post_as_alice(f"{actor}/inbox", peer.follow(actor))
    assert answer.status_code == 202, answer.text
    return actor


CO_HOSTED = "What kind of Labour Left do we need?"  # LRC hosts, LLA co-hosts
SUPPORTERS_ONLY = "Labour Left Alliance networking meeting for all signatories"  # LLA's


async def test_a_follow_is_accepted_and_a_release_delivers_a_signed_update_once(
    client: httpx.AsyncClient, world: tuple[Database, Peer, Any]
) -> None:
    db, peer, _logins = world
    clock = Clock()
    start = clock.now
    deliverer = Deliverer(db, client._transport.app.state.settings, clock=clock)  # type: ignore[attr-defined]
    lla = await _follow(client, peer, "lla")
    [follower] = await _rows(db, schema.fediverse_follower)
    assert follower["follower_uri"] == peer.actor_id
    assert follower["inbox_url"] == f"{peer.actor_id}/inbox"
    assert follower["shared_inbox_url"] == f"{peer.base}/inbox"
    assert follower["instance"] == f"127.0.0.1:{peer.port}"

    # The Accept, signed by LLA's key, to alice's own inbox.
    await deliverer.deliver_until_idle()
    assert peer.refused == []
    [(key_id, accept)] = peer.received
    assert key_id == f"{lla}#main-key"
    assert accept["type"] == "Accept"
    assert accept["actor"] == lla
    assert accept["object"] == {
        "id": f"{peer.actor_id}/follows/1",
        "type": "Follow",
        "actor": peer.actor_id,
        "object": lla,
    }

    # A release moving the co-hosted session and LLA's supporters-only meeting.
    gathering_id = await _gathering_id(db, "labour-conference-2019")
    co_hosted = await _session_id(db, CO_HOSTED)
    await _move(db, co_hosted, 30)
    await _move(db, await _session_id(db, SUPPORTERS_ONLY), 30)
    await release_programme(db, gathering_id, released_by=None)
    queued = [r for r in await _rows(db, schema.fediverse_delivery) if r["verb"] != "Accept"]
    assert [(r["verb"], r["session_id"], r["inbox_url"]) for r in queued] == [
        ("Update", co_hosted, f"{peer.base}/inbox")  # the shared inbox, once
    ]

    # Alice's server is down: the delivery waits, retried later, never lost.
    await peer.stop()
    await deliverer.deliver_until_idle()
    [row] = [r for r in await _rows(db, schema.fediverse_delivery) if r["verb"] == "Update"]
    assert row["attempts"] == 1 and row["delivered_at"] is None
    assert "ConnectError" in row["last_error"]
    assert row["send_after"] == start + dt.timedelta(seconds=30)
    clock.now = start + dt.timedelta(seconds=10)
    assert await deliverer.deliver_due() == 0  # not yet due
    clock.now = start + dt.timedelta(seconds=31)
    await deliverer.deliver_until_idle()  # still down: the second wait is twice as long
    [row] = [r for r in await _rows(db, schema.fediverse_delivery) if r["verb"] == "Update"]
    assert row["attempts"] == 2
    assert row["send_after"] == clock.now + dt.timedelta(seconds=60)

    await peer.start()  # back, on the same port
    clock.now += dt.timedelta(minutes=2)
    await deliverer.deliver_until_idle()
    clock.now += dt.timedelta(days=3)
    await deliverer.deliver_until_idle()  # nothing left: delivered once
    assert peer.refused == []
    updates = [(k, a) for k, a in peer.received if a["type"] == "Update"]
    assert len(updates) == 1
    key_id, update = updates[0]
    lrc = await _actor_url(client, "lrc")
    assert key_id == f"{lrc}#main-key"  # signed by the host, LRC
    assert update["actor"] == lrc
    assert update["id"] == f"{BASE}/ap/sessions/{co_hosted}/update/2"
    event = update["object"]
    assert event["name"] == CO_HOSTED
    assert event["startTime"] == "2019-09-23T19:00:00+01:00"  # moved by half an hour
    assert event["contacts"] == [lrc, lla]
    [row] = [r for r in await _rows(db, schema.fediverse_delivery) if r["verb"] == "Update"]
    assert row["delivered_at"] is not None and row["attempts"] == 3

    # Nothing private in anything delivered.
    for body in peer.raw_bodies:
        text = body.decode()
        for secret in SECRETS:
            assert secret not in text


async def test_cancelling_and_withdrawing_sessions_and_unfollowing(
    client: httpx.AsyncClient, world: tuple[Database, Peer, Any]
) -> None:
    db, peer, _logins = world
    deliverer = Deliverer(db, client._transport.app.state.settings)  # type: ignore[attr-defined]
    gathering = await _follow(client, peer, "labour-conference-2019")
    gathering_id = await _gathering_id(db, "labour-conference-2019")
    cancelled = await _session_id(db, CO_HOSTED)
    withdrawn = await _session_id(db, "Labour Against the Witchhunt fringe meeting")
    column = schema.programme_session.c
    await _execute(
        db,
        sa.update(schema.programme_session)
        .where(column.id == cancelled)
        .values(status="cancelled"),
    )
    await _execute(
        db, sa.update(schema.programme_session).where(column.id == withdrawn).values(status="draft")
    )
    # Made supporters-only: it leaves the fediverse as if withdrawn.
    private = await _session_id(db, "Let's Talk about Palestine")
    await _execute(
        db,
        sa.update(schema.programme_session).where(column.id == private).values(access="supporters"),
    )
    await release_programme(db, gathering_id, released_by=None)
    await deliverer.deliver_until_idle()
    assert peer.refused == []
    by_type = {
        (a["type"], a["object"]["id"] if isinstance(a["object"], dict) else a["object"]): a
        for _k, a in peer.received
    }
    update = by_type[("Update", f"{BASE}/ap/sessions/{cancelled}")]
    assert update["object"]["ical:status"] == "CANCELLED"
    delete = by_type[("Delete", f"{BASE}/ap/sessions/{withdrawn}")]
    assert delete["object"] == {"id": f"{BASE}/ap/sessions/{withdrawn}", "type": "Tombstone"}
    assert ("Delete", f"{BASE}/ap/sessions/{private}") in by_type
    # Nothing about the now-private session but its id.
    assert "Palestine" not in json.dumps([a for _k, a in peer.received])

    # Unfollow: the follower goes, and the next release sends nothing.
    undo = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.actor_id}/undo/1",
        "type": "Undo",
        "actor": peer.actor_id,
        "object": peer.follow(gathering),
    }
    answer = await peer.post_as_alice(f"{gathering}/inbox", undo)
    assert answer.status_code == 202
    assert await _rows(db, schema.fediverse_follower) == []
    before = len(await _rows(db, schema.fediverse_delivery))
    await _move(db, await _session_id(db, "Let's Talk about Palestine"), 15)
    await _execute(
        db, sa.update(schema.programme_session).where(column.id == private).values(access="public")
    )
    await release_programme(db, gathering_id, released_by=None)
    assert len(await _rows(db, schema.fediverse_delivery)) == before


async def _fediverse_state(db: Database) -> tuple[int, int, int]:
    return (
        len(await _rows(db, schema.fediverse_follower)),
        len(await _rows(db, schema.fediverse_delivery)),
        len(await _rows(db, schema.fediverse_blocked_instance)),
    )


async def test_unsigned_forged_and_other_activities_change_nothing(
    client: httpx.AsyncClient, world: tuple[Database, Peer, Any]
) -> None:
    db, peer, _logins = world
    lla = await _actor_url(client, "lla")
    inbox = f"{lla}/inbox".removeprefix(BASE)
    follow = peer.follow(lla)
    # No signature at all.
    answer = await client.post(
        inbox, content=json.dumps(follow), headers={"content-type": ACTIVITY}
    )
    assert answer.status_code == 401
    assert "HTTP signature" in answer.json()["message"]
    # Signed, then the body changed (the Follow now claims another actor's object).
    body, headers = peer.signed(f"{lla}/inbox", follow)
    tampered = body.replace(b"follows/1", b"follows/2")
    answer = await client.post(inbox, content=tampered, headers=headers)
    assert answer.status_code == 401
    # Signed by alice, but speaking for someone else.
    answer = await peer.post_as_alice(f"{lla}/inbox", {**follow, "actor": f"{peer.base}/users/bob"})
    assert answer.status_code == 401
    # A Like, a Create of a reply, a Delete: ignored without a look, 202 all the same.
    for kind in ("Like", "Create", "Delete", "Announce"):
        other = {
            "id": f"{peer.actor_id}/{kind}",
            "type": kind,
            "actor": peer.actor_id,
            "object": lla,
        }
        answer = await client.post(
            inbox, content=json.dumps(other), headers={"content-type": ACTIVITY}
        )
        assert answer.status_code == 202
    # Not JSON, and too large.
    assert (
        await client.post(inbox, content=b"\xff\xfe", headers={"content-type": ACTIVITY})
    ).status_code == 400
    huge = json.dumps({"type": "Follow", "padding": "x" * 300_000})
    assert (
        await client.post(inbox, content=huge, headers={"content-type": ACTIVITY})
    ).status_code == 413
    assert await _fediverse_state(db) == (0, 0, 0)


async def test_blocking_an_instance_removes_its_followers_and_refuses_its_posts(
    client: httpx.AsyncClient, world: tuple[Database, Peer, Any]
) -> None:
    db, peer, logins = world
    lla = await _follow(client, peer, "lla")
    assert (await _fediverse_state(db))[0] == 1
    admin_email, admin_password = next(
        (e, p) for e, p, role in logins.accounts if role == "network admin"
    )
    await sign_in(client, admin_email, admin_password)
    token = await csrf_from(client, "/admin/fediverse")
    answer = await client.post(
        "/admin/fediverse",
        data={
            "csrftoken": token,
            "host": f"http://127.0.0.1:{peer.port}/users/alice",
            "action": "block",
        },
    )
    assert answer.status_code == 200
    assert f"127.0.0.1:{peer.port} is blocked: 1 follower(s) removed." in answer.text
    followers, deliveries, blocked = await _fediverse_state(db)
    # The follower, and the Accept still waiting for it, are gone; the block is recorded.
    assert (followers, deliveries, blocked) == (0, 0, 1)
    client.cookies.clear()
    answer = await peer.post_as_alice(f"{lla}/inbox", peer.follow(lla, 2))
    assert answer.status_code == 403
    assert (await _fediverse_state(db))[0] == 0


async def test_only_an_admin_blocks(
    client: httpx.AsyncClient, world: tuple[Database, Peer, Any]
) -> None:
    db, peer, logins = world
    await _follow(client, peer, "lla")
    email, password = next((e, p) for e, p, role in logins.accounts if role != "network admin")
    await sign_in(client, email, password)
    assert (await client.get("/admin/fediverse")).status_code == 403
    # Even with a valid form token from another page, the rule refuses an organiser.
    token = await csrf_from(client, "/organiser")
    answer = await client.post(
        "/admin/fediverse", data={"csrftoken": token, "host": "127.0.0.1", "action": "block"}
    )
    assert answer.status_code == 403
    assert (await _fediverse_state(db))[0::2] == (1, 0)


async def test_an_instance_posting_too_often_is_told_to_wait(
    client: httpx.AsyncClient, world: tuple[Database, Peer, Any]
) -> None:
    from gathering.fediverse.inbox import INSTANCE_RATE

    db, peer, _logins = world
    lla = await _actor_url(client, "lla")
    inbox = f"{lla}/inbox".removeprefix(BASE)
    body, headers = peer.signed(f"{lla}/inbox", peer.follow(lla))
    # Signed, then altered: each costs us a key fetch and a verification, and counts.
    forged = body.replace(b"follows/1", b"follows/9")
    for _ in range(INSTANCE_RATE.limit):
        assert (await client.post(inbox, content=forged, headers=headers)).status_code == 401
    answer = await client.post(inbox, content=body, headers=headers)
    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) >= 1
    assert "wait" in answer.json()["message"]
    assert await _fediverse_state(db) == (0, 0, 0)  # even the good one was not taken


async def test_concurrent_claims_take_disjoint_batches(db: Database) -> None:
    """Replicas claiming at once never share a delivery (SKIP LOCKED on PostgreSQL, the single
    writer on SQLite), and every due delivery is claimed by someone."""
    import asyncio

    from gathering.fediverse import queries

    async def _queue(conn: AsyncConnection) -> None:
        for number in range(30):
            await queries.queue_delivery(
                conn,
                now=NOW,
                verb="Update",
                session_id=number,
                version=1,
                inbox_url=f"https://social{number}.example/inbox",
            )

    await db.write(_queue)

    async def _claim(conn: AsyncConnection) -> list[int]:
        rows = await queries.claim_due_deliveries(
            conn, now=NOW, lease_until=NOW + dt.timedelta(minutes=5), limit=12, max_attempts=12
        )
        return [row.id for row in rows]

    batches = await asyncio.gather(*(db.write(_claim, serializable=False) for _ in range(4)))
    claimed = [i for batch in batches for i in batch]
    assert len(claimed) == len(set(claimed)) == 30
    assert all(len(batch) <= 12 for batch in batches)
    # Leased: nobody else takes them until the lease ends.
    assert await db.write(_claim) == []


async def test_a_follow_of_an_impossible_actor_through_the_shared_inbox_is_refused_in_words(
    client: httpx.AsyncClient, world: tuple[Database, Peer, Any]
) -> None:
    db, peer, _logins = world
    for target in (
        f"{BASE}/ap/o/{2**64}",
        f"{BASE}/ap/g/99999",
        "https://elsewhere.example/ap/o/1",
    ):
        answer = await peer.post_as_alice(f"{BASE}/ap/inbox", peer.follow(target))
        assert answer.status_code in (404, 422), (target, answer.status_code)
        assert answer.json()["message"]
    assert await _fediverse_state(db) == (0, 0, 0)


async def test_a_deleted_account_stops_following_and_a_forged_deletion_does_not(
    client: httpx.AsyncClient, world: tuple[Database, Peer, Any]
) -> None:
    db, peer, _logins = world
    lla = await _follow(client, peer, "lla")
    await _follow(client, peer, "labour-conference-2019")
    delete = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.actor_id}#delete",
        "type": "Delete",
        "actor": peer.actor_id,
        "object": peer.actor_id,
    }
    inbox = f"{lla}/inbox".removeprefix(BASE)
    # Unsigned, while alice's account still exists: a forgery, nothing happens.
    answer = await client.post(
        inbox, content=json.dumps(delete), headers={"content-type": ACTIVITY}
    )
    assert answer.status_code == 202
    assert len(await _rows(db, schema.fediverse_follower)) == 2
    # Her server deleted her (her actor is 410 Gone; her key went with it): she is forgotten
    # by every actor she followed.
    peer.is_deleted = True
    answer = await client.post(
        "/ap/inbox", content=json.dumps(delete), headers={"content-type": ACTIVITY}
    )
    assert answer.status_code == 202
    assert await _rows(db, schema.fediverse_follower) == []
