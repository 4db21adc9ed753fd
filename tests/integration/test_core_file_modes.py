"""The SQLite database, its -wal and -shm files and backups are readable by their owner only
(issue 14, "small ones": they were created 0644, readable by anyone on the machine). SQLite only:
PostgreSQL's files belong to its server, which already keeps them 0600."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import schema
from gathering.core.backup import backup_sqlite
from gathering.core.database import Database

pytestmark = pytest.mark.anyio


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (022), under which files are created world-readable."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _world_readable_database(template: str, path: Path) -> None:
    """A database and its log files as an earlier version left them: mode 0644."""
    shutil.copyfile(template, path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").touch()
        os.chmod(f"{path}{suffix}", 0o644)


async def _write_something(db: Database) -> None:
    async def _write(conn: AsyncConnection) -> None:
        await conn.execute(sa.text("CREATE TABLE IF NOT EXISTS note (body TEXT)"))
        await conn.execute(sa.text("INSERT INTO note (body) VALUES ('who came')"))

    await db.write(_write)


async def test_a_new_database_and_its_log_files_are_private(
    tmp_path: Path, open_umask: None
) -> None:
    path = tmp_path / "new.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await _write_something(db)
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert all(f.exists() for f in files)
        assert [_mode(f) for f in files] == [0o600, 0o600, 0o600]
        # A file made under the same umask by anything else is world-readable: the umask alone
        # does not protect the database.
        (tmp_path / "other").write_text("x")
        assert _mode(tmp_path / "other") == 0o644
    finally:
        await db.dispose()


async def test_an_existing_world_readable_database_is_made_private(
    sqlite_template: str, tmp_path: Path, open_umask: None
) -> None:
    path = tmp_path / "old.db"
    _world_readable_database(sqlite_template, path)
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        assert [_mode(Path(f"{path}{s}")) for s in ("", "-wal", "-shm")] == [0o600] * 3
        await _write_something(db)
        assert [_mode(Path(f"{path}{s}")) for s in ("", "-wal", "-shm")] == [0o600] * 3
    finally:
        await db.dispose()


async def test_a_backup_is_private(sqlite_template: str, tmp_path: Path, open_umask: None) -> None:
    source = tmp_path / "live.db"
    shutil.copyfile(sqlite_template, source)
    db = Database(f"sqlite+aiosqlite:///{source}")
    try:
        await _write_something(db)
    finally:
        await db.dispose()
    target = tmp_path / "backup.db"
    done = backup_sqlite(source, target)
    assert done.target == target and _mode(target) == 0o600
    # Replacing an older world-readable backup leaves a private one.
    os.chmod(target, 0o644)
    backup_sqlite(source, target, overwrite=True)
    assert _mode(target) == 0o600
    copy = Database(f"sqlite+aiosqlite:///{target}")
    try:

        async def _read(conn: AsyncConnection) -> list[str]:
            rows = await conn.execute(sa.text("SELECT body FROM note"))
            return [row.body for row in rows]

        assert await copy.read(_read) == ["who came"]
        assert await copy.read(_count_gatherings) >= 0  # the whole schema came along
    finally:
        await copy.dispose()


async def _count_gatherings(conn: AsyncConnection) -> int:
    query = sa.select(sa.func.count()).select_from(schema.gathering)
    return int((await conn.execute(query)).scalar_one())
