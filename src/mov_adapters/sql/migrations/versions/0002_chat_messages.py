"""chat messages

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 00:44:55.483017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column(
            "sender_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("client_msg_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_chat_messages_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["users.id"], name=op.f("fk_chat_messages_sender_id_users")
        ),
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
            sqlite_where=sa.text("client_msg_id IS NOT NULL"),
            postgresql_where=sa.text("client_msg_id IS NOT NULL"),
        )

    op.create_table(
        "chat_rooms",
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_chat_rooms_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_chat_rooms")),
    )


def downgrade() -> None:
    op.drop_table("chat_rooms")
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_chat_messages_client_msg",
            sqlite_where=sa.text("client_msg_id IS NOT NULL"),
            postgresql_where=sa.text("client_msg_id IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_chat_messages_event_id_seq"))

    op.drop_table("chat_messages")
