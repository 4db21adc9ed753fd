"""a gathering names a contact for questions about personal data

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gathering", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("privacy_contact", sa.String(320), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("gathering", schema=None) as batch_op:
        batch_op.drop_column("privacy_contact")
