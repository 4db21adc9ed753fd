"""The statements of the rushes, run on ``sqlite3`` directly by the service's SQLite engine.

A short statement on SQLite costs ~25 µs of its own and, through SQLAlchemy's execution
machinery (execution context, parameter and result set-up, events), ~40 µs more: a person
registering runs seven such statements, so SQLAlchemy cost more than SQLite did (issue 14's
registration rush, ``bench/RESULTS.md``). Here a Core statement built once is compiled once per
set of parameter names with SQLAlchemy's own compiler for the engine's dialect; each run binds
the values through the same type processors SQLAlchemy would use, executes the SQL on the
unit's ``sqlite3`` connection (``InlineConnection.run_now``, errors still SQLAlchemy's) and
turns the answered rows into plain tuples with the columns' result processors.

On every other connection (PostgreSQL; SQLite units offloaded to aiosqlite's thread) the
statement goes through ``conn.execute`` as usual, with the same answer; so does a statement
this could not run exactly as SQLAlchemy would (Python-side column defaults, an expanding
``IN`` parameter, a value left out), which ``is_prepared`` tells (a test checks the rushes').
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

from gathering.core.sqlite_inline import InlineConnection

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the positional parameters' names, in order
    constants: Mapping[str, Any]  # values the statement carries itself
    binds: Mapping[str, Processor]  # the parameters whose type converts its value
    results: tuple[Processor | None, ...]  # one per answered column

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name in self.names:
            value = values[name] if name in values else self.constants[name]
            process = self.binds.get(name)
            out.append(value if process is None else process(value))
        return tuple(out)

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            value if process is None else process(value)
            for value, process in zip(raw, self.results, strict=True)
        )


_compiled: dict[tuple[int, frozenset[str]], tuple[sa.Executable, _Compiled | None]] = {}


class _NotPrepared(ValueError):
    """The statement is left to SQLAlchemy (see the module notes)."""


def _compile(statement: sa.Executable, dialect: Dialect, keys: frozenset[str]) -> _Compiled:
    compiled = cast(
        SQLCompiler,
        cast(sa.ClauseElement, statement).compile(dialect=dialect, column_keys=sorted(keys)),
    )
    sql = compiled.string
    if compiled.insert_prefetch or compiled.update_prefetch or "POSTCOMPILE" in sql:
        raise _NotPrepared(sql)
    names = tuple(compiled.positiontup or ())
    constants: dict[str, Any] = {}
    binds: dict[str, Processor] = {}
    for name in names:
        bind = compiled.binds[name]
        if name not in keys:
            if bind.callable is not None or bind.required:
                raise _NotPrepared(sql)
            constants[name] = bind.effective_value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds[name] = process
    if isinstance(statement, sa.Select):
        columns = list(statement.selected_columns)
    elif isinstance(statement, UpdateBase):
        columns = list(statement.exported_columns)
    else:
        raise _NotPrepared(sql)
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    return _Compiled(sql, names, constants, binds, results)


def _prepared(
    conn: InlineConnection, statement: sa.Executable, values: Mapping[str, Any]
) -> _Compiled | None:
    keys = frozenset(values)
    key = (id(statement), keys)
    found = _compiled.get(key)
    if found is None:
        try:
            compiled: _Compiled | None = _compile(statement, conn.dialect, keys)
        except _NotPrepared:
            compiled = None
        # The statement is kept beside its compiled form, so its id cannot be reused.
        found = _compiled[key] = (statement, compiled)
    return found[1]


def is_prepared(conn: AsyncConnection, statement: sa.Executable, values: Mapping[str, Any]) -> bool:
    """Whether ``rows`` and ``first`` run ``statement`` with these values on ``sqlite3``."""
    return isinstance(conn, InlineConnection) and _prepared(conn, statement, values) is not None


async def rows(
    conn: AsyncConnection, statement: sa.Executable, values: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows ``statement`` answers (a SELECT, or DML with RETURNING), as plain tuples."""
    if isinstance(conn, InlineConnection):
        compiled = _prepared(conn, statement, values)
        if compiled is not None:
            cursor = conn.run_now(compiled.sql, compiled.parameters(values))
            return [compiled.row(raw) for raw in cursor.fetchall()]
    return [tuple(row) for row in await conn.execute(statement, values)]


async def first(
    conn: AsyncConnection, statement: sa.Executable, values: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    """The first row ``statement`` answers, if any (the rest are not read)."""
    if isinstance(conn, InlineConnection):
        compiled = _prepared(conn, statement, values)
        if compiled is not None:
            raw = conn.run_now(compiled.sql, compiled.parameters(values)).fetchone()
            return None if raw is None else compiled.row(raw)
    found = (await conn.execute(statement, values)).first()
    return None if found is None else tuple(found)
