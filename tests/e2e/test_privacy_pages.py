"""Issue 7 in a real browser: the privacy notice from the registration form, an attendee erasing
their data from the manage link, a backup of the live server's database, and the admin reading
the audit log (filtered with the keyboard), at 360 and 1280 px with axe-core checks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from gathering.demo_data import NEXT_SLUG
from gathering.registration.rules import manage_token
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import LiveServer, screenshot, serious_accessibility_violations
from tests.helpers import run_cli

pytestmark = pytest.mark.browser
SLUG = NEXT_SLUG  # the demo's upcoming gathering: past ones take no registrations
ATTENDEE = "dana.whitfield@example.org"


def _manage_path(server: LiveServer) -> tuple[int, str]:
    # Read in this process, which holds no other connection to the file (the server is another).
    with sqlite3.connect(make_url(server.database_url).database or "") as conn:
        registration_id, key = conn.execute(
            "SELECT id, manage_key FROM registration WHERE email = ?", (ATTENDEE,)
        ).fetchone()
    return registration_id, f"/r/{manage_token(TEST_SECRET, registration_id, key)}"


def test_notice_erasure_backup_and_audit_log(
    live_server: LiveServer, page: object, tmp_path: Path
) -> None:
    p = page  # Playwright page
    csp_errors: list[str] = []
    p.on(  # type: ignore[attr-defined]
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    url = live_server.url

    # The notice, reached from the registration form.
    p.goto(f"{url}/g/{SLUG}/register")  # type: ignore[attr-defined]
    p.get_by_role("link", name="Privacy notice").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{url}/g/{SLUG}/privacy")  # type: ignore[attr-defined]
    notice = p.locator("main").inner_text()  # type: ignore[attr-defined]
    assert "The data controller is Don't Leave, Organise." in notice
    assert "Access needs we should plan for" in notice
    for width in (360, 1280):
        screenshot(p, "privacy-notice", width)
    assert serious_accessibility_violations(p) == []

    # An attendee erases their data from their manage link.
    registration_id, manage = _manage_path(live_server)
    p.goto(f"{url}{manage}")  # type: ignore[attr-defined]
    p.get_by_role("link", name="Erase your data").click()  # type: ignore[attr-defined]
    assert serious_accessibility_violations(p) == []
    p.get_by_role("button", name="Erase my data").click()  # type: ignore[attr-defined]
    assert p.get_by_role("heading", level=1).inner_text() == "Your data is erased"  # type: ignore[attr-defined]

    # A backup of the running server's database holds the erasure, and no more of Dana.
    copy = tmp_path / "backup.db"
    env = {"GATHERING_DATABASE_URL": live_server.database_url, "GATHERING_SECRET_KEY": TEST_SECRET}
    backup = run_cli("backup", str(copy), env=env, cwd=live_server.workdir)
    assert backup.returncode == 0, backup.stderr
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        row = conn.execute(
            "SELECT name, status FROM registration WHERE id = ?", (registration_id,)
        ).fetchone()
    assert row == ("", "anonymised")

    # The admin reads the audit log and narrows it down with the keyboard.
    p.goto(f"{url}/signin")  # type: ignore[attr-defined]
    p.get_by_label("Email address").fill("admin@example.org")  # type: ignore[attr-defined]
    p.get_by_label("Password").fill("demo-admin-password")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{url}/organiser")  # type: ignore[attr-defined]
    p.goto(f"{url}/admin")  # type: ignore[attr-defined]
    p.get_by_role("link", name="Audit log: sign-ins, role changes, exports, erasures").click()  # type: ignore[attr-defined]
    p.wait_for_url(f"{url}/admin/audit")  # type: ignore[attr-defined]
    entries = p.locator("ol.audit-entries > li")  # type: ignore[attr-defined]
    assert "Read the audit log" in entries.first.inner_text()
    for width in (360, 1280):
        screenshot(p, "admin-audit-log", width)
    assert serious_accessibility_violations(p) == []
    p.get_by_label("What happened").select_option(label="Erased their own registration")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Show").focus()  # type: ignore[attr-defined]
    p.keyboard.press("Enter")  # type: ignore[attr-defined]
    p.wait_for_url("**/admin/audit?action=registration_erased&actor=")  # type: ignore[attr-defined]
    assert entries.count() == 1
    assert entries.first.inner_text().endswith(
        "An attendee (from their manage link): Erased their own registration "
        f"(registration {registration_id})"
    )
    assert csp_errors == []
