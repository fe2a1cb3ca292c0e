"""notification deliveries without a foreign key to their notification (2026-12-07).

Each delivery inserted checked that key: an index lookup and a row lock on its notification,
for a row the same transaction had just inserted. On PostgreSQL the check's plan is cached per
connection: made while `notifications` was nearly empty (a fresh database), it scanned the
whole table for every delivery until autovacuum analyzed it, up to a minute later. The store
writes deliveries only with their notification, in its transaction; nothing deletes
notifications; the MongoDB store never had the key."""

from __future__ import annotations

from alembic import op

revision = "0007_deliveries_unkeyed"
down_revision = "0006_account_tokens"

_KEY = "fk_notification_deliveries_notification_id_notifications"


def upgrade() -> None:
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_KEY), type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f(_KEY), "notifications", ["notification_id"], ["id"], ondelete="CASCADE"
        )
