"""Alembic environment. The app passes its own connection in ``config.attributes["connection"]``;
the ``alembic`` command line (for developers writing migrations) connects from the settings."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import sqlalchemy as sa
from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from gathering.core.schema import UTCDateTime, metadata

config = context.config


def _render_item(type_: str, obj: object, _context: Any) -> str | Literal[False]:
    # Migrations stay plain SQLAlchemy: a UTCDateTime column is a DateTime in the database.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def _normalised(default: str | None) -> str | None:
    if default is None:
        return None
    text = default.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    return text.split("::", 1)[0].strip("'\"").lower()


def _compare_default(
    _context: Any,
    _inspected_column: Any,
    _metadata_column: Any,
    inspected_default: str | None,
    _metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    # SQLite reflects '' as "''" and PostgreSQL as "''::character varying"; both mean the same.
    if _normalised(inspected_default) == _normalised(rendered_metadata_default):
        return False
    return None  # let Alembic compare


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        # Database.begin emits BEGIN on SQLite too, so a failed migration rolls back whole.
        transactional_ddl=True,
        compare_type=True,
        compare_server_default=_compare_default,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from gathering.core.settings import Settings

    return Settings.from_env().database_url


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=_url(), target_metadata=metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()
elif (shared := config.attributes.get("connection")) is not None:
    _run(shared)
else:
    asyncio.run(_run_async())
