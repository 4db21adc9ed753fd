"""speakers have a private email; organisers invite members with a role (organiser or viewer)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN: a batch copy of the table would lose 0013's triggers on it.
    op.add_column("speaker", sa.Column("email", sa.String(320), server_default="", nullable=False))
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_membership_role_allowed"), type_="check")
        batch_op.create_check_constraint("role_allowed", "role IN ('organiser', 'viewer')")
    op.create_table(
        "organiser_invitation",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(20), server_default="organiser", nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("invited_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "role IN ('organiser', 'viewer')", name=op.f("ck_organiser_invitation_role_allowed")
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["account.id"],
            name=op.f("fk_organiser_invitation_invited_by_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_organiser_invitation_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organiser_invitation")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_organiser_invitation_secret_hash")),
    )
    with op.batch_alter_table("organiser_invitation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organiser_invitation_invited_by"), ["invited_by"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_organiser_invitation_organisation_id"),
            ["organisation_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("organiser_invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organiser_invitation_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_organiser_invitation_invited_by"))
    op.drop_table("organiser_invitation")
    op.execute("DELETE FROM membership WHERE role = 'viewer'")
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_membership_role_allowed"), type_="check")
        batch_op.create_check_constraint("role_allowed", "role IN ('organiser')")
    # Plain ALTER TABLE DROP COLUMN (SQLite 3.35+): a batch would copy the table and lose
    # migration 0013's triggers on it.
    op.drop_column("speaker", "email")
