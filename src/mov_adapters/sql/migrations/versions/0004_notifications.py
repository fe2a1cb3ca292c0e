"""notifications, their deliveries and each user's preferences (2026-11-24)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mov_adapters.sql.migrations.shapes import refers

revision = "0004"
down_revision = "0003"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_UNREAD_IN_APP_SQLITE = "in_app = 1 AND read_at IS NULL"
_UNREAD_IN_APP_POSTGRES = "in_app AND read_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("event_id", _ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("in_app", sa.Boolean(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        refers("notifications", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifications_dedupe_key"), ["dedupe_key"], unique=True
        )
        batch_op.create_index(
            batch_op.f("ix_notifications_user_id_created_at_id"), ["user_id", "created_at", "id"]
        )
        batch_op.create_index(
            "ix_notifications_unread",
            ["user_id", "created_at", "id"],
            unique=False,
            sqlite_where=sa.text(_UNREAD_IN_APP_SQLITE),
            postgresql_where=sa.text(_UNREAD_IN_APP_POSTGRES),
        )
        batch_op.create_index(
            batch_op.f("ix_notifications_user_id_event_id_type_created_at_id"),
            ["user_id", "event_id", "type", "created_at", "id"],
        )

    op.create_table(
        "notification_deliveries",
        sa.Column("notification_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('IN_APP', 'EMAIL')", name=op.f("ck_notification_deliveries_channel_valid")
        ),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SENT', 'FAILED', 'SKIPPED')",
            name=op.f("ck_notification_deliveries_status_valid"),
        ),
        sa.CheckConstraint(
            "attempts >= 0", name=op.f("ck_notification_deliveries_attempts_positive")
        ),
        refers("notification_deliveries", "notification_id", "notifications", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(
            "notification_id", "channel", name=op.f("pk_notification_deliveries")
        ),
    )
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_deliveries_claim",
            ["status", "next_attempt_at", "created_at", "notification_id", "channel"],
        )

    op.create_table(
        "notification_preferences",
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "channel IN ('IN_APP', 'EMAIL')",
            name=op.f("ck_notification_preferences_channel_valid"),
        ),
        refers("notification_preferences", "user_id", "users"),
        sa.PrimaryKeyConstraint(
            "user_id", "type", "channel", name=op.f("pk_notification_preferences")
        ),
    )


def downgrade() -> None:
    op.drop_table("notification_preferences")
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_deliveries_claim")

    op.drop_table("notification_deliveries")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_user_id_event_id_type_created_at_id"))
        batch_op.drop_index(
            "ix_notifications_unread",
            sqlite_where=sa.text(_UNREAD_IN_APP_SQLITE),
            postgresql_where=sa.text(_UNREAD_IN_APP_POSTGRES),
        )
        batch_op.drop_index(batch_op.f("ix_notifications_user_id_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_notifications_dedupe_key"))

    op.drop_table("notifications")
