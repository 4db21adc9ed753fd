"""Issue 16, item 11: organisers invite organisers and viewers of their organisation by email
(a signed, single-use, expiring link through the outbox, received here by a real SMTP server),
manage roles and members (never leaving an organisation without an organiser), every change
audited; viewers see dashboards' numbers and are refused every list of people."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from gathering.core.settings import Settings
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, sign_in, texts
from tests.integration.test_mail import SMTPServer, free_port

pytestmark = pytest.mark.anyio
LLA = ("organiser@example.org", "demo-organiser-password")
JVL = ("jvl@example.org", "demo-organiser-password")
ADMIN = ("admin@example.org", "demo-admin-password")
CONFERENCE = "labour-conference-2019"
MEMBERS = "/organiser/o/lla/members"
NEW_PASSWORD = "a long enough password"


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(db_url: str, smtp_server: SMTPServer) -> Settings:
    return Settings(
        database_url=db_url,
        secret_key=TEST_SECRET,
        password_hash_cost="test",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_starttls=False,
        mail_from="Gathering <mail@127.0.0.1>",
    )


async def _received(server: SMTPServer, count: int) -> list[EmailMessage]:
    for _ in range(200):
        if len(server.recorder.messages) >= count:
            break
        await asyncio.sleep(0.05)
    return server.recorder.parsed()


async def _rows(db: Database, query: sa.Select[Any]) -> list[Any]:
    async def _read(conn: AsyncConnection) -> list[Any]:
        return list((await conn.execute(query)).all())

    return await db.read(_read)


async def _execute(db: Database, *statements: sa.Executable) -> None:
    async def _write(conn: AsyncConnection) -> None:
        for statement in statements:
            await conn.execute(statement)

    await db.write(_write)


async def _invite(
    client: httpx.AsyncClient, email: str, role: str, slug: str = "lla"
) -> httpx.Response:
    path = f"/organiser/o/{slug}/members"
    token = await csrf_from(client, path)
    return await client.post(path, data={"csrftoken": token, "email": email, "role": role})


async def _post_on_members(client: httpx.AsyncClient, action: str, **data: str) -> httpx.Response:
    token = await csrf_from(client, MEMBERS)
    return await client.post(action, data={"csrftoken": token, **data})


def _link(mail: EmailMessage) -> str:
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(r"http://127\.0\.0\.1:8000(/invitation/\S+)", text)
    assert found is not None, text
    return found.group(1)


async def _membership(db: Database, email: str) -> list[tuple[str, str]]:
    m, a, o = schema.membership, schema.account, schema.organisation
    query = (
        sa.select(o.c.slug, m.c.role)
        .join(a, a.c.id == m.c.account_id)
        .join(o, o.c.id == m.c.organisation_id)
        .where(a.c.email == email)
        .order_by(o.c.slug)
    )
    return [tuple(r) for r in await _rows(db, query)]


async def _audit(db: Database, prefix: str = "membership_") -> list[tuple[str, dict[str, Any]]]:
    e = schema.audit_event
    query = sa.select(e.c.action, e.c.detail).where(e.c.action.like(prefix + "%")).order_by(e.c.id)
    return [(r.action, r.detail) for r in await _rows(db, query)]


async def _org_id(db: Database, slug: str) -> int:
    o = schema.organisation
    [(org_id,)] = await _rows(db, sa.select(o.c.id).where(o.c.slug == slug))
    return int(org_id)


async def _new_member(
    db: Database, client: httpx.AsyncClient, smtp: SMTPServer, email: str, role: str
) -> None:
    """Invite ``email`` into LLA as the signed-in LLA organiser, and accept it in a browser of
    its own (the organiser's client stays signed in)."""
    before = len(smtp.recorder.messages)
    assert (await _invite(client, email, role)).status_code == 200
    mail = (await _received(smtp, before + 1))[-1]
    path = _link(mail)
    async with httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url)) as b:
        token = await csrf_from(b, path)
        data = {"csrftoken": token, "name": f"New {role}", "password": NEW_PASSWORD}
        assert (await b.post(path, data=data)).status_code == 200


