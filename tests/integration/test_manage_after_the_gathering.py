"""Issue 16, item 3 on the manage page: once a gathering takes no registrations (it has ended,
or its organisers closed it), the manage link offers no "Add sessions" and no change of ticket
type, says why, and offers no "Give up this place" for a session that is over."""

from __future__ import annotations

import httpx
import pytest

from gathering.core.database import Database
from tests.conftest import TEST_SECRET
from tests.demo_state import load_demo
from tests.helpers import parse_html, texts

pytestmark = pytest.mark.anyio


async def test_an_ended_gatherings_booking_offers_no_changes_and_says_why(
    db: Database, client: httpx.AsyncClient
) -> None:
    logins = await load_demo(db, secret_key=TEST_SECRET)  # Dana: the 2021 gathering, ended
    page = await client.get(f"/r/{logins.attendee_manage_token}")
    assert page.status_code == 200
    doc = parse_html(page.text)
    assert texts(doc, "//ul[@id='places']/li/a[1]")  # her places are still listed
    assert texts(doc, "//a[normalize-space()='Add sessions']") == []
    assert texts(doc, "//a[normalize-space()='Give up this place']") == []
    assert doc.xpath("//form[contains(@action, '/ticket-type')]") == []
    assert texts(doc, "//*[@id='closed-for-changes']") == [
        "Registration is closed: this gathering has ended. "
        "Sessions can no longer be added or the ticket type changed."
    ]
    # What the page no longer offers is refused by the rule too (the window's own words).
    added = await client.get(f"/r/{logins.attendee_manage_token}/sessions")
    assert "this gathering has ended" in added.text
