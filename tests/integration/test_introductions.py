"""Issue 20, CLP introductions, double-blind: people who opted in and gave the same constituency
get one mail naming exactly the others of their CLP who opted in; nobody else learns who met
whom; withdrawal works until sending; sending happens once; erasure and the purge remove the
records. Both engines, through the app where a person or an organiser would act."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from gathering.core import schema
from gathering.core.database import Database
from gathering.introductions import rules
from gathering.introductions.matching import constituency_key
from gathering.mail.messages import Outgoing
from gathering.mail.sender import render
from gathering.privacy import retention
from gathering.registration import manage as booking_rules
from gathering.registration.links import links_for
from tests.helpers import csrf_from, parse_html, sign_in
from tests.integration.online_world import ADMIN, LLA, SLUG, World, build, email, rows

pytestmark = pytest.mark.anyio

KEMPTOWN, HOVE, LEWES = "Brighton Kemptown", "Hove and Portslade", "Lewes"
PEOPLE: dict[str, dict[str, Any]] = {
    "Ann": {"constituency": "Brighton Kemptown", "match": True},
    "Ben": {"constituency": "brighton, kemptown CLP", "match": True},
    "Cat": {"constituency": "Brighton Kemptown Constituency Labour Party", "match": True},
    "Dan": {"constituency": "Brighton Kemptown"},  # did not opt in
    "Eve": {"constituency": "Hove & Portslade", "match": True},
    "Fay": {"constituency": "hove  and portslade", "match": True},
    "Gus": {"constituency": "Lewes", "match": True},  # alone in his CLP
    "Hal": {"constituency": "Lewes"},  # did not opt in
    "Ivy": {"constituency": "Hove and Portslade", "match": True, "status": "cancelled"},
    "Jo": {"constituency": "Brighton Kemptown", "match": True},  # withdraws before sending
    "Kit": {"constituency": "Hove", "match": True, "status": "pending"},
}
EXPECTED = {  # who each person's mail names, after Jo withdraws
    "Ann": {"Ben", "Cat"},
    "Ben": {"Ann", "Cat"},
    "Cat": {"Ann", "Ben"},
    "Eve": {"Fay"},
    "Fay": {"Eve"},
    "Gus": set(),
}
CONTACT = "south-east@network.example.org"


def test_constituencies_match_after_normalising() -> None:
    same = [
        "Brighton Kemptown",
        "brighton, kemptown CLP",
        "BRIGHTON KEMPTOWN Constituency Labour Party",
        "  Brighton   Kemptown.  ",
    ]
    assert {constituency_key(text) for text in same} == {"brighton kemptown"}
    assert constituency_key("Hove & Portslade") == constituency_key("hove and portslade clp")
    assert constituency_key("Hove") != constituency_key("Hove and Portslade")
    assert constituency_key("CLP") == "" and constituency_key(" ,. ") == ""


async def _world(db: Database) -> World:
    today = dt.datetime.now(dt.UTC).date()
    return await build(db, PEOPLE, ends_on=today - dt.timedelta(days=1))


async def _mails(db: Database, kinds: tuple[str, ...] = rules.queries.KINDS) -> list[Any]:
    o = schema.outbox
    return await rows(db, sa.select(o).where(o.c.kind.in_(kinds)).order_by(o.c.id))


def _rendered(row: Any) -> str:
    message = Outgoing(
        id=row.id,
        kind=row.kind,
        to_address=row.to_address,
        subject=row.subject,
        body_text=row.body_text,
        body_html=row.body_html,
        attachments=row.attachments,
        context=row.context,
        created_at=row.created_at,
        attempts=row.attempts,
    )
    shown = render(message)
    return "\n".join((shown.subject, shown.text, shown.html))


def _counts(page: httpx.Response) -> dict[str, str]:
    doc = parse_html(page.text)
    return {
        dd.get("data-count"): dd.text_content().strip()
        for dd in doc.xpath("//dl[@id='introduction-counts']//dd")
    }


async def _withdraw(client: httpx.AsyncClient, world: World, name: str) -> httpx.Response:
    path = f"/r/{world.manage(name)}/introductions"
    return await client.post(path, data={"csrftoken": await csrf_from(client, path)})


async def test_each_mail_names_exactly_the_opted_in_others_of_the_same_clp(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    # Jo withdraws from her booking's page before the introductions go.
    page = await client.get(f"/r/{world.manage('Jo')}/introductions")
    assert parse_html(page.text).xpath("//p[@id='introduction-state']/@data-state") == ["opted_in"]
    done = await _withdraw(client, world, "Jo")
    assert done.status_code == 303
    page = await client.get(done.headers["location"])
    assert parse_html(page.text).xpath("//p[@id='introduction-state']/@data-state") == [
        "not_opted_in"
    ]
    consents = schema.consent
    [jo] = await rows(
        db, sa.select(consents).where(consents.c.registration_id == world.people["Jo"])
    )
    assert jo.withdrawn_at is not None

    await sign_in(client, *LLA)
    path = f"/organiser/g/{SLUG}/introductions"
    before = await client.get(path)
    assert _counts(before) == {"opted_in": "6", "groups": "2", "singles": "1"}
    saved = await client.post(
        path,
        data={"csrftoken": await csrf_from(client, path), "send_at": "", "single_contact": CONTACT},
    )
    assert saved.status_code == 303
    token = await csrf_from(client, path)
    sent = await client.post(f"{path}/send", data={"csrftoken": token})
    assert sent.status_code == 303

    mails = await _mails(db)
    by_address = {m.to_address: m for m in mails}
    assert len(mails) == len(by_address) == len(EXPECTED)  # one mail per person
    assert set(by_address) == {email(name) for name in EXPECTED}
    everyone = set(PEOPLE)
    for name, others in EXPECTED.items():
        mail = by_address[email(name)]
        assert mail.kind == ("introduction" if others else "introduction_single")
        assert {o["name"] for o in mail.context["others"]} == others
        assert {o["email"] for o in mail.context["others"]} == {email(o) for o in others}
        text = _rendered(mail)
        for stranger in everyone - others - {name}:
            assert email(stranger) not in text, (name, stranger)
            assert f"{stranger} " not in text and f"{stranger}<" not in text, (name, stranger)
        for other in others:
            assert email(other) in text
        assert "How your address was shared" in text or not others
        assert "you ticked" in text
    assert CONTACT in _rendered(by_address[email("Gus")])

    # Never twice: not on a second press, not by the schedule, not by a late withdrawal.
    again = await client.post(f"{path}/send", data={"csrftoken": token})
    assert again.status_code == 422
    app = client._transport.app  # type: ignore[attr-defined]
    links = links_for(app, app.state.settings)
    assert await rules.send_due(db, links=links, now=dt.datetime.now(dt.UTC)) == 0
    assert len(await _mails(db)) == len(EXPECTED)
    late = await client.post(f"/r/{world.manage('Ann')}/introductions", data={"csrftoken": token})
    assert late.status_code == 409
    after = await client.get(path)
    assert _counts(after) == {"groups": "2", "singles": "1"}
    assert parse_html(after.text).xpath("//p[@id='introductions-sent']/@data-sent") == ["yes"]


async def test_scheduled_introductions_go_once_at_the_chosen_time(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    await sign_in(client, *LLA)
    path = f"/organiser/g/{SLUG}/introductions"
    too_early = await client.post(
        path,
        data={"csrftoken": await csrf_from(client, path), "send_at": "2001-01-01T10:00"},
    )
    assert too_early.status_code == 422
    assert "last day" in parse_html(too_early.text).xpath("string(//div[@class='error-summary'])")
    garbled = await client.post(
        path, data={"csrftoken": await csrf_from(client, path), "send_at": "next tuesday"}
    )
    assert garbled.status_code == 422
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/London")
    )
    saved = await client.post(
        path,
        data={
            "csrftoken": await csrf_from(client, path),
            "send_at": when.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert saved.status_code == 303
    app = client._transport.app  # type: ignore[attr-defined]
    links = links_for(app, app.state.settings)
    assert await rules.send_due(db, links=links, now=dt.datetime.now(dt.UTC)) == 0
    assert await _mails(db) == []
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    # Two replicas' housekeeping at once still send one round.
    import asyncio

    results = await asyncio.gather(
        rules.send_due(db, links=links, now=later), rules.send_due(db, links=links, now=later)
    )
    assert sum(results) == 1
    assert len(await _mails(db)) == len(EXPECTED) + 1  # Jo has not withdrawn here
    assert world.people


async def test_no_page_export_or_api_reveals_who_met_whom(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    app = client._transport.app  # type: ignore[attr-defined]
    links = links_for(app, app.state.settings)
    await sign_in(client, *ADMIN)
    await rules.send_now(db, await _admin(db), SLUG, links=links)
    mails = await _mails(db)
    opted = [n for n, spec in PEOPLE.items() if spec.get("match")]
    addresses = [email(n) for n in opted]

    # The network admin's outbox: introduction mail is sealed (no recipient, no body).
    listing = await client.get("/admin/outbox")
    assert listing.status_code == 200
    for address in addresses:
        assert address not in listing.text
    for mail in mails:
        shown = await client.get(f"/admin/outbox/{mail.id}")
        assert shown.status_code == 200
        for name in opted:
            assert email(name) not in shown.text
            assert f">{name}<" not in shown.text and f"{name} &lt;" not in shown.text

    # The organisers' pages, exports and the public API: counts, never who with whom.
    gathering = f"/organiser/g/{SLUG}"
    hybrid = world.sessions["Hybrid"]
    pages = [
        f"{gathering}/introductions",
        f"{gathering}/dashboard",
        f"/api/gatherings/{SLUG}",
        f"/g/{SLUG}",
        f"/g/{SLUG}/calendar.ics",
        f"{gathering}/sessions/{hybrid}/dashboard",
    ]
    for path in pages:
        response = await client.get(path)
        assert response.status_code == 200, path
        for address in addresses:
            assert address not in response.text, path
    intro_page = (await client.get(f"{gathering}/introductions")).text
    for text in (KEMPTOWN, HOVE, LEWES, "Kemptown", "Portslade"):
        assert text not in intro_page

    # The audit log holds counts only.
    audit = schema.audit_event
    events = await rows(
        db, sa.select(audit).where(audit.c.action.like("introductions%")).order_by(audit.c.id)
    )
    assert [(e.action, e.detail) for e in events] == [
        ("introductions_sent", {"groups": 2, "singles": 1})
    ]
    dumped = json.dumps([e.detail for e in events])
    assert not any(address in dumped for address in addresses)

    # Once sent, the outbox copies are emptied: only each person's own inbox holds the names.
    o = schema.outbox
    await db.write(
        lambda conn: conn.execute(
            sa.update(o).where(o.c.kind.in_(rules.queries.KINDS)).values(sent_at=sa.func.now())
        )
    )
    assert await rules.seal_sent(db) == len(mails)
    for mail in await _mails(db):
        assert mail.context is None and mail.body_text == "" and mail.subject == ""
    assert await rules.seal_sent(db) == 0


async def _admin(db: Database) -> Any:
    from gathering.core.permissions import Actor

    a = schema.account
    [row] = await rows(db, sa.select(a).where(a.c.email == ADMIN[0]))
    return Actor(
        account_id=row.id,
        email=row.email,
        display_name=row.display_name,
        is_admin=True,
        organisation_ids=frozenset(),
    )


async def test_erasure_and_the_purge_remove_the_records(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    app = client._transport.app  # type: ignore[attr-defined]
    links = links_for(app, app.state.settings)
    await rules.send_now(db, await _admin(db), SLUG, links=links)
    # Ann erases herself while the mail still waits: the others' mail no longer names her.
    await booking_rules.erase(db, world.manage("Ann"), links=links, offer_hours=24)
    for mail in await _mails(db):
        assert "ann@example.org" not in json.dumps(mail.context)
    [ben] = [m for m in await _mails(db) if m.to_address == email("Ben")]
    assert {o["name"] for o in ben.context["others"]} == {"Cat", "Jo"}

    assert await rows(db, sa.select(schema.introduction_round)) != []
    far = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    await retention.purge(db, now=far)
    assert await rows(db, sa.select(schema.introduction_round)) == []
    remaining = await _mails(db)
    assert remaining == []  # unsent mail is dropped by the purge
    o = schema.outbox
    left = json.dumps([list(map(str, r)) for r in await rows(db, sa.select(o))])
    for name in PEOPLE:
        assert email(name) not in left


async def test_only_the_host_organisation_may_see_counts_or_send(
    db: Database, client: httpx.AsyncClient
) -> None:
    world = await _world(db)
    path = f"/organiser/g/{SLUG}/introductions"
    # Signed out: sent to sign in, nothing queued.
    anonymous = await client.get(path)
    assert anonymous.status_code in (302, 303, 401)
    # An organiser of another organisation (JVL co-hosts nothing here, hosts nothing).
    await sign_in(client, "jvl@example.org", "demo-organiser-password")
    token = await csrf_from(client, "/organiser")
    assert (await client.get(path)).status_code == 403
    refused = await client.post(f"{path}/send", data={"csrftoken": token})
    assert refused.status_code == 403
    scheduled = await client.post(
        path, data={"csrftoken": token, "send_at": "", "single_contact": "x"}
    )
    assert scheduled.status_code == 403
    assert await _mails(db) == []
    assert await rows(db, sa.select(schema.introduction_round)) == []
    # A forged manage link cannot withdraw anyone.
    forged = f"/r/{world.people['Ann']}-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/introductions"
    assert (await client.post(forged, data={"csrftoken": token})).status_code == 404
    consents = schema.consent
    standing = await rows(
        db,
        sa.select(consents).where(
            consents.c.withdrawn_at.is_(None), consents.c.purpose == "constituency_match"
        ),
    )
    assert len(standing) == sum(1 for spec in PEOPLE.values() if spec.get("match"))
