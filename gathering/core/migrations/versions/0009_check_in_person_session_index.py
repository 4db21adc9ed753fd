"""an index on check-ins by person and session, for "inside now"

"Inside now" counts entries with no later move by the same person for the same session. With
only single-column indexes SQLite looked the later moves up by session, which for whole-gathering
check-ins (session NULL) walked every one of them for every entry: 2.6 s for 10 000 people
inside, 5 ms with this index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 08:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_check_in_registration_session", "check_in", ["registration_id", "session_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_check_in_registration_session", table_name="check_in")
