"""The composition root: the one place that knows concrete adapters.

`build_runtime(settings, overrides)` wires every adapter the settings name into `Services`,
the operators' `Administration`, the after-commit `Dispatcher` and this process's Socket.IO
server. `mov serve` (through `mov_api.app.create_app`), `mov worker`, every CLI command, the
benchmarks and the tests all build their runtime here; tests and demos put their own clock,
hasher, stores or mailer in through `Overrides`, never by reaching into a built runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from email.utils import parseaddr
from typing import TYPE_CHECKING

import socketio
from attrs import define, field, frozen
from sqlalchemy.engine import make_url

from mov_adapters.clock import SystemClock
from mov_adapters.live.rooms import SocketRooms, socket_server, user_room, watchers_of
from mov_adapters.logs import configure_logging
from mov_adapters.memory.cache import MemoryCache
from mov_adapters.memory.chat import MemoryChatStore
from mov_adapters.memory.database import MemoryDatabase
from mov_adapters.memory.notifications import MemoryNotificationStore
from mov_adapters.memory.presence import MemoryPresence
from mov_adapters.memory.rate_limit import MemoryRateLimiter
from mov_adapters.memory.unit_of_work import MemoryUnitOfWork
from mov_adapters.security.passwords import PasslibHasher
from mov_adapters.security.tokens import JwtTokenService
from mov_adapters.settings import Settings, SettingsError
from mov_adapters.sql import migrate
from mov_adapters.sql.chat import SqlChatStore
from mov_adapters.sql.engine import make_engine
from mov_adapters.sql.quick_enroll import SqlQuickEnrollment
from mov_adapters.sql.quick_reads import SqlQuickReads
from mov_adapters.sql.unit_of_work import SqlDatabase
from mov_core.domain.notifications import RetryPolicy
from mov_core.ports.chat import ChatStore
from mov_core.ports.clock import Clock
from mov_core.ports.infra import (
    Broadcaster,
    Cache,
    Calendar,
    MailComposer,
    Mailer,
    Presence,
    RateLimiter,
    UnsubscribeLinks,
)
from mov_core.ports.notifications import NotificationStore
from mov_core.ports.persistence import QuickEnrollment, QuickReads, UnitOfWork
from mov_core.ports.security import PasswordHasher
from mov_core.services.admin import Administration
from mov_core.services.bundle import Services
from mov_core.services.chat import CheckedPosting
from mov_core.services.effects import Dispatcher, ReadVersions, RoomExits, SeatPushes
from mov_core.services.effects import worker_wake_up as _worker_wake_up
from mov_core.services.lifecycle_clock import ClockRules
from mov_core.services.notify import OnNotified
from mov_core.services.sessions import Sessions
from mov_core.services.worker import FaultHook, Worker, WorkerSettings

if TYPE_CHECKING:
    from mov_adapters.mongo.client import MongoConnection

__all__ = [  # what driving adapters may use of the adapters
    "MEMORY_URL", "HealthCheck", "Overrides", "Runtime", "build_runtime", "configure_logging",
    "describe_database", "open_database", "schema_status", "upgrade_schema", "user_room",
    "watchers_of",
]  # fmt: skip

logger = logging.getLogger("mov.bootstrap")

MEMORY_URL = "memory://"
"""`MOV_DATABASE_URL=memory://`: everything in this process's memory (demos, tests)."""
READ_CACHE_ENTRIES = 2_000
OWN_READS = timedelta(seconds=3)
"""How long a process's own read cache serves an entry: another process's changes (the CLI's)
are not heard of, so they show within this."""
SHARED_READS = timedelta(seconds=60)
"""The same in Redis, which every process's changes reach: only a change made while Redis
was down can outlive its invalidation, and not for longer than this."""

HealthCheck = Callable[[], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]


@frozen
class Overrides:
    """What a test, a benchmark or a demo puts in place of what the settings would build."""

    clock: Clock | None = None
    hasher: PasswordHasher | None = None
    memory: MemoryDatabase | None = None
    """The memory database behind `MOV_DATABASE_URL=memory://` (to share one, or look in)."""
    chat_store: ChatStore | None = None
    notification_store: NotificationStore | None = None
    mailer: Mailer | None = None
    strict_effects: bool = False
    """After-commit effects that fail raise instead of being logged (tests)."""


