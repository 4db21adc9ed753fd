"""A consistent copy of a SQLite database while the service keeps running.

SQLite's online backup API (``sqlite3.Connection.backup``) copies every page inside one read
transaction, so the copy is the database as of one moment: writers carry on meanwhile (WAL mode),
and nothing they commit later appears half-way in the copy. The copy is written beside the target
under a temporary name, checked with ``PRAGMA integrity_check``, switched to a self-contained
rollback journal (no ``-wal`` file to carry around), and only then renamed into place. The copy
is readable by its owner only (mode 0600), as the database is.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from gathering.core.errors import ConfigError, GatheringError
from gathering.core.private_files import create_private


class BackupFailed(GatheringError):
    code = "backup_failed"


@dataclass(frozen=True)
class BackupDone:
    source: Path
    target: Path
    size_bytes: int
    seconds: float


def sqlite_path(database_url: str) -> Path:
    """The file of a ``sqlite+aiosqlite:///FILE`` URL (relative to the working directory)."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        raise ConfigError(
            "gathering backup copies SQLite databases only. For PostgreSQL use pg_dump, for "
            "example `pg_dump -Fc -f gathering.dump DATABASE` (see the README's Backups section)."
        )
    if not url.database:
        raise ConfigError("GATHERING_DATABASE_URL names no SQLite file to back up")
    return Path(url.database)


def backup_sqlite(
    source: Path, target: Path, *, overwrite: bool = False, busy_timeout_ms: int = 5000
) -> BackupDone:
    """Copy the database at ``source`` to ``target``; refuse to replace a file unless told."""
    if not source.is_file():
        raise BackupFailed(f"there is no SQLite database at {source}")
    if target.exists() and not overwrite:
        raise BackupFailed(f"{target} exists already; use --force to replace it")
    if not target.parent.is_dir():
        raise BackupFailed(f"cannot write {target}: folder {target.parent} does not exist")
    if target.resolve() == source.resolve():
        raise BackupFailed("the backup must not replace the database itself")
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    started = time.monotonic()
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=busy_timeout_ms / 1000)
        try:
            # Owner-only from the start (core/private_files.py); os.replace keeps the mode.
            partial.unlink(missing_ok=True)
            create_private(partial)
            dst = sqlite3.connect(partial)
            try:
                # pages=-1 (all at once): one read transaction, one consistent moment.
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode=DELETE")
                [result] = dst.execute("PRAGMA integrity_check").fetchone()
                if result != "ok":
                    raise BackupFailed(f"the copy failed its integrity check: {result}")
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(partial, target)
    except sqlite3.Error as error:
        raise BackupFailed(f"could not back up {source}: {error}") from error
    except OSError as error:
        raise BackupFailed(f"could not write {target}: {error.strerror or error}") from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return BackupDone(source, target, target.stat().st_size, time.monotonic() - started)
