"""registration windows: when a gathering's (and a session's) registration opens and closes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 20:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("registration_opens_at", "registration_closes_at")
BUMP = "UPDATE public_generation SET generation = generation + 1 WHERE id = 1"
# A session's window is shown on its public page: changing it must make kept pages old, as
# the gathering's columns already do (its table's trigger fires on every update).
SQLITE_TRIGGER = "public_gen_session_window"
PG_TRIGGER = "public_gen_session_window"


def upgrade() -> None:
    for table in ("gathering", "programme_session"):
        for name in COLUMNS:
            op.add_column(table, sa.Column(name, sa.DateTime(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"CREATE TRIGGER {SQLITE_TRIGGER} AFTER UPDATE OF {', '.join(COLUMNS)} "
            f"ON programme_session BEGIN {BUMP}; END"
        )
        return
    op.execute(
        f"CREATE TRIGGER {PG_TRIGGER} AFTER UPDATE OF {', '.join(COLUMNS)} ON programme_session "
        "FOR EACH STATEMENT EXECUTE FUNCTION public_generation_bump()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {SQLITE_TRIGGER}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {PG_TRIGGER} ON programme_session")
    for table in ("programme_session", "gathering"):
        for name in reversed(COLUMNS):
            # Plain ALTER TABLE DROP COLUMN (SQLite 3.35+): a batch would copy the table and
            # lose migration 0013's triggers on it.
            op.drop_column(table, name)
