"""What every table of the schema shares: the metadata (with its naming convention), the UTC
datetime type, column helpers and the allowed values of choice columns."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """An aware datetime stored as naive UTC, so SQLite and PostgreSQL round-trip alike."""

    impl = sa.DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone first")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite returns text for some expressions
            value = dt.datetime.fromisoformat(value)
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC)


def id_column() -> sa.Column[int]:
    """An integer primary key named ``id``."""
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def created_column() -> sa.Column[dt.datetime]:
    """``created_at``, an instant in UTC."""
    return sa.Column("created_at", UTCDateTime(), nullable=False)


def fk_column(
    name: str, target: str, *, nullable: bool = False, ondelete: str = "CASCADE"
) -> sa.Column[int]:
    """An indexed foreign key column."""
    return sa.Column(
        name, sa.Integer, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True
    )


def choice_check(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    """A CHECK that ``column`` holds one of ``values``."""
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


MODES = ("in_person", "online", "hybrid")
SESSION_STATUSES = ("draft", "published", "cancelled")
ACCESS_KINDS = ("public", "supporters", "invite")
SPEAKER_ROLES = ("chair", "speaker")
HOST_ROLES = ("host", "co_host")
MEMBER_ROLES = ("organiser", "viewer")  # viewer: counts only, never names (issue 16)
REGISTRATION_STATUSES = ("pending", "confirmed", "cancelled", "anonymised")
PLACE_STATUSES = ("confirmed", "waitlisted", "offered", "cancelled")
CHECKIN_KINDS = ("entry", "exit", "undo")
