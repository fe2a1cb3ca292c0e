"""The schema. The database guards the rules too: unique e-mail, one active enrollment per
(event, user), enrolled ≤ capacity, valid statuses."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)

from mov_core.domain.enrollments import EnrollmentStatus
from mov_core.domain.events import Visibility
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.notifications import Channel, DeliveryStatus
from mov_core.domain.users import Role


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which keeps naive text) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetimes are refused: pass UTC-aware values"
            raise ValueError(msg)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _one_of(column: str, values: list[str]) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=f"{column}_valid")


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit identities.
Id = BigInteger().with_variant(Integer(), "sqlite")

ACTIVE = (EnrollmentStatus.ENROLLED.value, EnrollmentStatus.WAITLISTED.value)
_ACTIVE_SQL = "status IN ('ENROLLED', 'WAITLISTED')"

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False),
    Column("role", String(20), nullable=False),
    Column("first_name", String(100)),
    Column("last_name", String(100)),
    Column("password_hash", String(255), nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # rises at each password change: tokens carrying an older one are refused
    Column("token_version", Integer, nullable=False, server_default="0"),
    _one_of("role", [r.value for r in Role]),
    CheckConstraint("email = lower(email)", name="email_lower_case"),
    Index(None, "email", unique=True),
)

revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("token_id", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index(None, "expires_at"),  # forgetting the expired ones
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("organizer_id", Id, ForeignKey("users.id"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime),
    Column("location", String(255), nullable=False),
    Column("category", String(50), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("visibility", String(10), nullable=False),
    Column("waitlist_enabled", Boolean, nullable=False),
    Column("status", String(20), nullable=False),
    Column("enrolled_count", Integer, nullable=False, server_default=text("0")),
    Column("waitlist_count", Integer, nullable=False, server_default=text("0")),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # the start time whose 24 h reminder was queued: a moved event is reminded again
    Column("reminded_for", UtcDateTime),
    # what opens a PRIVATE event to non-members (22 URL-safe characters; NULL when PUBLIC)
    Column("invite_code", String(64)),
    _one_of("status", [s.value for s in EventStatus]),
    _one_of("visibility", [v.value for v in Visibility]),
    CheckConstraint("capacity BETWEEN 1 AND 100000", name="capacity_range"),
    CheckConstraint(
        "enrolled_count >= 0 AND enrolled_count <= capacity", name="enrolled_within_capacity"
    ),
    CheckConstraint("waitlist_count >= 0", name="waitlist_count_positive"),
    CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="ends_after_start"),
    Index(None, "starts_at", "id"),
    Index(None, "organizer_id", "starts_at", "id"),
    Index(None, "status", "starts_at", "id"),
    Index(None, "category"),
    # Substring search (ILIKE '%q%') on PostgreSQL uses these trigram indexes.
    *(
        Index(
            f"ix_events_{name}_trgm",
            name,
            postgresql_using="gin",
            postgresql_ops={name: "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql")
        for name in ("title", "description", "location")
    ),
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    _one_of("status", [s.value for s in EnrollmentStatus]),
    # At most one active (enrolled or waitlisted) enrollment per person and event.
    Index(
        "uq_enrollments_active",
        "event_id",
        "user_id",
        unique=True,
        sqlite_where=text(_ACTIVE_SQL),
        postgresql_where=text(_ACTIVE_SQL),
    ),
    # Waitlist order and positions: ids are assigned under the event's lock, in arrival order.
    Index(None, "event_id", "status", "id"),
    Index(None, "user_id", "created_at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("type", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("leased_until", UtcDateTime),
    # Acknowledged records are deleted; without AUTOINCREMENT SQLite would hand their ids out
    # again, and a record id must name one change forever (it keys notification dedupe).
    sqlite_autoincrement=True,
)

chat_rooms = Table(
    "chat_rooms",
    metadata,
    Column("event_id", Id, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    # The room's counter: incremented under its row lock, so seq has no gaps nor repeats.
    Column("last_seq", Integer, nullable=False),
)

chat_messages = Table(
    "chat_messages",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("event_id", Id, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("sender_id", Id, ForeignKey("users.id"), nullable=False),
    Column("body", Text, nullable=False),
    Column("client_msg_id", String(100)),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "event_id", "seq", unique=True),
    # A resend of the same client message id by the same sender is the same message.
    Index(
        "uq_chat_messages_client_msg",
        "event_id",
        "sender_id",
        "client_msg_id",
        unique=True,
        sqlite_where=text("client_msg_id IS NOT NULL"),
        postgresql_where=text("client_msg_id IS NOT NULL"),
    ),
)

# A notification outlives its event (no foreign key: a deleted event's id stays meaningful for
# dedupe and chat coalescing, and fan-out inserts take no lock on a busy event row).
_UNREAD_IN_APP_SQLITE = "in_app = 1 AND read_at IS NULL"
_UNREAD_IN_APP_POSTGRES = "in_app AND read_at IS NULL"

notifications = Table(
    "notifications",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("type", String(40), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("event_id", Id),
    Column("created_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime),
    Column("in_app", Boolean, nullable=False),
    Column("dedupe_key", String(200), nullable=False),
    # `add` stores once per key: INSERT … ON CONFLICT (dedupe_key) DO NOTHING.
    Index(None, "dedupe_key", unique=True),
    # The in-app list's keyset order.
    Index(None, "user_id", "created_at", "id"),
    # The unread badge and the unread-only list, which stay small however much was read.
    Index(
        "ix_notifications_unread",
        "user_id",
        "created_at",
        "id",
        sqlite_where=text(_UNREAD_IN_APP_SQLITE),
        postgresql_where=text(_UNREAD_IN_APP_POSTGRES),
    ),
    # `latest`: what chat coalescing looks at.
    Index(None, "user_id", "event_id", "type", "created_at", "id"),
)

# No foreign key to `notifications` (migration 0007): the store writes deliveries only with
# their notification, in its transaction, and nothing deletes notifications. The key's check
# cost a lookup and a row lock per delivery, and on PostgreSQL a plan cached while the table was
# nearly empty scanned all of it for each, until autovacuum analyzed it.
notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("notification_id", String(32), primary_key=True),
    Column("channel", String(10), primary_key=True),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("next_attempt_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    _one_of("channel", [c.value for c in Channel]),
    _one_of("status", [s.value for s in DeliveryStatus]),
    CheckConstraint("attempts >= 0", name="attempts_positive"),
    # Claiming: PENDING ones in the claim order, read off the index with no sort however long
    # the backlog (after a mail outage, say).
    Index(
        "ix_notification_deliveries_claim",
        "status",
        "next_attempt_at",
        "created_at",
        "notification_id",
        "channel",
    ),
)

notification_preferences = Table(
    "notification_preferences",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("type", String(40), primary_key=True),
    Column("channel", String(10), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    _one_of("channel", [c.value for c in Channel]),
)
