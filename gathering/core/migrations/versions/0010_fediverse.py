"""the fediverse: actors' keys, followers, blocked instances, the delivery outbox (issue 19)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fediverse_actor",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("gathering_id", sa.Integer(), nullable=True),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "(organisation_id IS NULL) <> (gathering_id IS NULL)",
            name=op.f("ck_fediverse_actor_one_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["gathering_id"],
            ["gathering.id"],
            name=op.f("fk_fediverse_actor_gathering_id_gathering"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_fediverse_actor_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fediverse_actor")),
        sa.UniqueConstraint("gathering_id", name=op.f("uq_fediverse_actor_gathering_id")),
        sa.UniqueConstraint("organisation_id", name=op.f("uq_fediverse_actor_organisation_id")),
    )
    op.create_table(
        "fediverse_blocked_instance",
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_fediverse_blocked_instance")),
    )
    op.create_table(
        "fediverse_follower",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("follower_uri", sa.String(500), nullable=False),
        sa.Column("inbox_url", sa.String(500), nullable=False),
        sa.Column("shared_inbox_url", sa.String(500), server_default="", nullable=False),
        sa.Column("instance", sa.String(255), nullable=False),
        sa.Column("follow_activity_id", sa.String(500), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["fediverse_actor.id"],
            name=op.f("fk_fediverse_follower_actor_id_fediverse_actor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fediverse_follower")),
        sa.UniqueConstraint(
            "actor_id", "follower_uri", name=op.f("uq_fediverse_follower_actor_id_follower_uri")
        ),
    )
    op.create_index(
        op.f("ix_fediverse_follower_actor_id"), "fediverse_follower", ["actor_id"], unique=False
    )
    op.create_index(
        op.f("ix_fediverse_follower_instance"), "fediverse_follower", ["instance"], unique=False
    )
    op.create_table(
        "fediverse_delivery",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("verb", sa.String(10), nullable=False),
        sa.Column("gathering_id", sa.Integer(), nullable=True),
        sa.Column("release_number", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("follower_id", sa.Integer(), nullable=True),
        sa.Column("inbox_url", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("send_after", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "verb IN ('Create', 'Update', 'Delete', 'Accept')",
            name=op.f("ck_fediverse_delivery_verb_allowed"),
        ),
        sa.ForeignKeyConstraint(
            ["follower_id"],
            ["fediverse_follower.id"],
            name=op.f("fk_fediverse_delivery_follower_id_fediverse_follower"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["gathering_id"],
            ["gathering.id"],
            name=op.f("fk_fediverse_delivery_gathering_id_gathering"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_fediverse_delivery_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fediverse_delivery")),
        sa.UniqueConstraint(
            "verb",
            "session_id",
            "version",
            "inbox_url",
            name=op.f("uq_fediverse_delivery_verb_session_id_version_inbox_url"),
        ),
    )
    for column in ("delivered_at", "follower_id", "gathering_id", "organisation_id", "send_after"):
        op.create_index(
            op.f(f"ix_fediverse_delivery_{column}"), "fediverse_delivery", [column], unique=False
        )


def downgrade() -> None:
    op.drop_table("fediverse_delivery")
    op.drop_table("fediverse_follower")
    op.drop_table("fediverse_blocked_instance")
    op.drop_table("fediverse_actor")
