"""``gathering backup``: a consistent SQLite copy while writes go on; PostgreSQL is pointed to
pg_dump. SQLite only by nature (the command copies a SQLite file)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.helpers import run_cli


def _env(url: str) -> dict[str, str]:
    return {"GATHERING_DATABASE_URL": url, "GATHERING_SECRET_KEY": TEST_SECRET}


class Writer(threading.Thread):
    """Commits one audit event after another, as fast as it can, until told to stop."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.committed = 0
        self.stop = threading.Event()
        self.started = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        try:
            while not self.stop.is_set():
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    "INSERT INTO audit_event (at, actor_kind, action, subject_kind, detail) "
                    "VALUES (?, 'system', 'backup_test', '', ?)",
                    (dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(" "), "{}"),
                )
                conn.execute("COMMIT")
                self.committed += 1
                if self.committed == 200:
                    self.started.set()
        finally:
            conn.close()


@pytest.fixture
def database(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "live.db"
    path.write_bytes(sqlite_template.read_bytes())
    return path


def test_backup_is_consistent_while_writes_go_on(database: Path, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{database}"
    writer = Writer(database)
    writer.start()
    try:
        assert writer.started.wait(30)
        before = writer.committed  # committed before the backup began
        result = run_cli("backup", str(tmp_path / "copy.db"), env=_env(url))
        time.sleep(0.2)
        during = writer.committed
    finally:
        writer.stop.set()
        writer.join(30)
    assert result.returncode == 0, result.stderr
    assert during > before  # the writer carried on meanwhile
    assert result.stdout.startswith(f"Backed up {database} to {tmp_path / 'copy.db'}: ")
    assert result.stdout.rstrip().endswith(" s.")

    copy = sqlite3.connect(tmp_path / "copy.db")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file
        ids = [
            row[0]
            for row in copy.execute(
                "SELECT id FROM audit_event WHERE action = 'backup_test' ORDER BY id"
            )
        ]
        # Everything committed before the backup began, and no gap: one moment's database.
        assert len(ids) >= before
        assert ids == list(range(ids[0], ids[0] + len(ids)))
        assert copy.execute("SELECT version_num FROM alembic_version").fetchone() is not None
    finally:
        copy.close()
    assert not list(tmp_path.glob(".copy.db.*"))  # no partial file left behind


def test_backup_refuses_to_replace_a_file_unless_forced(database: Path, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{database}"
    target = tmp_path / "copy.db"
    target.write_bytes(b"an older backup")
    refused = run_cli("backup", str(target), env=_env(url))
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"gathering: error: {target} exists already; use --force to replace it"
    )
    assert target.read_bytes() == b"an older backup"
    forced = run_cli("backup", "--force", str(target), env=_env(url))
    assert forced.returncode == 0, forced.stderr
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_backup_explains_what_it_cannot_do(tmp_path: Path) -> None:
    missing = run_cli(
        "backup", str(tmp_path / "copy.db"), env=_env(f"sqlite+aiosqlite:///{tmp_path}/none.db")
    )
    assert missing.returncode == 1
    assert (
        missing.stderr.strip()
        == f"gathering: error: there is no SQLite database at {tmp_path}/none.db"
    )
    postgres = run_cli(
        "backup",
        str(tmp_path / "copy.db"),
        env=_env("postgresql+asyncpg://gathering:secret@127.0.0.1:1/gathering"),
    )
    assert postgres.returncode == 2
    [line] = postgres.stderr.splitlines()
    assert line.startswith("gathering: error: gathering backup copies SQLite databases only.")
    assert "pg_dump -Fc" in line
    assert not (tmp_path / "copy.db").exists()