@define
class Runtime:
    """Everything one process uses, built once by `build_runtime`; `aclose()` releases it.

    Driving adapters take from it what they use, once, at start-up."""

    settings: Settings
    services: Services
    admin: Administration
    effects: Dispatcher
    """Told what every commit made true; its subscribers are the after-commit effects."""
    reads: ReadVersions
    """The versions of cached public reads (in `reads.cache`), renewed by `effects`."""
    rate_limiter: RateLimiter
    cache: Cache
    """Short-lived records of this deployment (idempotency keys): Redis's, or this process's."""
    presence: Presence
    """Who is online in chat rooms: in-process, or in Redis so every process agrees."""
    sockets: socketio.AsyncServer
    """This process's Socket.IO server: `mov serve` serves it, other processes only emit."""
    broadcaster: Broadcaster
    mailer: Mailer
    """Where e-mails go: SMTP (`MOV_SMTP_URL`), else .eml files in the data folder."""
    calendar: Calendar
    unsubscribe: UnsubscribeLinks
    composer: MailComposer
    checks: Mapping[str, HealthCheck]
    """Dependency probes for `/health`: each raises when its dependency is down."""
    caught_up: Dispatcher
    """Told the changes a worker drains, whichever process recorded them: what this process
    keeps of them (read versions, sessions) catches up with writes made elsewhere."""
    gauges: Mapping[str, Callable[[], float]]
    """Readings for `/metrics`, taken when scraped (the database pool's connections in use)."""
    _starters: list[Hook] = field(factory=list)
    _closers: list[Hook] = field(factory=list)

    def worker_settings(self) -> WorkerSettings:
        settings = self.settings
        return WorkerSettings(
            tick_interval=settings.clock_interval.total_seconds(),
            retry=RetryPolicy(max_attempts=settings.mail_max_attempts),
            mail_lease=settings.mail_lease,
            outbox_lease=settings.outbox_lease,
            clock_rules=ClockRules(
                reminder_lead=settings.reminder_lead,
                default_duration=settings.default_event_duration,
            ),
        )

    def worker(
        self,
        *,
        on_notified: OnNotified | None = None,
        fault: FaultHook | None = None,
        settings: WorkerSettings | None = None,
    ) -> Worker:
        """A worker over this runtime's stores, mailer and clock (run it with `run()`), woken
        by this process's commits. New notifications are pushed to their users' sockets."""
        worker = Worker(
            uow=self.services.uow,
            store=self.services.notification_store,
            clock=self.services.clock,
            mailer=self.mailer,
            composer=self.composer,
            settings=settings or self.worker_settings(),
            on_notified=on_notified or self.broadcaster.notification,
            on_drained=self.caught_up,
            fault=fault,
        )
        self.effects.subscribe(_worker_wake_up(worker))
        return worker

    @asynccontextmanager
    async def outbox_wakeups(
        self, wake: Callable[[], None], nudge: Callable[[], None] | None = None
    ) -> AsyncIterator[None]:
        """While open, `wake` is called whenever any process records changes (PostgreSQL's
        LISTEN/NOTIFY), or `nudge` when given for chat messages; elsewhere a no-op: the
        worker's poll and this process's commits remain."""
        url = self.settings.database_url
        if url == MEMORY_URL or make_url(url).get_backend_name() != "postgresql":
            yield
            return
        from mov_adapters.sql.listen import wake_on_outbox  # noqa: PLC0415 - PostgreSQL only

        listener = asyncio.create_task(
            wake_on_outbox(url, wake, nudge=nudge), name="mov-outbox-listen"
        )
        try:
            yield
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def start(self) -> None:
        """Work to do once before serving (indexes of document stores)."""
        for start in self._starters:
            await start()

    async def aclose(self) -> None:
        for close in reversed(self._closers):
            await close()


@define
class _Parts:
    """What the builder gathers before the runtime exists."""

    checks: dict[str, HealthCheck] = field(factory=dict)
    gauges: dict[str, Callable[[], float]] = field(factory=dict)
    starters: list[Hook] = field(factory=list)
    closers: list[Hook] = field(factory=list)
    quick_enrollment: QuickEnrollment | None = None
    """PostgreSQL's one-statement enrollment (elsewhere every enrollment takes its unit of work)."""
    quick_reads: QuickReads | None = None
    """PostgreSQL's one-statement reads."""


