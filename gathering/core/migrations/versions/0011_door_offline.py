"""the door offline: tickets admitted twice while offline (issue 15)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXED = ("check_in_id", "gathering_id", "pass_id", "registration_id", "session_id")


def upgrade() -> None:
    op.create_table(
        "door_conflict",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("gathering_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("check_in_id", sa.Integer(), nullable=True),
        sa.Column("pass_id", sa.Integer(), nullable=True),
        sa.Column("door", sa.String(length=120), server_default="", nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("client_nonce", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["check_in_id"],
            ["check_in.id"],
            name=op.f("fk_door_conflict_check_in_id_check_in"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["gathering_id"],
            ["gathering.id"],
            name=op.f("fk_door_conflict_gathering_id_gathering"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pass_id"],
            ["steward_pass.id"],
            name=op.f("fk_door_conflict_pass_id_steward_pass"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registration.id"],
            name=op.f("fk_door_conflict_registration_id_registration"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["programme_session.id"],
            name=op.f("fk_door_conflict_session_id_programme_session"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_door_conflict")),
        sa.UniqueConstraint(
            "pass_id", "client_nonce", name=op.f("uq_door_conflict_pass_id_client_nonce")
        ),
    )
    for column in _INDEXED:
        op.create_index(op.f(f"ix_door_conflict_{column}"), "door_conflict", [column])


def downgrade() -> None:
    for column in _INDEXED:
        op.drop_index(op.f(f"ix_door_conflict_{column}"), table_name="door_conflict")
    op.drop_table("door_conflict")
