"""SQLite files readable by their owner only: the database holds who attended what.

SQLite creates a database file with mode 0644 less the umask, so on most machines anyone on the
host could read it, and it gives the ``-wal``, ``-shm`` and ``-journal`` files it makes later the
database file's own mode (https://sqlite.org/tempfiles.html, ``findCreateFileMode`` in the unix
VFS). So the database file is created here first, with mode 0600 in the ``open`` call itself
(never readable by others, not even for a moment, whatever the umask: a umask only takes bits
away), before SQLite opens it; an existing file and its companions made by an earlier version
lose their group and other bits (``chmod``). Backups are written the same way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

COMPANIONS = ("-wal", "-shm", "-journal")


def create_private(path: str | Path) -> None:
    """Create an empty file at ``path`` with mode 0600 unless one is there already."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)


def keep_private(database: str | Path) -> None:
    """Make sure the SQLite database at ``database`` and its companion files are 0600 at most:
    create the file so when it does not exist yet, narrow the mode of those that do."""
    create_private(database)
    for name in (str(database), *(f"{database}{suffix}" for suffix in COMPANIONS)):
        with contextlib.suppress(FileNotFoundError):
            mode = stat.S_IMODE(os.stat(name).st_mode)
            if mode & 0o077:
                try:
                    os.chmod(name, mode & 0o700)
                except OSError as error:  # another owner's file: say so, and go on
                    log.warning("could not make %s private (mode %o): %s", name, mode, error)
