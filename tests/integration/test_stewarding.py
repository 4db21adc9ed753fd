"""Organisers make, list and revoke steward passes; the link and PIN they are shown open a door."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.core.errors import Forbidden, InvalidInput
from gathering.core.permissions import Actor
from gathering.door import passes as stewarding
from gathering.door import rules as checkin
from gathering.programme.release import load_programme
from gathering.registration import tickets
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, decode_qr, parse_html, run_cli, sign_in, texts

pytestmark = pytest.mark.anyio
SLUG = "labour-conference-2019"  # hosted by LLA; JVL co-hosts one session
LLA = ("organiser@example.org", "demo-organiser-password")
JVL = ("jvl@example.org", "demo-organiser-password")
PAGE = f"/organiser/g/{SLUG}/stewards"


async def _rows(db: Database, query: sa.Select[Any]) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return await db.read(_read)


async def _sessions_by_host(db: Database) -> dict[str, list[int]]:
    programme = await load_programme(db, SLUG)
    found: dict[str, list[int]] = {}
    for s in programme.sessions:
        for host in s.hosts:
            found.setdefault(host.slug, []).append(s.id)
    return found


def _form(token: str, **values: Any) -> dict[str, Any]:
    base = {
        "csrftoken": token,
        "label": "Door 2, Sunday",
        "valid_from": "2019-09-22T08:00",
        "valid_until": "2019-09-22T22:00",
        "pin": "",
        "cover": "all",
    }
    return {**base, **values}


async def test_the_host_makes_a_pass_whose_link_and_pin_open_the_door(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    page = parse_html((await client.get(PAGE)).text)
    assert texts(page, "//h1") == ["Steward passes"]
    [heading] = texts(page, "//li[@class='pass-item']/h3")
    assert heading.startswith("Main door, conference fringe")
    token = await csrf_from(client, PAGE)
    made = await client.post(PAGE, data=_form(token))
    assert made.status_code == 200, made.text
    assert made.headers["cache-control"] == "no-store"
    doc = parse_html(made.text)
    link = doc.xpath("//a[@id='pass-link']/@href")[0]
    pin = texts(doc, "//p[@id='pass-pin']")[0]
    assert link.startswith("http") and "/door/" in link
    assert pin.isdigit() and len(pin) == 6
    # Only the token's hash is kept; the label, window and cover are as asked.
    pass_token = link.rsplit("/", 1)[1]
    sp = schema.steward_pass
    [row] = await _rows(db, sa.select(sp).where(sp.c.label == "Door 2, Sunday"))
    assert row.token_hash == hashlib.sha256(pass_token.encode()).hexdigest()
    assert pass_token not in str(tuple(row))
    assert row.all_sessions
    assert row.valid_from == dt.datetime(2019, 9, 22, 7, 0, tzinfo=dt.UTC)  # 08:00 BST
    # The link and PIN open the pass on a phone, during its window.
    opened = await checkin.open_pass(
        db,
        pass_token,
        pin,
        client_address="192.0.2.1",
        now=dt.datetime(2019, 9, 22, 9, 0, tzinfo=dt.UTC),
        secret_key=TEST_SECRET,
    )
    assert opened.info.label == "Door 2, Sunday"
    ae = schema.audit_event
    [audit] = await _rows(db, sa.select(ae).where(ae.c.action == "steward_pass_created"))
    assert (audit.actor_kind, audit.subject_id) == ("account", row.id)
    assert audit.detail["label"] == "Door 2, Sunday"
    assert pin not in str(audit.detail) and pass_token not in str(audit.detail)


async def test_the_qr_code_holds_the_link(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    token = await csrf_from(client, PAGE)
    made = parse_html((await client.post(PAGE, data=_form(token, pin="97531"))).text)
    link = made.xpath("//a[@id='pass-link']/@href")[0]
    assert made.xpath("//p[@id='pass-pin']") == []  # a PIN the organiser chose is not echoed
    src = made.xpath("//img[@class='pass-qr']/@src")[0]
    assert src.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(src.split(",", 1)[1])
    # The page's SVG is the link's QR code, letter case kept (tokens are case-sensitive) ...
    assert svg == tickets.qr_svg(link, as_is=True)
    # ... and that code, drawn as pixels, reads back as the link.
    assert decode_qr(tickets.qr_png(link, as_is=True)) == [link]


async def test_a_co_host_covers_only_its_own_sessions(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    hosts = await _sessions_by_host(db)
    jvl_sessions = hosts["jvl"]
    lla_only = [s for s in hosts["lla"] if s not in jvl_sessions]
    await sign_in(client, *JVL)
    page = parse_html((await client.get(PAGE)).text)
    offered = [int(v) for v in page.xpath("//input[@name='session_ids']/@value")]
    assert sorted(offered) == sorted(jvl_sessions)
    assert page.xpath("//input[@id='cover-all']") == []
    # The demo's all-sessions pass is not theirs to see or revoke.
    assert page.xpath("//li[@class='pass-item']") == []
    token = await csrf_from(client, PAGE)
    refused = await client.post(PAGE, data=_form(token, cover="all"))  # a forged choice
    assert refused.status_code == 403
    sneaky = await client.post(PAGE, data=_form(token, cover="some", session_ids=lla_only[:1]))
    assert sneaky.status_code == 403
    mine = await client.post(
        PAGE, data=_form(token, cover="some", session_ids=[str(s) for s in jvl_sessions])
    )
    assert mine.status_code == 200
    sp, sps = schema.steward_pass, schema.steward_pass_session
    [made] = await _rows(db, sa.select(sp).where(sp.c.label == "Door 2, Sunday"))
    assert not made.all_sessions
    covered = await _rows(db, sa.select(sps.c.session_id).where(sps.c.pass_id == made.id))
    assert sorted(r.session_id for r in covered) == sorted(jvl_sessions)
    [demo_pass] = await _rows(
        db, sa.select(sp.c.id).where(sp.c.label == "Main door, conference fringe")
    )
    token = await csrf_from(client, PAGE)
    revoke = await client.post(f"{PAGE}/{demo_pass.id}/revoke", data={"csrftoken": token})
    assert revoke.status_code == 403
    [still] = await _rows(db, sa.select(sp.c.revoked_at).where(sp.c.id == demo_pass.id))
    assert still.revoked_at is None


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"label": "  "}, "label", "Give the pass a name"),
        ({"label": "x" * 121}, "label", "120 characters"),
        ({"pin": "12ab"}, "pin", "4 to 12 digits"),
        ({"pin": "١٢٣٤"}, "pin", "4 to 12 digits"),  # Arabic-Indic digits are not typed PINs
        ({"valid_until": "2019-09-21T08:00"}, "valid_until", "after it starts"),
        ({"valid_until": "2019-11-22T08:00"}, "valid_until", "31 days"),
        ({"valid_from": "yesterday"}, "valid_from", "date and time"),
        ({"valid_from": "0001-01-01T00:00"}, "valid_from", "date and time"),
        ({"valid_until": "9999-12-31T23:59"}, "valid_until", "date and time"),
        ({"cover": "some"}, "session_ids", "at least one session"),
        ({"cover": "some", "session_ids": ["99999"]}, "session_ids", "from the list"),
        ({"cover": "some", "session_ids": ["1; DROP TABLE x"]}, "session_ids", "from the list"),
    ],
)
async def test_bad_input_is_explained_and_keeps_what_was_typed(
    db: Database, client: httpx.AsyncClient, values: dict[str, Any], field: str, words: str
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    token = await csrf_from(client, PAGE)
    sent = _form(token, label="Side door", **{k: v for k, v in values.items() if k != "label"})
    if "label" in values:
        sent["label"] = values["label"]
    response = await client.post(PAGE, data=sent)
    assert response.status_code == 422
    doc = parse_html(response.text)
    assert any(words in t for t in texts(doc, "//p[@class='error']")), texts(doc, "//p")
    kept = doc.xpath("//input[@name='valid_from']/@value")[0]
    assert kept == sent["valid_from"]
    sp = schema.steward_pass
    assert len(await _rows(db, sa.select(sp.c.id))) == 2  # only the demo's two


async def test_revoking_stops_devices_at_once_and_is_audited(
    db: Database, client: httpx.AsyncClient
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    token = await csrf_from(client, PAGE)
    made = parse_html((await client.post(PAGE, data=_form(token))).text)
    pass_token = made.xpath("//a[@id='pass-link']/@href")[0].rsplit("/", 1)[1]
    pin = texts(made, "//p[@id='pass-pin']")[0]
    during = dt.datetime(2019, 9, 22, 9, 0, tzinfo=dt.UTC)
    device = (
        await checkin.open_pass(
            db, pass_token, pin, client_address="192.0.2.1", now=during, secret_key=TEST_SECRET
        )
    ).device
    token = await csrf_from(client, PAGE)
    revoked = await client.post(
        f"{PAGE}/{device.pass_id}/revoke", data={"csrftoken": token}, follow_redirects=True
    )
    assert "revoked" in " ".join(texts(parse_html(revoked.text), "//p[@role='status']"))
    states = texts(parse_html(revoked.text), "//li[@class='pass-item']/h3/span")
    assert states[0] == "Revoked"
    result = await checkin.scan(
        db,
        device,
        "ANYCODE",
        session_id=None,
        door="",
        client_nonce="after-revoke",
        kind="entry",
        now=during,
    )
    assert (result.status, result.reason) == ("red", "pass_revoked")
    again = await client.post(f"{PAGE}/{device.pass_id}/revoke", data={"csrftoken": token})
    assert again.status_code == 303
    ae = schema.audit_event
    audits = await _rows(
        db, sa.select(ae.c.subject_id).where(ae.c.action == "steward_pass_revoked")
    )
    assert [a.subject_id for a in audits] == [device.pass_id]  # revoked once


async def test_the_domain_checks_rights_without_the_page(db: Database) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    nobody = Actor(99, "x@example.org", "X", False, frozenset({12345}))
    with pytest.raises(Forbidden):
        await stewarding.passes_page(db, nobody, SLUG, dt.datetime.now(dt.UTC))
    form = stewarding.PassInput(
        label="CLI door", valid_from="2019-09-22T08:00", valid_until="2019-09-22T20:00"
    )
    made = await stewarding.create_pass(
        db, stewarding.COMMAND_LINE, SLUG, form, now=dt.datetime.now(dt.UTC)
    )
    assert made.pin.isdigit() and made.token
    with pytest.raises(InvalidInput):
        await stewarding.create_pass(
            db,
            stewarding.COMMAND_LINE,
            SLUG,
            stewarding.PassInput(label=""),
            now=dt.datetime.now(dt.UTC),
        )
    ae = schema.audit_event
    [audit] = await _rows(db, sa.select(ae).where(ae.c.action == "steward_pass_created"))
    assert (audit.actor_kind, audit.actor_id) == ("command_line", None)


async def test_the_command_line_makes_lists_and_revokes_passes(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    env = {
        "GATHERING_DATABASE_URL": db_url,
        "GATHERING_SECRET_KEY": TEST_SECRET,
        "GATHERING_BASE_URL": "https://door.example.org",
    }
    pin_file = tmp_path / "pin"
    pin_file.write_text("86420\n")
    made = run_cli(
        "steward-pass",
        "create",
        SLUG,
        "--label",
        "Door 3",
        "--from",
        "2019-09-23T17:00",
        "--until",
        "2019-09-23T22:00",
        "--pin-file",
        str(pin_file),
        env=env,
    )
    assert made.returncode == 0, made.stderr
    link = next(w for w in made.stdout.split() if w.startswith("https://door.example.org/door/"))
    assert "86420" not in made.stdout  # the PIN came from the file: not printed
    opened = await checkin.open_pass(
        db,
        link.rsplit("/", 1)[1],
        "86420",
        client_address="192.0.2.1",
        now=dt.datetime(2019, 9, 23, 17, 30, tzinfo=dt.UTC),
        secret_key=TEST_SECRET,
    )
    listed = run_cli("steward-pass", "list", SLUG, env=env)
    assert f"{opened.device.pass_id}  active" not in listed.stdout  # 2019 is over
    assert "Door 3" in listed.stdout and "Main door, conference fringe" in listed.stdout
    revoked = run_cli("steward-pass", "revoke", SLUG, str(opened.device.pass_id), env=env)
    assert revoked.stdout.strip() == f"Pass {opened.device.pass_id} revoked."
    sp = schema.steward_pass
    [row] = await _rows(db, sa.select(sp.c.revoked_at).where(sp.c.id == opened.device.pass_id))
    assert row.revoked_at is not None
    bad = run_cli(
        "steward-pass",
        "create",
        SLUG,
        "--label",
        "x",
        "--from",
        "2019-09-23T17:00",
        "--until",
        "2019-09-23T22:00",
        "--session",
        "99999",
        env=env,
    )
    assert (bad.returncode, bad.stderr.strip()) == (
        1,
        "gathering: error: Choose sessions from the list.",
    )
    unknown = run_cli("steward-pass", "revoke", SLUG, "99999", env=env)
    assert unknown.returncode == 1 and "no such steward pass" in unknown.stderr


async def test_co_hosting_is_not_enough_for_a_pass(db: Database, client: httpx.AsyncClient) -> None:
    """A pass's help desk finds anyone booked; a co-host may only see people who consented to it."""
    await load_demo(db, secret_key=TEST_SECRET)
    hosts = await _sessions_by_host(db)
    lla_only = next(s for s in hosts["lla"] if s not in hosts["jvl"])
    [(jvl_id,)] = await _rows(
        db, sa.select(schema.organisation.c.id).where(schema.organisation.c.slug == "jvl")
    )

    async def _co_host(conn: AsyncConnection) -> None:
        await conn.execute(
            sa.insert(schema.session_host).values(
                session_id=lla_only, organisation_id=jvl_id, role="co_host"
            )
        )

    await db.write(_co_host)
    await sign_in(client, *JVL)
    page = parse_html((await client.get(PAGE)).text)
    offered = [int(v) for v in page.xpath("//input[@name='session_ids']/@value")]
    assert lla_only not in offered
    token = await csrf_from(client, PAGE)
    refused = await client.post(PAGE, data=_form(token, cover="some", session_ids=[str(lla_only)]))
    assert refused.status_code == 403
    assert "hosts (not co-hosts)" in refused.text
    huge = await client.post(f"{PAGE}/99999999999/revoke", data={"csrftoken": token})
    assert huge.status_code == 404
