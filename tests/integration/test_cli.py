"""The ``gathering`` command as a user runs it: real processes, real databases."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core.database import Database
from gathering.core.migrate import head_revision
from gathering.core.schema import account, membership, organisation
from tests.conftest import TEST_SECRET
from tests.helpers import run_cli


def _env(url: str, **extra: str) -> dict[str, str]:
    return {"GATHERING_DATABASE_URL": url, "GATHERING_SECRET_KEY": TEST_SECRET, **extra}


def _one_line_error(result: object, expected: str) -> None:
    stderr = result.stderr  # type: ignore[attr-defined]
    assert result.returncode != 0  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("gathering: error: ")
    assert expected in lines[0]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"GATHERING_DATABASE_URL": "mysql://root@127.0.0.1/x"},
            "must start with sqlite+aiosqlite",
        ),
        ({"GATHERING_PORT": "http"}, "GATHERING_PORT must be a whole number"),
        ({"GATHERING_PORT": "0"}, "GATHERING_PORT must be from 1 to 65535"),
        (
            {"GATHERING_SECRET_KEY_FILE": "/nonexistent/secret"},
            "cannot read GATHERING_SECRET_KEY_FILE",
        ),
        (
            {"GATHERING_ENV": "production"},
            "GATHERING_SECRET_KEY or GATHERING_SECRET_KEY_FILE is required",
        ),
    ],
)
def test_bad_configuration_is_one_clear_line(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    result = run_cli("migrate", env=env, cwd=tmp_path)
    assert result.returncode == 2
    _one_line_error(result, expected)


def test_database_in_a_missing_folder_is_one_clear_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/g.db"
    result = run_cli("migrate", env=_env(url), cwd=tmp_path)
    _one_line_error(result, "folder")


def test_database_that_is_not_a_database_is_one_clear_line(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("this is not a SQLite database\n" * 100)
    result = run_cli("migrate", env=_env(f"sqlite+aiosqlite:///{bogus}"), cwd=tmp_path)
    _one_line_error(result, "cannot migrate the database")


def test_serve_with_a_bad_port_flag_says_why(tmp_path: Path) -> None:
    result = run_cli("serve", "--port", "99999", env=_env(f"sqlite+aiosqlite:///{tmp_path}/g.db"))
    assert result.returncode == 2
    assert "--port: must be from 1 to 65535, not 99999" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_postgresql_is_one_clear_line(tmp_path: Path) -> None:
    result = run_cli(
        "migrate", env=_env("postgresql+asyncpg://postgres@127.0.0.1:1/none"), cwd=tmp_path
    )
    _one_line_error(result, "cannot migrate the database")


def test_migrate_empty_then_up_to_date(empty_db_url: str, tmp_path: Path) -> None:
    first = run_cli("migrate", env=_env(empty_db_url), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"Database migrated from empty to {head_revision()}."
    second = run_cli("migrate", env=_env(empty_db_url), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == f"Database already at revision {head_revision()}."


def test_demo_prints_logins_and_is_idempotent(db_url: str, tmp_path: Path) -> None:
    first = run_cli("demo", env=_env(db_url), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "organiser@example.org" in first.stdout
    assert "PIN 2468" in first.stdout
    second = run_cli("demo", env=_env(db_url), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "Demo network loaded (0 new rows)." in second.stdout


def test_demo_is_refused_in_production(db_url: str, tmp_path: Path) -> None:
    result = run_cli("demo", env=_env(db_url, GATHERING_ENV="production"), cwd=tmp_path)
    _one_line_error(result, "not loaded in production")


def test_create_organiser_from_a_password_file(db_url: str, tmp_path: Path) -> None:
    demo = run_cli("demo", env=_env(db_url), cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    password_file = tmp_path / "pw"
    password_file.write_text("correct horse battery staple\n")
    result = run_cli(
        "create-organiser",
        "--email",
        " Rosa@Example.ORG ",
        "--name",
        "Rosa",
        "--organisation",
        "jvl",
        "--password-file",
        str(password_file),
        env=_env(db_url),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Created account rosa@example.org."

    async def _read() -> tuple[str, str, list[str]]:
        db = Database(db_url)

        async def q(conn: AsyncConnection) -> tuple[str, str, list[str]]:
            row = (
                await conn.execute(
                    sa.select(account.c.id, account.c.display_name, account.c.password_hash).where(
                        account.c.email == "rosa@example.org"
                    )
                )
            ).one()
            orgs = list(
                (
                    await conn.execute(
                        sa.select(organisation.c.slug)
                        .join(membership, membership.c.organisation_id == organisation.c.id)
                        .where(membership.c.account_id == row.id)
                    )
                ).scalars()
            )
            return row.display_name, row.password_hash, orgs

        try:
            return await db.read(q)
        finally:
            await db.dispose()

    name, password_hash, orgs = asyncio.run(_read())
    assert (name, orgs) == ("Rosa", ["jvl"])
    assert password_hash.startswith("$argon2id$")
    assert "correct horse" not in password_hash


def test_create_organiser_rejects_a_short_password_and_unknown_organisation(
    db_url: str, tmp_path: Path
) -> None:
    password_file = tmp_path / "pw"
    password_file.write_text("short\n")
    result = run_cli(
        "create-organiser",
        "--email",
        "a@example.org",
        "--name",
        "A",
        "--password-file",
        str(password_file),
        env=_env(db_url),
        cwd=tmp_path,
    )
    _one_line_error(result, "at least 10 characters")
    password_file.write_text("long enough password\n")
    result = run_cli(
        "create-organiser",
        "--email",
        "a@example.org",
        "--name",
        "A",
        "--organisation",
        "nope",
        "--password-file",
        str(password_file),
        env=_env(db_url),
        cwd=tmp_path,
    )
    _one_line_error(result, "No organisation 'nope'")


def test_help_describes_every_command() -> None:
    result = run_cli("--help")
    for command in ("serve", "migrate", "demo", "create-organiser"):
        assert command in result.stdout
    serve = run_cli("serve", "--help")
    assert "--port" in serve.stdout
    assert "--reload" in serve.stdout
