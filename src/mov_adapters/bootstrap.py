"""The composition root: the one place that knows concrete adapters and wires `Services`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from email.utils import parseaddr
from typing import TYPE_CHECKING

from attrs import Factory, define, field
from sqlalchemy.engine import make_url

from mov_adapters.clock import SystemClock
from mov_adapters.memory.cache import MemoryCache
from mov_adapters.memory.chat import MemoryChatStore
from mov_adapters.memory.database import MemoryDatabase
from mov_adapters.memory.mail import MemoryMailer
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
from mov_adapters.sql.unit_of_work import SqlDatabase
from mov_core.domain.notifications import RetryPolicy
from mov_core.ports.chat import ChatStore
from mov_core.ports.clock import Clock
from mov_core.ports.infra import (
    Cache,
    Calendar,
    MailComposer,
    Mailer,
    Presence,
    RateLimiter,
    UnsubscribeLinks,
)
from mov_core.ports.notifications import NotificationStore
from mov_core.ports.security import PasswordHasher, TokenService
from mov_core.services.admin import Administration
from mov_core.services.bundle import Services
from mov_core.services.lifecycle_clock import ClockRules
from mov_core.services.notify import OnNotified
from mov_core.services.worker import FaultHook, Worker, WorkerSettings

if TYPE_CHECKING:
    from mov_adapters.mongo.client import MongoConnection


def memory_services(  # noqa: PLR0913 - each optional part replaces a default (tests, demos)
    *,
    token_secret: str | bytes,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    tokens: TokenService | None = None,
    database: MemoryDatabase | None = None,
    chat: ChatStore | None = None,
    notifications: NotificationStore | None = None,
) -> Services:
    """Services over the in-memory adapters: no server, nothing kept after the process ends."""
    db = database if database is not None else MemoryDatabase()
    return Services(
        uow=lambda: MemoryUnitOfWork(db),
        clock=clock or SystemClock(),
        hasher=hasher or PasslibHasher(),
        tokens=tokens or JwtTokenService(token_secret),
        chat_store=chat if chat is not None else MemoryChatStore(),
        notification_store=notifications if notifications is not None
        else MemoryNotificationStore(),
    )  # fmt: skip


def sql_services(
    database: SqlDatabase,
    *,
    token_secret: str | bytes,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
) -> Services:
    """Services over a SQL database (SQLite or PostgreSQL) whose schema is migrated."""
    return Services(
        uow=database.unit_of_work,
        clock=clock or SystemClock(),
        hasher=hasher or PasslibHasher(),
        tokens=JwtTokenService(token_secret),
        chat_store=SqlChatStore(database),
        notification_store=_sql_notification_store(database),
    )


def open_database(settings: Settings) -> SqlDatabase:
    """The configured SQL database (not yet connected: connections open on first use)."""
    engine = make_engine(settings.database_url, settings.pool)
    return SqlDatabase.for_engine(engine, per_event=settings.per_event_concurrency)


def upgrade_schema(settings: Settings) -> str | None:
    """Apply every migration; returns the revision the database is now at."""
    migrate.upgrade(settings.database_url)
    return migrate.current(settings.database_url)


def describe_database(settings: Settings) -> str:
    """The database URL with any password masked, for messages and logs."""
    return make_url(settings.database_url).render_as_string(hide_password=True)


def schema_status(settings: Settings) -> tuple[str | None, str | None]:
    """(the database's revision, the code's latest revision)."""
    return migrate.current(settings.database_url), migrate.head()


HealthCheck = Callable[[], Awaitable[None]]
READ_CACHE_ENTRIES = 2_000


@define
class Runtime:
    """Everything a running process needs, built once from `Settings`; `aclose()` releases it."""

    settings: Settings
    services: Services
    rate_limiter: RateLimiter
    cache: Cache
    checks: dict[str, HealthCheck] = field(factory=dict)
    presence: Presence = field(factory=MemoryPresence)
    """Who is online in chat rooms: in-process, or in Redis so every process agrees."""
    """Dependency probes for `/health`: each raises when its dependency is down."""
    _closers: list[Callable[[], Awaitable[None]]] = field(factory=list)
    admin: Administration = field(
        default=Factory(
            lambda self: Administration(
                self.services.uow, self.services.clock, self.services.hasher
            ),
            takes_self=True,
        )
    )
    """The operators' use cases, over the same units of work, clock and hasher as `services`."""
    read_cache: Cache = field(
        default=Factory(
            lambda self: MemoryCache(self.services.clock, max_entries=READ_CACHE_ENTRIES),
            takes_self=True,
        )
    )
    """Where `mov_api.read_cache` keeps public reads: a memory cache of its own by default (so
    a burst of cached pages never evicts an idempotency record from `cache`); Redis's, shared by
    every process, when Redis is configured."""

    _starters: list[Callable[[], Awaitable[None]]] = field(factory=list)

    mailer: Mailer = field(factory=MemoryMailer)
    """Where e-mails go: SMTP (`MOV_SMTP_URL`), else .eml files in the data folder."""
    calendar: Calendar = field(
        default=Factory(lambda self: _calendar(self.settings), takes_self=True)
    )
    unsubscribe: UnsubscribeLinks = field(
        default=Factory(lambda self: _unsubscribe_links(self.settings), takes_self=True)
    )
    composer: MailComposer = field(
        default=Factory(
            lambda self: _composer(self.settings, self.calendar, self.unsubscribe),
            takes_self=True,
        )
    )

    wakers: list[Callable[[], None]] = field(factory=list)
    """Told after every write request (the in-process worker looks at the outbox at once)."""

    nudgers: list[Callable[[], None]] = field(factory=list)
    """Told after every chat message posted here (the in-process worker looks soon)."""

    def wake_workers(self) -> None:
        for wake in self.wakers:
            wake()

    def nudge_workers(self) -> None:
        for nudge in self.nudgers:
            nudge()

    @asynccontextmanager
    async def outbox_wakeups(
        self, wake: Callable[[], None], nudge: Callable[[], None] | None = None
    ) -> AsyncIterator[None]:
        """While open, `wake` is called whenever any process records changes (PostgreSQL's
        LISTEN/NOTIFY), or `nudge` when given for chat messages; elsewhere a no-op: the
        worker's poll and in-process wakes remain."""
        url = self.settings.database_url
        if make_url(url).get_backend_name() != "postgresql":
            yield
            return
        from mov_adapters.sql.listen import wake_on_outbox  # noqa: PLC0415

        listener = asyncio.create_task(
            wake_on_outbox(url, wake, nudge=nudge), name="mov-outbox-listen"
        )
        try:
            yield
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    def worker_settings(self) -> WorkerSettings:
        settings = self.settings
        return WorkerSettings(
            tick_interval=settings.clock_interval.total_seconds(),
            retry=RetryPolicy(max_attempts=settings.mail_max_attempts),
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
        """A worker over this runtime's stores, mailer and clock (run it with `run()`)."""
        return Worker(
            uow=self.services.uow,
            store=self.services.notification_store,
            clock=self.services.clock,
            mailer=self.mailer,
            composer=self.composer,
            settings=settings or self.worker_settings(),
            on_notified=on_notified,
            fault=fault,
        )

    async def start(self) -> None:
        """Work to do once before serving (indexes of document stores)."""
        for start in self._starters:
            await start()

    async def aclose(self) -> None:
        for close in reversed(self._closers):
            await close()


def build_runtime(
    settings: Settings, *, clock: Clock | None = None, hasher: PasswordHasher | None = None
) -> Runtime:
    """Wire the configured adapters: SQL database; Redis for limits and cache when configured,
    else in-process ones."""
    clock = clock or SystemClock()
    database = open_database(settings)
    tokens = JwtTokenService(settings.token_secret(), ttl=settings.jwt_ttl)
    mongo = _mongo(settings)
    chat_store = _chat_store(settings, database, mongo)
    notification_store = _notification_store(settings, database, mongo)
    services = Services(
        uow=database.unit_of_work,
        clock=clock,
        hasher=hasher or PasslibHasher(),
        tokens=tokens,
        chat_store=chat_store,
        notification_store=notification_store,
    )
    runtime = Runtime(
        settings, services, MemoryRateLimiter(clock), MemoryCache(clock),
        checks={"database": database.ping}, mailer=_mailer(settings),
    )  # fmt: skip
    runtime._closers.append(database.dispose)  # noqa: SLF001 - the builder owns the runtime
    if settings.smtp_url:
        runtime.checks["mail"] = runtime.mailer.ping
    if mongo is not None:
        runtime.checks["mongo"] = mongo.ping
        for store in (chat_store, notification_store):
            ensure_indexes = getattr(store, "ensure_indexes", None)
            if ensure_indexes is not None:
                runtime._starters.append(ensure_indexes)  # noqa: SLF001
        runtime._closers.append(mongo.aclose)  # noqa: SLF001
    if settings.redis_url:
        _use_redis(runtime, settings.redis_url)
    return runtime


def _use_redis(runtime: Runtime, url: str) -> None:
    """Shared rate limits (exact across processes) and cache in Redis."""
    from mov_adapters.redis.client import RedisConnection  # noqa: PLC0415 - optional dependency

    redis = RedisConnection.from_url(url)
    runtime.rate_limiter = redis.rate_limiter()
    runtime.cache = redis.cache()
    runtime.read_cache = runtime.cache  # Redis expires entries itself: nothing to evict
    runtime.presence = redis.presence()
    runtime.checks["redis"] = redis.ping
    runtime._closers.append(redis.aclose)  # noqa: SLF001


def _mongo(settings: Settings) -> MongoConnection | None:
    """One MongoDB client, when a store is configured to use it."""
    if "mongo" not in {settings.chat_store, settings.notification_store}:
        return None
    if not settings.mongo_url:
        raise SettingsError(
            "MOV_CHAT_STORE=mongo or MOV_NOTIFICATION_STORE=mongo needs MOV_MONGO_URL"
        )
    from mov_adapters.mongo.client import MongoConnection  # noqa: PLC0415 - optional backend

    return MongoConnection.from_url(settings.mongo_url)


def _chat_store(
    settings: Settings, database: SqlDatabase, mongo: MongoConnection | None
) -> ChatStore:
    """`MOV_CHAT_STORE`: the SQL database (default), MongoDB (`MOV_MONGO_URL`), or memory."""
    if settings.chat_store == "memory":
        return MemoryChatStore()
    if settings.chat_store == "sql" or mongo is None:
        return SqlChatStore(database)
    return mongo.chat_store()


def _notification_store(
    settings: Settings, database: SqlDatabase, mongo: MongoConnection | None
) -> NotificationStore:
    """`MOV_NOTIFICATION_STORE`: the SQL database (default), MongoDB, or memory."""
    if settings.notification_store == "memory":
        return MemoryNotificationStore()
    if settings.notification_store == "sql" or mongo is None:
        return _sql_notification_store(database)
    return mongo.notification_store()


def _sql_notification_store(database: SqlDatabase) -> NotificationStore:
    from mov_adapters.sql.notifications import SqlNotificationStore  # noqa: PLC0415

    return SqlNotificationStore(database)


def _mailer(settings: Settings) -> Mailer:
    """SMTP when `MOV_SMTP_URL` is set, else .eml files under `<data dir>/outbox-mail/`."""
    from mov_adapters.mail.files import FileMailer  # noqa: PLC0415
    from mov_adapters.mail.smtp import SmtpMailer  # noqa: PLC0415

    if settings.smtp_url:
        try:
            return SmtpMailer.from_url(settings.smtp_url, from_address=settings.mail_from)
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
