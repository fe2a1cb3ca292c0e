"""event reminders: the start a reminder was queued for; outbox ids never reused (2026-11-24)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminded_for", sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite reuses the ids of deleted rows unless the table is AUTOINCREMENT; PostgreSQL's
        # sequence never does. A record id keys notification dedupe, so it must stay unique.
        with op.batch_alter_table(
            "outbox", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ) as batch_op:
            batch_op.alter_column(
                "id", existing_type=sa.Integer(), existing_nullable=False, autoincrement=True
            )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("reminded_for")
