"""chat messages (2026-11-24)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mov_adapters.sql.migrations.shapes import partial, refers

revision = "0002"
down_revision = "0001"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sender_id", _ID, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("client_msg_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        refers("chat_messages", "event_id", "events", ondelete="CASCADE"),
        refers("chat_messages", "sender_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
    )
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_messages_event_id_seq"), ["event_id", "seq"], unique=True
        )
        batch_op.create_index(
            "uq_chat_messages_client_msg",
            ["event_id", "sender_id", "client_msg_id"],
            unique=True,
            **partial("client_msg_id IS NOT NULL"),
        )

    op.create_table(
        "chat_rooms",
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        refers("chat_rooms", "event_id", "events", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_chat_rooms")),
    )


def downgrade() -> None:
    op.drop_table("chat_rooms")
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_chat_messages_client_msg",
            **partial("client_msg_id IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_chat_messages_event_id_seq"))

    op.drop_table("chat_messages")
