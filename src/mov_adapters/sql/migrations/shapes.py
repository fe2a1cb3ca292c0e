"""The shapes the revisions repeat, written once. Frozen like the revisions that use them: a
change here would rewrite history, so a new shape gets a new function."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def refers(
    table: str, column: str, parent: str, *, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    """`table.column` refers to `parent.id`, named as the schema's naming convention names it."""
    return sa.ForeignKeyConstraint(
        [column], [f"{parent}.id"], name=op.f(f"fk_{table}_{column}_{parent}"), ondelete=ondelete
    )


def partial(condition: str) -> dict[str, sa.TextClause]:
    """The keywords that make an index partial on both SQLite and PostgreSQL."""
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}
