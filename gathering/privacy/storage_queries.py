"""Queries for making erased values really gone from the database's files (see ``storage``).

Which erasures are still owed a rewrite is read from the audit log itself: every erasure and
purge writes an event, and a finished rewrite writes ``erasure_completed`` with the id of the
newest event it covers. So the state survives restarts and is shared by every replica, with no
table of its own.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gathering.core import audit as audit_queries
from gathering.core.schema import audit_event, metadata

# Audit actions written by an erasure (a person's, or a gathering's purge) ...
ERASING_ACTIONS = ("registration_erased", "retention_purge", "speaker_email_erased")
# ... and by the rewrite that took what they erased out of the files.
COMPLETED = "erasure_completed"
# Tables whose rows an erasure blanks or deletes: their files are rewritten afterwards. Then the
# planner's statistics (pg_statistic samples column values: most common values, histograms),
# renewed by ANALYZE and rewritten in turn.
REWRITTEN = (
    "registration",
    "outbox",
    "scan",
    "audit_event",
    "supporter",
    "throttle",
    "speaker",  # a speaker's private email (issue 16)
)
STATISTICS = "pg_statistic"


class Owed(NamedTuple):
    """Erasures whose values may still be in the files: the newest erasing event, and the
    newest a finished rewrite covered (0: none yet)."""

    newest: int
    covered: int
    transaction: int  # PostgreSQL: a transaction id taken after every owed erasure committed

    @property
    def is_owed(self) -> bool:
        return self.newest > self.covered


async def owed(conn: AsyncConnection, *, postgres: bool) -> Owed:
    """What erasures are owed a rewrite; on PostgreSQL also a fresh transaction id, so the
    rewrite can wait until no snapshot could still see the erased rows."""
    newest = (
        await conn.execute(
            sa.select(sa.func.max(audit_event.c.id)).where(
                audit_event.c.action.in_(ERASING_ACTIONS)
            )
        )
    ).scalar_one()
    last = (
        await conn.execute(
            sa.select(audit_event.c.detail)
            .where(audit_event.c.action == COMPLETED)
            .order_by(audit_event.c.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    covered = last.get("through", 0) if isinstance(last, dict) else 0
    transaction = 0
    if postgres and (newest or 0) > covered:
        transaction = await current_transaction(conn)
    return Owed(int(newest or 0), int(covered), transaction)


async def current_transaction(conn: AsyncConnection) -> int:
    """PostgreSQL: the id of the current transaction (one is assigned if need be)."""
    current = sa.text("SELECT CAST(pg_current_xact_id() AS text)")
    return int((await conn.execute(current)).scalar_one())


async def record_completed(
    conn: AsyncConnection, now: dt.datetime, through: int, *, log_cleared: bool
) -> None:
    """Note that the erasures up to audit event ``through`` are gone from the files."""
    await audit_queries.insert_audit_event(
        conn,
        now=now,
        actor_kind="system",
        actor_id=None,
        action=COMPLETED,
        detail={"through": through, "log_cleared": log_cleared},
    )


class Horizon(NamedTuple):
    """Whether any transaction could still see rows erased before transaction ``M``."""

    cluster_older: bool  # a transaction older than M is still running (any database)
    sessions_older: int  # sessions of this database holding a snapshot older than M

    @property
    def is_clear(self) -> bool:
        return not self.cluster_older and not self.sessions_older


_HORIZON = sa.text(
    """
    SELECT pg_snapshot_xmin(pg_current_snapshot()) <= CAST(CAST(:m AS text) AS xid8)
               AS cluster_older,
           (SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND (age(backend_xmin) >= age(CAST(CAST(CAST(:m AS text) AS xid8) AS xid))
                    OR age(backend_xid) >= age(CAST(CAST(CAST(:m AS text) AS xid8) AS xid))))
               AS sessions_older
    """
)


async def horizon(conn: AsyncConnection, transaction: int) -> Horizon:
    """On PostgreSQL: whether every snapshot now open began after ``transaction`` (so VACUUM
    FULL drops, rather than copies, the row versions erased before it). Sessions of other roles
    show their ``backend_xmin`` too (pg_stat_activity hides only their queries)."""
    row = (await conn.execute(_HORIZON, {"m": str(transaction)})).one()
    return Horizon(bool(row.cluster_older), int(row.sessions_older))


# --- maintenance statements, on a connection in autocommit mode ---------------------------------


async def set_lock_timeout(conn: AsyncConnection, milliseconds: int) -> None:
    """Give up a lock wait after ``milliseconds`` (a VACUUM FULL waiting for its exclusive lock
    queues every later reader of the table behind it)."""
    await conn.exec_driver_sql(f"SET lock_timeout = {int(milliseconds)}")


async def rewrite_table(conn: AsyncConnection, table: str) -> None:
    """Rewrite a table, its TOAST table and its indexes into new files holding only live rows
    (the old files are truncated at commit), and renew its planner statistics."""
    await conn.exec_driver_sql(f"VACUUM (FULL, ANALYZE) {quoted(conn.dialect, table)}")


async def forget_statistics_if_empty(conn: AsyncConnection, table: str) -> None:
    """ANALYZE leaves an empty table's old samples in place (it writes statistics only from rows
    it finds), so a table the erasure emptied (a supporters list, the throttles) would keep the
    addresses sampled before. Declaring a column's type again, unchanged, drops its statistics
    (PostgreSQL's ALTER COLUMN TYPE does so whatever the type), and rewrites nothing."""
    columns = metadata.tables[table].columns
    if (await conn.execute(sa.select(sa.exists().select_from(metadata.tables[table])))).scalar():
        return
    clauses = [
        f"ALTER COLUMN {quoted(conn.dialect, column.name)} "
        f"TYPE {column.type.compile(dialect=conn.dialect)}"
        for column in columns
        if isinstance(column.type, sa.String | sa.JSON)
    ]
    if clauses:
        await conn.exec_driver_sql(
            f"ALTER TABLE {quoted(conn.dialect, table)} " + ", ".join(clauses)
        )


async def may_rewrite_statistics(conn: AsyncConnection) -> bool:
    """Whether this role may VACUUM FULL pg_statistic (a superuser or the database's owner;
    anyone else is skipped with a mere warning)."""
    query = sa.text(
        "SELECT rolsuper OR pg_has_role(current_user, d.datdba, 'MEMBER') "
        "FROM pg_roles r, pg_database d "
        "WHERE r.rolname = current_user AND d.datname = current_database()"
    )
    return bool((await conn.execute(query)).scalar_one())


async def rewrite_statistics(conn: AsyncConnection) -> None:
    """Rewrite pg_statistic, whose dead rows still hold the values sampled before."""
    await conn.exec_driver_sql("VACUUM FULL pg_catalog.pg_statistic")


async def clear_write_ahead_log(conn: AsyncConnection) -> None:
    """Let the server drop every WAL segment written before now: a checkpoint (the rewritten
    files are on disk), a switch to a new segment, and a checkpoint whose redo point lies in it,
    after which the older segments (holding the original INSERTs, and page images of the rows
    before they were blanked) are removed (or, with ``wal_recycle`` on, renamed for reuse with
    their old content: the deployment must turn it off). Needs the ``pg_checkpoint`` role and
    EXECUTE on ``pg_switch_wal()`` (a superuser has both)."""
    await conn.exec_driver_sql("CHECKPOINT")
    await conn.exec_driver_sql("SELECT pg_switch_wal()")
    await conn.exec_driver_sql("CHECKPOINT")


def quoted(dialect: sa.Dialect, table: str) -> str:
    """A table name quoted for a maintenance statement (VACUUM takes no bound names)."""
    return dialect.identifier_preparer.quote(table)
