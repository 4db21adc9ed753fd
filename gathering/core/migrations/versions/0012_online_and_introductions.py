"""online attendance (personal joining links) and CLP introductions (issue 20)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "online_join",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("first_joined_at", sa.DateTime(), nullable=False),
        sa.Column("last_joined_at", sa.DateTime(), nullable=True),
        sa.Column("opens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("window_started_at", sa.DateTime(), nullable=True),
        sa.Column("window_devices", sa.Integer(), server_default="0", nullable=False),
        sa.Column("shared_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["session_place.id"],
            name=op.f("fk_online_join_place_id_session_place"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_online_join")),
        sa.UniqueConstraint("place_id", name=op.f("uq_online_join_place_id")),
    )
    op.create_index(op.f("ix_online_join_place_id"), "online_join", ["place_id"])
    op.create_table(
        "introduction_round",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("gathering_id", sa.Integer(), nullable=False),
        sa.Column("send_at", sa.DateTime(), nullable=True),
        sa.Column("single_contact", sa.String(length=300), server_default="", nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("groups", sa.Integer(), server_default="0", nullable=False),
        sa.Column("singles", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gathering_id"],
            ["gathering.id"],
            name=op.f("fk_introduction_round_gathering_id_gathering"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_introduction_round")),
        sa.UniqueConstraint("gathering_id", name=op.f("uq_introduction_round_gathering_id")),
    )
    op.create_index(
        op.f("ix_introduction_round_gathering_id"), "introduction_round", ["gathering_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_introduction_round_gathering_id"), table_name="introduction_round")
    op.drop_table("introduction_round")
    op.drop_index(op.f("ix_online_join_place_id"), table_name="online_join")
    op.drop_table("online_join")