def build_runtime(settings: Settings, overrides: Overrides = Overrides()) -> Runtime:
    """Wire the configured adapters: the SQL (or memory) database and stores; Redis for limits,
    caches, presence and Socket.IO fan-out when configured, else in-process ones."""
    clock = overrides.clock or SystemClock()
    effects = Dispatcher(strict=overrides.strict_effects)
    parts = _Parts()
    uow, chat_store, notification_store = _storage(settings, overrides, effects, parts)
    # a store in the events' database checks and records in the message's own transaction
    posting = (
        chat_store if isinstance(chat_store, SqlChatStore) else CheckedPosting(chat_store, uow)
    )
    hasher = overrides.hasher or _hasher(settings)
    parts.closers.append(hasher.aclose)
    services = Services(
        uow=uow,
        clock=clock,
        hasher=hasher,
        tokens=JwtTokenService(settings.token_secret(), ttl=settings.jwt_ttl),
        chat_store=chat_store,
        chat_posting=posting,
        notification_store=notification_store,
        sessions=(sessions := Sessions(uow, clock, reads=parts.quick_reads)),
        quick_enrollment=parts.quick_enrollment,
        quick_reads=parts.quick_reads,
    )
    rate_limiter, cache, read_cache, presence = _shared_state(settings, clock, parts)
    sockets = socket_server(redis_url=settings.redis_url, cors_origins=settings.cors_origins)
    broadcaster = SocketRooms(sockets, presence)
    # Redis hears of every process's changes: its entries need no short life to heal
    reads = ReadVersions(read_cache, lifetime=SHARED_READS if settings.redis_url else OWN_READS)
    for subscriber in (reads, sessions, SeatPushes(broadcaster, presence), RoomExits(broadcaster)):
        effects.subscribe(subscriber)
    mailer = overrides.mailer or _mailer(settings)
    if settings.smtp_url:
        parts.checks["mail"] = mailer.ping
    calendar, unsubscribe = _calendar(settings), _unsubscribe_links(settings)
    return Runtime(
        settings, services, Administration(uow, clock, hasher), effects, reads, rate_limiter,
        cache, presence, sockets, broadcaster, mailer, calendar, unsubscribe,
        _composer(settings, calendar, unsubscribe), parts.checks,
        Dispatcher([reads, sessions], strict=overrides.strict_effects), parts.gauges,
        parts.starters, parts.closers,
    )  # fmt: skip


def _storage(
    settings: Settings, overrides: Overrides, effects: Dispatcher, parts: _Parts
) -> tuple[Callable[[], UnitOfWork], ChatStore, NotificationStore]:
    """Units of work and the chat and notification stores, each committing into `effects`."""
    mongo = _mongo(settings, parts)
    if settings.database_url == MEMORY_URL:
        db = overrides.memory if overrides.memory is not None else MemoryDatabase()
        parts.checks["database"] = _always_up

        def uow() -> UnitOfWork:
            return MemoryUnitOfWork(db, effects)

        chat = overrides.chat_store or _chat_store(settings, None, mongo)
        notifications = overrides.notification_store or _notification_store(settings, None, mongo)
        return uow, chat, notifications
    engine = make_engine(settings.database_url, settings.pool)
    database = SqlDatabase.for_engine(
        engine, per_event=settings.per_event_concurrency, after_commit=effects
    )
    parts.checks["database"] = database.ping
    parts.gauges["db_pool_in_use"] = engine.pool.checkedout  # type: ignore[attr-defined]
    parts.gauges["db_pool_size"] = engine.pool.size  # type: ignore[attr-defined]
    parts.closers.append(database.dispose)
    parts.quick_enrollment = SqlQuickEnrollment(database)
    if engine.dialect.name == "postgresql":
        parts.quick_reads = SqlQuickReads(database)
    chat = overrides.chat_store or _chat_store(settings, database, mongo)
    notifications = overrides.notification_store or _notification_store(settings, database, mongo)
    return database.unit_of_work, chat, notifications


async def _always_up() -> None:
    return None


def _shared_state(
    settings: Settings, clock: Clock, parts: _Parts
) -> tuple[RateLimiter, Cache, Cache, Presence]:
    """Rate limits, caches and presence: in Redis (exact and shared across processes) when
    configured, else this process's. The read cache is a memory cache of its own, so a burst
    of cached pages never evicts an idempotency record; Redis expires entries itself. With
    Redis, the read cache keeps this process's copies of what it read (a hit costs no round
    trip), each dropped as soon as another process changes it."""
    if not settings.redis_url:
        reads = MemoryCache(clock, max_entries=READ_CACHE_ENTRIES)
        return MemoryRateLimiter(clock), MemoryCache(clock), reads, MemoryPresence()
    from mov_adapters.redis.client import RedisConnection  # noqa: PLC0415 - optional dependency

    redis = RedisConnection.from_url(settings.redis_url, clock=clock)
    parts.checks["redis"] = redis.ping
    parts.closers.append(redis.aclose)
    near = redis.near_cache()
    parts.starters.append(near.start)
    parts.closers.append(near.aclose)
    return redis.rate_limiter(), redis.cache(), near, redis.presence()


def open_database(settings: Settings) -> SqlDatabase:
    """The configured SQL database (not yet connected: connections open on first use)."""
    engine = make_engine(settings.database_url, settings.pool)
    return SqlDatabase.for_engine(engine, per_event=settings.per_event_concurrency)


