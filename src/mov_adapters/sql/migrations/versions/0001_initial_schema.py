"""initial schema (2026-11-23)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mov_adapters.sql.migrations.shapes import partial, refers

revision = "0001"
down_revision = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _key() -> sa.Column[int]:
    """A table's own id: an integer that SQLite assigns as its rowid."""
    return sa.Column("id", _ID, autoincrement=True, nullable=False)


def upgrade() -> None:
    op.create_table(
        "outbox",
        _key(),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_table(
        "users",
        _key(),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('ORGANIZER', 'PARTICIPANT')", name=op.f("ck_users_role_valid")
        ),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_users_email_lower_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_email"), ["email"], unique=True)

    op.create_table(
        "events",
        _key(),
        sa.Column("organizer_id", _ID, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("location", sa.String(length=255), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("visibility", sa.String(length=10), nullable=False),
        sa.Column("waitlist_enabled", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("enrolled_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("waitlist_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('Planning', 'Published', 'Running', 'Completed', 'Canceled')",
            name=op.f("ck_events_status_valid"),
        ),
        sa.CheckConstraint(
            "visibility IN ('PUBLIC', 'PRIVATE')", name=op.f("ck_events_visibility_valid")
        ),
        sa.CheckConstraint("capacity BETWEEN 1 AND 100000", name=op.f("ck_events_capacity_range")),
        sa.CheckConstraint(
            "ends_at IS NULL OR ends_at > starts_at", name=op.f("ck_events_ends_after_start")
        ),
        sa.CheckConstraint(
            "enrolled_count >= 0 AND enrolled_count <= capacity",
            name=op.f("ck_events_enrolled_within_capacity"),
        ),
        sa.CheckConstraint("waitlist_count >= 0", name=op.f("ck_events_waitlist_count_positive")),
        refers("events", "organizer_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_category"), ["category"])
        batch_op.create_index(
            batch_op.f("ix_events_organizer_id_starts_at_id"), ["organizer_id", "starts_at", "id"]
        )
        batch_op.create_index(batch_op.f("ix_events_starts_at_id"), ["starts_at", "id"])
        batch_op.create_index(
            batch_op.f("ix_events_status_starts_at_id"), ["status", "starts_at", "id"]
        )

    op.create_table(
        "enrollments",
        _key(),
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('ENROLLED', 'WAITLISTED', 'CANCELED')",
            name=op.f("ck_enrollments_status_valid"),
        ),
        refers("enrollments", "event_id", "events", ondelete="CASCADE"),
        refers("enrollments", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrollments_event_id_status_id"), ["event_id", "status", "id"]
        )
        batch_op.create_index(
            batch_op.f("ix_enrollments_user_id_created_at"), ["user_id", "created_at"]
        )
        batch_op.create_index(
            "uq_enrollments_active",
            ["event_id", "user_id"],
            unique=True,
            **partial("status IN ('ENROLLED', 'WAITLISTED')"),
        )

    if op.get_bind().dialect.name == "postgresql":
        # Substring search (ILIKE '%q%') on title, description and location uses trigrams.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in ("title", "description", "location"):
            op.create_index(
                f"ix_events_{column}_trgm",
                "events",
                [column],
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in ("title", "description", "location"):
            op.drop_index(f"ix_events_{column}_trgm", table_name="events")
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_enrollments_active",
            **partial("status IN ('ENROLLED', 'WAITLISTED')"),
        )
        batch_op.drop_index(batch_op.f("ix_enrollments_user_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_enrollments_event_id_status_id"))

    op.drop_table("enrollments")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_status_starts_at_id"))
        batch_op.drop_index(batch_op.f("ix_events_starts_at_id"))
        batch_op.drop_index(batch_op.f("ix_events_organizer_id_starts_at_id"))
        batch_op.drop_index(batch_op.f("ix_events_category"))

    op.drop_table("events")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_email"))

    op.drop_table("users")
    op.drop_table("outbox")
