"""public page cache: one generation number raised by triggers on public writes (issue 17)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 05:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (a migration never changes): gathering.core.schema_public names the same tables.
TABLES = (
    "gathering",
    "programme_release",
    "organisation",
    "speaker",
    "speaker_photo",
    "venue",
    "room",
    "track",
)
BUMP = "UPDATE public_generation SET generation = generation + 1 WHERE id = 1"


def _sqlite_triggers() -> list[tuple[str, str]]:
    """(name, create statement) for SQLite: one trigger per table and kind of write."""
    found = [
        (f"public_gen_{table}_{verb}", f"AFTER {verb.upper()} ON {table}")
        for table in TABLES
        for verb in ("insert", "update", "delete")
    ]
    found += [
        ("public_gen_session_insert", "AFTER INSERT ON programme_session"),
        ("public_gen_session_delete", "AFTER DELETE ON programme_session"),
        ("public_gen_session_status", "AFTER UPDATE OF status ON programme_session"),
    ]
    return [(name, f"CREATE TRIGGER {name} {when} BEGIN {BUMP}; END") for name, when in found]


def upgrade() -> None:
    op.create_table(
        "public_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_generation")),
    )
    op.execute("INSERT INTO public_generation (id, generation) VALUES (1, 0)")
    if op.get_bind().dialect.name == "sqlite":
        for _name, create in _sqlite_triggers():
            op.execute(create)
        return
    # PostgreSQL: once per statement, not per row (a release updating 300 sessions bumps once).
    op.execute(
        "CREATE FUNCTION public_generation_bump() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER public_gen_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION public_generation_bump()"
        )
    op.execute(
        "CREATE TRIGGER public_gen_session AFTER INSERT OR DELETE OR UPDATE OF status "
        "ON programme_session FOR EACH STATEMENT EXECUTE FUNCTION public_generation_bump()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, _create in _sqlite_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS public_gen_{table} ON {table}")
        op.execute("DROP TRIGGER IF EXISTS public_gen_session ON programme_session")
        op.execute("DROP FUNCTION IF EXISTS public_generation_bump()")
    op.drop_table("public_generation")