def upgrade_schema(settings: Settings) -> str | None:
    """Apply every migration; returns the revision the database is now at."""
    if settings.database_url == MEMORY_URL:
        return None
    migrate.upgrade(settings.database_url)
    return migrate.current(settings.database_url)


def database_backend(settings: Settings) -> str:
    """The database engine's name: "memory", "sqlite" or "postgresql"."""
    if settings.database_url == MEMORY_URL:
        return "memory"
    return make_url(settings.database_url).get_backend_name()


def describe_database(settings: Settings) -> str:
    """The database URL with any password masked, for messages and logs."""
    if settings.database_url == MEMORY_URL:
        return "memory (nothing kept after the process ends)"
    return make_url(settings.database_url).render_as_string(hide_password=True)


def schema_status(settings: Settings) -> tuple[str | None, str | None]:
    """(the database's revision, the code's latest revision)."""
    return migrate.current(settings.database_url), migrate.head()


def _mongo(settings: Settings, parts: _Parts) -> MongoConnection | None:
    """One MongoDB client, when a store is configured to use it."""
    if "mongo" not in {settings.chat_store, settings.notification_store}:
        return None
    if not settings.mongo_url:
        raise SettingsError(
            "MOV_CHAT_STORE=mongo or MOV_NOTIFICATION_STORE=mongo needs MOV_MONGO_URL"
        )
    from mov_adapters.mongo.client import MongoConnection  # noqa: PLC0415 - optional backend

    mongo = MongoConnection.from_url(settings.mongo_url)
    parts.checks["mongo"] = mongo.ping
    parts.starters.append(mongo.ensure_indexes)
    parts.closers.append(mongo.aclose)
    return mongo


def _chat_store(
    settings: Settings, database: SqlDatabase | None, mongo: MongoConnection | None
) -> ChatStore:
    """`MOV_CHAT_STORE`: the SQL database (default), MongoDB (`MOV_MONGO_URL`), or memory."""
    if settings.chat_store == "mongo" and mongo is not None:
        return mongo.chat_store()
    if settings.chat_store == "memory" or database is None:
        return MemoryChatStore()
    return SqlChatStore(database)


def _notification_store(
    settings: Settings, database: SqlDatabase | None, mongo: MongoConnection | None
) -> NotificationStore:
    """`MOV_NOTIFICATION_STORE`: the SQL database (default), MongoDB, or memory."""
    if settings.notification_store == "mongo" and mongo is not None:
        return mongo.notification_store()
    if settings.notification_store == "memory" or database is None:
        return MemoryNotificationStore()
    from mov_adapters.sql.notifications import SqlNotificationStore  # noqa: PLC0415

    return SqlNotificationStore(database)


def _hasher(settings: Settings) -> PasswordHasher:
    if settings.insecure_fast_hashing:
        logger.warning("MOV_INSECURE_FAST_HASHING is on: password hashes are cheap to crack")
        return PasslibHasher.fast()
    return PasslibHasher()


def _mailer(settings: Settings) -> Mailer:
    """SMTP when `MOV_SMTP_URL` is set, else .eml files under `<data dir>/outbox-mail/`."""
    from mov_adapters.mail.files import FileMailer  # noqa: PLC0415
    from mov_adapters.mail.smtp import SmtpMailer  # noqa: PLC0415

    if settings.smtp_url:
        try:
            return SmtpMailer(settings.smtp_url, from_address=settings.mail_from)
        except ValueError as error:
            raise SettingsError(f"MOV_SMTP_URL: {error}") from None
    return FileMailer(settings.mail_folder, from_address=settings.mail_from)


def _mail_domain(settings: Settings) -> str:
    """The domain of `Message-ID`s and calendar UIDs: that of the sender address."""
    _, address = parseaddr(settings.mail_from)
    return address.rpartition("@")[2] or "mov.localhost"


def _calendar(settings: Settings) -> Calendar:
    from mov_adapters.mail.ics import IcsCalendar  # noqa: PLC0415

    return IcsCalendar(_mail_domain(settings))


def _unsubscribe_links(settings: Settings) -> UnsubscribeLinks:
    from mov_adapters.security.unsubscribe import SignedUnsubscribeLinks  # noqa: PLC0415

    return SignedUnsubscribeLinks(settings.token_secret(), settings.public_url)


def _composer(settings: Settings, calendar: Calendar, links: UnsubscribeLinks) -> MailComposer:
    from mov_adapters.mail.templates import MailTemplates  # noqa: PLC0415

    return MailTemplates(calendar, links, _mail_domain(settings), app_url=settings.public_url)
