"""Every SQL statement an engine runs, for tests that compare or count them.

SQLAlchemy's ``before_cursor_execute`` event does not see what the service runs on ``sqlite3``
directly (``gathering.core.prepared``, the throttles' count, BEGIN and savepoints), so on SQLite
the statements are read from SQLite's own trace instead (``sqlite3``'s trace callback, set on
each connection as the pool hands it out). SQLite passes the statement with its values written
in; they are replaced by ``?`` (strings, numbers and NULL), so that the same statement with other
values reads the same, as SQLAlchemy's parameterised text did.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from gathering.core.database import Database

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_NULL = re.compile(r"\bNULL\b")
_WORK = {"SELECT", "WITH", "INSERT", "UPDATE", "DELETE"}


def normalised(statement: str) -> str:
    """``statement`` on one line, its values (if written in) as ``?``."""
    text = " ".join(statement.split())
    return _NULL.sub("?", _NUMBER.sub("?", _STRING.sub("?", text)))


def is_work(statement: str) -> bool:
    """Whether ``statement`` reads or writes rows (not BEGIN, COMMIT, a savepoint...)."""
    words = statement.lstrip().split(None, 1)
    return bool(words) and words[0].upper() in _WORK


@contextlib.contextmanager
def statements_run(db: Database, *, work_only: bool = False) -> Iterator[list[str]]:
    """The statements ``db``'s engine runs inside the block, in order, normalised; with
    ``work_only``, only those that read or write rows (``is_work``)."""
    if not db.is_sqlite:
        with executions(db, work_only=work_only) as seen:
            yield seen
        return
    seen = []
    engine = db.engine.sync_engine
    capturing = [True]

    def _trace(statement: str) -> None:
        if capturing[0] and (not work_only or is_work(statement)):
            seen.append(normalised(statement))

    def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.set_trace_callback(_trace)

    sa.event.listen(engine, "checkout", _checkout)
    try:
        yield seen
    finally:
        capturing[0] = False
        sa.event.remove(engine, "checkout", _checkout)


@contextlib.contextmanager
def executions(db: Database, *, work_only: bool = False) -> Iterator[list[str]]:
    """The statements SQLAlchemy's execution sends to ``db``'s driver inside the block, once per
    execution, normalised, on either engine. Statements run on ``sqlite3`` directly are not
    seen (``statements_run`` sees those); SQLite's trace there reports a multi-row INSERT ...
    RETURNING once per row it steps through, this once."""
    seen: list[str] = []
    engine = db.engine.sync_engine

    def _capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not work_only or is_work(statement):
            seen.append(normalised(statement))

    sa.event.listen(engine, "before_cursor_execute", _capture)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", _capture)
