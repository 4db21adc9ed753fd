"""registration form kept per generation: ticket types, questions and session hosts raise it too

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 21:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The registration form offers these (ticket types, questions, the organisations one may let
# contact one: the hosts of the gathering's sessions) and is kept per public generation
# (registration.form): a change to any of them must raise it, as the tables of migration 0013 do.
TABLES = ("ticket_type", "question", "session_host")
BUMP = "UPDATE public_generation SET generation = generation + 1 WHERE id = 1"
VERBS = ("insert", "update", "delete")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for verb in VERBS:
                op.execute(
                    f"CREATE TRIGGER public_gen_{table}_{verb} AFTER {verb.upper()} ON {table} "
                    f"BEGIN {BUMP}; END"
                )
        return
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER public_gen_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION public_generation_bump()"
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        if sqlite:
            for verb in VERBS:
                op.execute(f"DROP TRIGGER IF EXISTS public_gen_{table}_{verb}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS public_gen_{table} ON {table}")
