"""CSRF on every form, including the file uploads whose token is in a multipart body (see
gathering/core/csrf.py)."""

from __future__ import annotations

import struct
import zlib

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.database import Database
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import csrf_from, parse_html, sign_in, texts

pytestmark = pytest.mark.anyio
ADMIN = ("admin@example.org", "demo-admin-password")


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


# A real 1×1 white PNG.
ONE_PIXEL_PNG = (
    b"\x89PNG\r\n\x1a\n"
    + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    + _chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
    + _chunk(b"IEND", b"")
)


async def _speakers(db: Database) -> int:
    async def _read(conn: AsyncConnection) -> int:
        query = sa.select(sa.func.count()).select_from(schema.speaker)
        return int((await conn.execute(query)).scalar_one())

    return await db.read(_read)


@pytest.mark.parametrize("path", ["/signin", "/organiser/g/labour-conference-2019/release"])
async def test_multipart_to_a_form_without_uploads_is_refused(
    db: Database, client: httpx.AsyncClient, path: str
) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *ADMIN)
    token = await csrf_from(client, "/organiser")
    response = await client.post(path, data={"csrftoken": token}, files={"x": ("a.txt", b"hi")})
    assert response.status_code == 415
    assert "does not take file uploads" in response.text


async def test_upload_form_needs_the_csrf_token(db: Database, client: httpx.AsyncClient) -> None:
    await load_demo(db, secret_key=TEST_SECRET)
    await sign_in(client, *ADMIN)
    before = await _speakers(db)
    fields = {"name": "Rosa Example", "affiliation": "", "bio": "", "slug": ""}
    photo = {"photo": ("p.png", b"", "application/octet-stream")}

    missing = await client.post("/admin/speakers/new", data=fields, files=photo)
    assert missing.status_code == 403
    assert "This form has expired" in texts(parse_html(missing.text), "//main")[0]
    forged = await client.post(
        "/admin/speakers/new", data={"csrftoken": "forged", **fields}, files=photo
    )
    assert forged.status_code == 403
    assert await _speakers(db) == before

    token = await csrf_from(client, "/admin/speakers/new")
    png = {"photo": ("p.png", ONE_PIXEL_PNG, "image/png")}
    ok = await client.post("/admin/speakers/new", data={"csrftoken": token, **fields}, files=png)
    assert ok.status_code == 303
    assert await _speakers(db) == before + 1


async def test_reads_of_data_carry_no_csrf_cookie_and_pages_with_forms_do(
    db: Database, client: httpx.AsyncClient
) -> None:
    """The CSRF middleware stays out of reads of data (it would sign a token per calendar poll
    that nothing uses); pages with forms still get the token and its cookie, and a POST to the
    data addresses is still checked."""
    await load_demo(db, secret_key=TEST_SECRET)
    for path in (
        "/g/labour-conference-2019/calendar.ics",
        "/g/labour-conference-2019/schedule.json",
        "/api/gatherings",
    ):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "csrftoken" not in response.headers.get("set-cookie", ""), path
        # Cookie is in Vary for the reader's language only (issue 18), never for a CSRF token.
        vary = [v.strip() for v in response.headers.get("vary", "").split(",")]
        assert "Cookie" not in vary or "Accept-Language" in vary, path
    page = await client.get("/signin")
    assert "csrftoken=" in page.headers["set-cookie"]
    assert "Cookie" in page.headers["vary"]
    # A POST to a data address is still checked: the cookie alone, without the token, is refused.
    forged = await client.post("/door/api/scan", json={"code": "X"})
    assert forged.status_code == 403
