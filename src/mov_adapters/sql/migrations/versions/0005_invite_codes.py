"""invite codes: what opens a PRIVATE event to others; old PRIVATE events get one (2026-11-25)."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0005_invite_codes"
down_revision = "0004"

_CODE_BYTES = 16  # as mov_core.domain.events.INVITE_CODE_BYTES when this was written

_events = sa.table(
    "events",
    sa.column("id", sa.Integer()),
    sa.column("visibility", sa.String()),
    sa.column("invite_code", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invite_code", sa.String(length=64), nullable=True))
    # Until now a PRIVATE event's id was its invitation; from now on it needs a code, so each
    # existing one gets its own (its owner sees it in the event, and may rotate it).
    bind = op.get_bind()
    private = bind.execute(
        sa.select(_events.c.id).where(
            _events.c.visibility == "PRIVATE", _events.c.invite_code.is_(None)
        )
    ).scalars()
    for event_id in list(private):
        bind.execute(
            sa.update(_events)
            .where(_events.c.id == event_id)
            .values(invite_code=secrets.token_urlsafe(_CODE_BYTES))
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("invite_code")
