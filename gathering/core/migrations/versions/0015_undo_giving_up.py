"""undo windows for giving up a place or a whole registration (issue 16)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("undo_until", sa.DateTime(), nullable=True))
    with op.batch_alter_table("session_place", schema=None) as batch_op:
        batch_op.add_column(sa.Column("undo_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("undo_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("session_place", schema=None) as batch_op:
        batch_op.drop_column("undo_until")
        batch_op.drop_column("undo_status")
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.drop_column("undo_until")
