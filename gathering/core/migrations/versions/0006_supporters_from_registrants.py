"""supporters-only sessions may admit everyone registered for the gathering

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("programme_session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "supporters_include_registrants",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("programme_session", schema=None) as batch_op:
        batch_op.drop_column("supporters_include_registrants")
