"""languages (issue 18): a registrant's and a message's language, a gathering's default one, and
gatherings' and sessions' titles and descriptions in other languages

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 22:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Content in other languages is one JSON column per table, keyed language then field:
# {"cy": {"title": "...", "description": "..."}}. Not a column per field and language
# (title_cy, description_cy ...): the issue wants the next language to be a translator's file,
# and columns would need a migration for each. Not a separate (entity, language, field) table
# either: the title and description travel with their row, so the programme's one query, the
# release snapshot (plain JSON already) and the frab v2 export's localised strings
# ({"en": ..., "cy": ...}) read them with no join and no second query; there are two fields and
# no query ever searches by a translation. English stays in the row's own title and description.
#
# Every column is added with a plain ALTER TABLE (no batch on SQLite): a batch copies the table
# and would lose migration 0013's public-generation triggers on gathering and programme_session.
# gathering's trigger fires on any update, so a changed default language or Welsh title reaches
# the kept pages; a session's translations are public only once released, as its title is.
def _columns() -> list[tuple[str, sa.Column[object]]]:
    """Made afresh on each call: a Column belongs to one table once added."""
    return [
        ("registration", sa.Column("language", sa.String(length=12), nullable=True)),
        ("outbox", sa.Column("language", sa.String(length=12), nullable=True)),
        (
            "gathering",
            sa.Column(
                "default_language", sa.String(length=12), server_default="en", nullable=False
            ),
        ),
        ("gathering", sa.Column("translations", sa.JSON(), server_default="{}", nullable=False)),
        (
            "programme_session",
            sa.Column("translations", sa.JSON(), server_default="{}", nullable=False),
        ),
    ]


def upgrade() -> None:
    for table, column in _columns():
        op.add_column(table, column)


def downgrade() -> None:
    for table, column in reversed(_columns()):
        # Plain ALTER TABLE DROP COLUMN (SQLite 3.35+), for the triggers' sake as above.
        op.drop_column(table, column.name)
