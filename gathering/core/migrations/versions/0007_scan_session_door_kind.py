"""every scan records the session, door and kind the steward asked for

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("door", sa.String(120), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("kind", sa.String(10), server_default="entry", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_scan_session_id"), ["session_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_scan_session_id_programme_session"),
            "programme_session",
            ["session_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_scan_session_id_programme_session"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_scan_session_id"))
        batch_op.drop_column("kind")
        batch_op.drop_column("door")
        batch_op.drop_column("session_id")