async def test_an_invitation_goes_by_mail_and_makes_an_account_with_the_role(
    db: Database, client: httpx.AsyncClient, smtp_server: SMTPServer
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    answer = await _invite(client, "  New.Viewer@Example.org ", "viewer")
    assert answer.status_code == 200
    page = parse_html(answer.text)
    assert texts(page, "//p[@role='status']") == [
        "Invitation sent to new.viewer@example.org. The link works for 7 days."
    ]
    assert texts(page, "//li[@class='invitation']")[0].startswith(
        "new.viewer@example.org · Viewer (numbers only) · invited by LLA organiser"
    )

    [mail] = await _received(smtp_server, 1)
    assert mail["To"] == "new.viewer@example.org"
    assert mail["Subject"] == "LLA organiser invites you to Labour Left Alliance on Gathering"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "to be viewer (numbers only) of Labour Left Alliance" in text
    path = _link(mail)
    html = parse_html(mail.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert html.xpath("//a/@href")[0] == "http://127.0.0.1:8000" + path
    [(secret_hash, expires, created)] = await _rows(
        db,
        sa.select(
            schema.organiser_invitation.c.secret_hash,
            schema.organiser_invitation.c.expires_at,
            schema.organiser_invitation.c.created_at,
        ),
    )
    assert secret_hash not in path  # only the hash is kept; the link holds the secret
    assert expires - created == dt.timedelta(days=7)

    async with httpx.AsyncClient(
        transport=client._transport, base_url=str(client.base_url)
    ) as browser:
        shown = parse_html((await browser.get(path)).text)
        assert texts(shown, "//h1") == ["Join Labour Left Alliance"]
        assert (
            "(new.viewer@example.org) to be viewer (numbers only)"
            in texts(shown, "//p[@class='lede']")[0]
        )
        token = await csrf_from(browser, path)
        short = await browser.post(
            path, data={"csrftoken": token, "name": "Nadia Viewer", "password": "short"}
        )
        assert short.status_code == 422
        again = parse_html(short.text)
        assert again.xpath("//input[@name='name']/@value") == ["Nadia Viewer"]  # kept
        assert texts(again, "//p[@id='password-error']") == [
            "Use a password of at least 10 characters."
        ]
        assert await _membership(db, "new.viewer@example.org") == []  # nothing half-written

        done = await browser.post(
            path, data={"csrftoken": token, "name": "Nadia Viewer", "password": NEW_PASSWORD}
        )
        assert done.status_code == 200
        assert texts(parse_html(done.text), "//p[@role='status']") == [
            "Welcome: you are now viewer (numbers only) of Labour Left Alliance. Sign in to start."
        ]
        a = schema.account
        [(name, password_hash, is_admin)] = await _rows(
            db,
            sa.select(a.c.display_name, a.c.password_hash, a.c.is_admin).where(
                a.c.email == "new.viewer@example.org"
            ),
        )
        assert (name, is_admin) == ("Nadia Viewer", False)
        assert password_hash.startswith("$argon2id$")
        assert await _membership(db, "new.viewer@example.org") == [("lla", "viewer")]

        reused = await browser.get(path)
        assert reused.status_code == 410
        assert "already been used" in reused.text
        assert (await sign_in(browser, "new.viewer@example.org", NEW_PASSWORD)).status_code == 303

    lla = await _org_id(db, "lla")
    assert [(action, detail.get("role")) for action, detail in await _audit(db)] == [
        ("membership_invited", "viewer"),
        ("membership_joined", "viewer"),
    ]
    assert all(detail["organisation_id"] == lla for _, detail in await _audit(db))
    assert "new.viewer" not in str(await _audit(db, ""))  # the audit log holds no address


async def test_bad_links_withdrawn_and_expired_invitations_do_not_work(
    db: Database, client: httpx.AsyncClient, smtp_server: SMTPServer
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    await _invite(client, "first@example.org", "organiser")
    await _invite(client, "second@example.org", "organiser")
    first, second = (_link(m) for m in await _received(smtp_server, 2))

    # Altered or made up: refused before anything is read.
    for path in (first[:-3] + "xyz", "/invitation/not-a-token", "/invitation/" + "a" * 500):
        answer = await client.get(path)
        assert answer.status_code == 410
        assert texts(parse_html(answer.text), "//p[@role='alert']") == [
            "This invitation link is not valid. Check that you copied all of it."
        ]

    # Withdrawn by an organiser.
    i = schema.organiser_invitation
    [(first_id,)] = await _rows(db, sa.select(i.c.id).where(i.c.email == "first@example.org"))
    withdrawn = await _post_on_members(client, f"/organiser/o/lla/invitations/{first_id}/revoke")
    assert texts(parse_html(withdrawn.text), "//p[@role='status']") == [
        "Invitation to first@example.org withdrawn: its link no longer works."
    ]
    assert parse_html(withdrawn.text).xpath(f"//li[@id='invitation-{first_id}']") == []
    answer = await client.get(first)
    assert answer.status_code == 410
    assert "withdrawn by the organisation" in answer.text
    again = await _post_on_members(client, f"/organiser/o/lla/invitations/{first_id}/revoke")
    assert again.status_code == 409

    # Expired (the row's time, as the signature's own age is a week).
    await _execute(
        db,
        sa.update(i)
        .where(i.c.email == "second@example.org")
        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)),
    )
    answer = await client.get(second)
    assert answer.status_code == 410
    assert "This invitation has expired" in answer.text
    assert await _membership(db, "first@example.org") == []
    assert await _membership(db, "second@example.org") == []


async def test_a_new_invitation_to_the_same_address_replaces_the_old_one(
    db: Database, client: httpx.AsyncClient, smtp_server: SMTPServer
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    await _invite(client, "twice@example.org", "viewer")
    await _invite(client, "twice@example.org", "organiser")
    await _received(smtp_server, 1)
    o = schema.outbox
    unsent = sa.select(o.c.id).where(o.c.kind == "organiser_invitation", o.c.sent_at.is_(None))
    for _ in range(200):
        if not await _rows(db, unsent):
            break
        await asyncio.sleep(0.05)
    assert await _rows(db, unsent) == []
    # The first mail went only if it was sent before it was replaced (else it was dropped).
    links = [_link(m) for m in smtp_server.recorder.parsed()]
    assert len(links) in (1, 2)
    answers = [(await client.get(link)).status_code for link in links]
    assert answers == [410, 200] or answers == [200]
    page = parse_html((await client.get(MEMBERS)).text)
    assert [t.split(" · ")[:2] for t in texts(page, "//li[@class='invitation']")] == [
        ["twice@example.org", "Organiser"]
    ]


async def test_invitation_form_errors_keep_what_was_typed(
    db: Database, client: httpx.AsyncClient, smtp_server: SMTPServer
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    bad = await _invite(client, "not an address", "viewer")
    assert bad.status_code == 422
    page = parse_html(bad.text)
    assert page.xpath("//input[@name='email']/@value") == ["not an address"]
    assert page.xpath("//input[@name='role'][@checked]/@value") == ["viewer"]
    assert texts(page, "//p[@id='email-error']") == [
        "Enter an email address like name@example.org."
    ]
    role = await _invite(client, "someone@example.org", "owner")
    assert role.status_code == 422
    assert texts(parse_html(role.text), "//p[@id='role-error']") == ["Choose organiser or viewer."]
    member = await _invite(client, "organiser@example.org", "viewer")
    assert member.status_code == 422
    assert "is already a member of Labour Left Alliance" in member.text
    assert await _rows(db, sa.select(schema.organiser_invitation.c.id)) == []
    o = schema.outbox
    assert await _rows(db, sa.select(o.c.id).where(o.c.kind == "organiser_invitation")) == []


async def test_an_existing_account_joins_only_when_signed_in_as_itself(
    db: Database, client: httpx.AsyncClient, smtp_server: SMTPServer
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    await _invite(client, JVL[0], "organiser")
    [mail] = await _received(smtp_server, 1)
    path = _link(mail)
    a = schema.account
    [(hash_before,)] = await _rows(db, sa.select(a.c.password_hash).where(a.c.email == JVL[0]))

    async with httpx.AsyncClient(
        transport=client._transport, base_url=str(client.base_url)
    ) as browser:
        shown = parse_html((await browser.get(path)).text)
        assert texts(shown, "//p[@role='status']") == [
            "jvl@example.org already has an account here. Sign in with it, then open this link "
            "again to join."
        ]
        assert shown.xpath("//input[@name='password']") == []  # never sets that password
        token = await csrf_from(browser, "/signin")  # a forged post of the new-account form
        forced = await browser.post(
            path, data={"csrftoken": token, "name": "Taken over", "password": NEW_PASSWORD}
        )
        assert forced.status_code == 422
        [(hash_after,)] = await _rows(db, sa.select(a.c.password_hash).where(a.c.email == JVL[0]))
        assert hash_after == hash_before
        assert await _membership(db, JVL[0]) == [("jvl", "organiser")]

        await sign_in(browser, *JVL)
        page = parse_html((await browser.get(path)).text)
        assert texts(page, "//form//button") == ["Join Labour Left Alliance"]
        token = await csrf_from(browser, path)
        joined = await browser.post(path, data={"csrftoken": token})
        assert joined.status_code == 200
        assert texts(parse_html(joined.text), "//p[@role='status']") == [
            "You are now organiser of Labour Left Alliance."
        ]
    assert await _membership(db, JVL[0]) == [("jvl", "organiser"), ("lla", "organiser")]


async def test_the_last_organiser_cannot_leave_and_every_change_is_audited(
    db: Database, client: httpx.AsyncClient, smtp_server: SMTPServer
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    a = schema.account
    [(me,)] = await _rows(db, sa.select(a.c.id).where(a.c.email == LLA[0]))
    page = parse_html((await client.get(MEMBERS)).text)
    assert texts(page, f"//li[@id='member-{me}']//p[@class='hint']") == [
        "The only organiser: make someone else an organiser before this one can leave or "
        "become a viewer."
    ]
    leave = await _post_on_members(client, f"/organiser/o/lla/members/{me}/remove")
    assert leave.status_code == 409
    assert texts(parse_html(leave.text), "//p[@id='problem']") == [
        "An organisation needs at least one organiser: make someone else an organiser first."
    ]
    demote = await _post_on_members(client, f"/organiser/o/lla/members/{me}/role", role="viewer")
    assert demote.status_code == 409
    assert await _membership(db, LLA[0]) == [("lla", "organiser")]

    await _new_member(db, client, smtp_server, "second@example.org", "viewer")
    [(second,)] = await _rows(db, sa.select(a.c.id).where(a.c.email == "second@example.org"))
    still = await _post_on_members(client, f"/organiser/o/lla/members/{me}/remove")
    assert still.status_code == 409  # a viewer does not count as an organiser
    promoted = await _post_on_members(
        client, f"/organiser/o/lla/members/{second}/role", role="organiser"
    )
    assert texts(parse_html(promoted.text), "//p[@role='status']") == [
        "New viewer is now: organiser."
    ]
    bad_role = await _post_on_members(
        client, f"/organiser/o/lla/members/{second}/role", role="admin"
    )
    assert bad_role.status_code == 422
    left = await _post_on_members(client, f"/organiser/o/lla/members/{me}/remove")
    assert left.status_code == 200
    assert "Labour Left Alliance" in texts(parse_html(left.text), "//p[@role='status']")[0]
    assert await _membership(db, LLA[0]) == []
    assert await _membership(db, "second@example.org") == [("lla", "organiser")]
    gone = await client.get(MEMBERS)
    assert gone.status_code == 403  # no longer theirs to see

    lla = await _org_id(db, "lla")
    assert [(action, d) for action, d in await _audit(db) if action != "membership_invited"] == [
        ("membership_joined", {"organisation_id": lla, "role": "viewer", "invitation_id": 1}),
        ("membership_role_changed", {"organisation_id": lla, "role": "organiser", "was": "viewer"}),
        ("membership_removed", {"organisation_id": lla, "role": "organiser"}),
    ]


async def test_only_organisers_of_the_organisation_manage_its_members(
    db: Database, client: httpx.AsyncClient, smtp_server: SMTPServer
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    anonymous = await client.get(MEMBERS)
    assert anonymous.status_code == 303  # to sign-in
    await sign_in(client, *JVL)
    refused = await client.get(MEMBERS)
    assert refused.status_code == 403
    assert "Only organisers of this organisation" in refused.text
    token = await csrf_from(client, "/organiser/o/jvl/members")
    posted = await client.post(
        MEMBERS, data={"csrftoken": token, "email": "x@example.org", "role": "organiser"}
    )
    assert posted.status_code == 403
    a = schema.account
    [(lla_organiser,)] = await _rows(db, sa.select(a.c.id).where(a.c.email == LLA[0]))
    removed = await client.post(
        f"/organiser/o/lla/members/{lla_organiser}/remove", data={"csrftoken": token}
    )
    assert removed.status_code == 403
    assert await _membership(db, LLA[0]) == [("lla", "organiser")]
    assert (await client.get("/organiser/o/nobody/members")).status_code == 403
    # Without the form's token nothing happens.
    no_token = await client.post("/organiser/o/jvl/members", data={"email": "y@example.org"})
    assert no_token.status_code == 403
    assert await _rows(db, sa.select(schema.organiser_invitation.c.id)) == []


async def _people_names(db: Database) -> list[str]:
    r = schema.registration
    return [n for (n,) in await _rows(db, sa.select(r.c.name)) if n]


async def _hosted_session(db: Database, organisation: str, role: str = "host") -> int:
    h, s, g = schema.session_host, schema.programme_session, schema.gathering
    query = (
        sa.select(s.c.id)
        .join(h, h.c.session_id == s.c.id)
        .join(g, g.c.id == s.c.gathering_id)
        .where(
            h.c.organisation_id == await _org_id(db, organisation),
            h.c.role == role,
            g.c.slug == CONFERENCE,
        )
        .order_by(s.c.id)
    )
    return int((await _rows(db, query))[0][0])


async def test_a_viewer_sees_numbers_and_is_refused_every_list_of_people(
    db: Database, client: httpx.AsyncClient, smtp_server: SMTPServer
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    await _new_member(db, client, smtp_server, "viewer@example.org", "viewer")
    session_id = await _hosted_session(db, "lla")
    names = await _people_names(db)
    assert names  # the demo's fictional attendees

    async with httpx.AsyncClient(
        transport=client._transport, base_url=str(client.base_url)
    ) as viewer:
        await sign_in(viewer, "viewer@example.org", NEW_PASSWORD)
        home = parse_html((await viewer.get("/organiser")).text)
        assert texts(home, "//a[@id='organisations-link']") == ["Numbers you may see"]
        listing = parse_html((await viewer.get("/organiser/organisations")).text)
        dashboards = [
            urlsplit(href).path
            for href in listing.xpath("//a[contains(@href, '/dashboard')]/@href")
        ]
        assert f"/organiser/g/{CONFERENCE}/dashboard" in dashboards
        assert f"/organiser/g/{CONFERENCE}/sessions/{session_id}/dashboard" in dashboards

        base = f"/organiser/g/{CONFERENCE}"
        r, g, p = schema.registration, schema.gathering, schema.session_place
        [(people,)] = await _rows(
            db,
            sa.select(sa.func.count())
            .select_from(r.join(g, g.c.id == r.c.gathering_id))
            .where(g.c.slug == CONFERENCE, r.c.status == "confirmed"),
        )
        [(places,)] = await _rows(
            db,
            sa.select(sa.func.count()).where(
                p.c.session_id == session_id, p.c.status == "confirmed"
            ),
        )
        assert people > 0 and places > 0  # the demo's bookings, so the numbers mean something
        expected = {
            f"{base}/dashboard": people,
            f"{base}/sessions/{session_id}/dashboard": places,
        }
        for path, confirmed in expected.items():
            answer = await viewer.get(path)
            assert answer.status_code == 200, path
            page = parse_html(answer.text)
            shown = texts(page, "//dd[@data-count='confirmed']")
            assert [int(n.replace(",", "")) for n in shown] == [confirmed], path
            shown = page.text_content()
            assert not [n for n in names if n in shown], path
            assert page.xpath("//a[contains(@href, '/attendees')]") == []

        refused = {
            "attendee list": f"{base}/sessions/{session_id}/attendees",
            "search of the list": f"{base}/sessions/{session_id}/attendees?q=a",
            "CSV export": f"{base}/sessions/{session_id}/attendees.csv",
            "message registrants": f"{base}/sessions/{session_id}/message",
            "supporters list": f"{base}/sessions/{session_id}/supporters",
            "supporters CSV": f"{base}/sessions/{session_id}/supporters.csv",
            "steward passes": f"{base}/stewards",
            "members": MEMBERS,
            "session editor": f"{base}/sessions/{session_id}",
        }
        for what, path in refused.items():
            answer = await viewer.get(path)
            assert answer.status_code == 403, (what, answer.status_code)
            assert not [n for n in names if n in answer.text], what
        attendees = await viewer.get(f"{base}/sessions/{session_id}/attendees")
        assert "You are a viewer of this organisation" in attendees.text

        # Making a steward pass (the way to the help desk) is refused too, and the help desk
        # answers an organiser's cookie as it answers anyone without an opened pass.
        token = await csrf_from(viewer, "/organiser")  # the sign-out form
        made = await viewer.post(
            f"{base}/stewards",
            data={"csrftoken": token, "label": "Viewer's pass", "cover": "all"},
        )
        assert made.status_code == 403
        assert (
            await _rows(
                db,
                sa.select(schema.steward_pass.c.id).where(
                    schema.steward_pass.c.label == "Viewer's pass"
                ),
            )
            == []
        )
        desk = await viewer.post(
            "/door/api/search",
            json={"query": names[0]},
            headers={"origin": "http://127.0.0.1:8000", "content-type": "application/json"},
        )
        assert desk.status_code in (401, 403)
        assert not [n for n in names if n in desk.text]


async def test_ended_invitations_are_forgotten_after_thirty_days(
    db: Database, client: httpx.AsyncClient, smtp_server: SMTPServer
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    await _invite(client, "old@example.org", "viewer")
    await _invite(client, "recent@example.org", "viewer")
    i = schema.organiser_invitation
    now = dt.datetime.now(dt.UTC)
    await _execute(
        db,
        sa.update(i)
        .where(i.c.email == "old@example.org")
        .values(revoked_at=now - dt.timedelta(days=31)),
    )
    await _execute(
        db,
        sa.update(i)
        .where(i.c.email == "recent@example.org")
        .values(revoked_at=now - dt.timedelta(days=29)),
    )
    await _invite(client, "next@example.org", "organiser")
    emails = sorted(e for (e,) in await _rows(db, sa.select(i.c.email)))
    assert emails == ["next@example.org", "recent@example.org"]


@pytest.mark.parametrize("whole_gathering", [True, False])
async def test_a_makers_steward_pass_stops_when_they_stop_organising(
    db: Database, whole_gathering: bool
) -> None:
    from gathering.core.errors import GatheringError
    from gathering.core.permissions import Actor
    from gathering.organiser import members
    from tests.integration.test_checkin import _door, _open
    from tests.integration.test_door_desk import _search

    door = await _door(db)
    a, p, m = schema.account, schema.steward_pass, schema.membership
    ps, h = schema.steward_pass_session, schema.session_host
    [(maker,)] = await _rows(db, sa.select(a.c.id).where(a.c.email == LLA[0]))
    [(jvl,)] = await _rows(db, sa.select(a.c.id).where(a.c.email == JVL[0]))
    [(admin_id,)] = await _rows(db, sa.select(a.c.id).where(a.c.email == ADMIN[0]))
    lla = await _org_id(db, "lla")
    hosted = [
        sid
        for (sid,) in await _rows(
            db, sa.select(h.c.session_id).where(h.c.organisation_id == lla, h.c.role == "host")
        )
    ]
    statements: list[sa.Executable] = [
        sa.update(p)
        .where(p.c.id == door.pass_id)
        .values(created_by=maker, all_sessions=whole_gathering),
        # A second organiser, so the maker may become a viewer.
        sa.insert(m).values(
            account_id=jvl, organisation_id=lla, role="organiser", created_at=door.at(0)
        ),
    ]
    if not whole_gathering:
        statements += [sa.insert(ps).values(pass_id=door.pass_id, session_id=s) for s in hosted]
    await _execute(db, *statements)
    device = (await _open(db, door.at(0))).device
    found = await _search(db, device, "Sam Oka", door.at(0))
    assert [x.name for x in found.matches] == ["Sam Okafor"]

    admin = Actor(admin_id, ADMIN[0], "Network admin", True, frozenset())
    await members.change_role(db, admin, "lla", maker, "viewer")
    [(revoked_at,)] = await _rows(db, sa.select(p.c.revoked_at).where(p.c.id == door.pass_id))
    if whole_gathering:
        assert revoked_at is not None
        with pytest.raises(GatheringError):
            await _search(db, device, "Sam Oka", door.at(0))
        e = schema.audit_event
        [(detail,)] = await _rows(
            db, sa.select(e.c.detail).where(e.c.action == "steward_pass_revoked")
        )
        assert detail == {"reason": "maker_no_longer_organiser", "organisation_id": lla}
    else:
        assert revoked_at is None  # it follows the maker's role instead
        assert (await _search(db, device, "Sam Oka", door.at(0))).matches == ()


async def test_two_invitations_to_one_new_address_accepted_at_once_make_one_account(
    db: Database, client: httpx.AsyncClient, smtp_server: SMTPServer
) -> None:
    """Two organisations invite the same new address; its owner opens both links at the same
    moment. One makes the account and joins; the other is told, in words, to sign in as that
    address and open its link again (never a 500), and its invitation stays usable."""
    await load_demo(db, secret_key=TEST_SECRET)
    address = "both@example.org"
    await sign_in(client, *LLA)
    assert (await _invite(client, address, "organiser")).status_code == 200
    async with httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url)) as jvl:
        await sign_in(jvl, *JVL)
        assert (await _invite(jvl, address, "viewer", slug="jvl")).status_code == 200
    links = [_link(mail) for mail in (await _received(smtp_server, 2))[-2:]]
    assert len(set(links)) == 2

    async def _accept(path: str) -> httpx.Response:
        transport = client._transport
        async with httpx.AsyncClient(transport=transport, base_url=str(client.base_url)) as b:
            token = await csrf_from(b, path)
            data = {"csrftoken": token, "name": "Both", "password": NEW_PASSWORD}
            return await b.post(path, data=data)

    answers = await asyncio.gather(*(_accept(path) for path in links))
    codes = sorted(answer.status_code for answer in answers)
    assert codes[0] == 200 and 400 <= codes[1] < 500, codes
    refused = next(a for a in answers if a.status_code != 200)
    assert f"{address} already has an account here" in refused.text
    a = schema.account
    assert len(await _rows(db, sa.select(a.c.id).where(a.c.email == address))) == 1
    assert len(await _membership(db, address)) == 1
    i = schema.organiser_invitation
    used = await _rows(db, sa.select(i.c.accepted_at).where(i.c.email == address))
    assert sorted(r.accepted_at is None for r in used) == [False, True]


async def test_an_organiser_who_makes_themselves_a_viewer_is_shown_no_members(
    db: Database, client: httpx.AsyncClient, smtp_server: SMTPServer
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    await _new_member(db, client, smtp_server, "second@example.org", "organiser")
    a = schema.account
    [(me,)] = await _rows(db, sa.select(a.c.id).where(a.c.email == LLA[0]))
    demoted = await _post_on_members(client, f"/organiser/o/lla/members/{me}/role", role="viewer")
    assert demoted.status_code == 303
    assert urlsplit(demoted.headers["location"]).path == "/organiser/organisations"
    assert "second@example.org" not in demoted.text
    assert await _membership(db, LLA[0]) == [("lla", "viewer")]
    listing = await client.get("/organiser/organisations")
    assert listing.status_code == 200
    page = parse_html(listing.text)
    assert "second@example.org" not in listing.text
    assert page.xpath(f"//a[@href='{MEMBERS}']") == []  # not theirs to manage any more
    assert page.xpath("//form[contains(@action, '/members/')]") == []
    assert (await client.get(MEMBERS)).status_code == 403


async def test_the_invitation_pages_error_summary_leads_to_its_message(
    db: Database, client: httpx.AsyncClient, smtp_server: SMTPServer
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *LLA)
    await _invite(client, JVL[0], "organiser")  # an address with an account
    [mail] = await _received(smtp_server, 1)
    path = _link(mail)
    async with httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url)) as b:
        token = await csrf_from(b, "/signin")  # the page itself offers no form to post
        data = {"csrftoken": token, "name": "Someone", "password": NEW_PASSWORD}
        answer = await b.post(path, data=data)  # not signed in as that address
    assert answer.status_code == 422
    page = parse_html(answer.text)
    hrefs = page.xpath("//div[@class='error-summary']//a/@href")
    assert hrefs == ["#token"]
    [target] = page.xpath("//*[@id='token']")
    assert "jvl@example.org already has an account here" in target.text_content()
