"""The composition root: the one place that knows concrete adapters and wires `Services`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from attrs import Factory, define, field
from sqlalchemy.engine import make_url

from mov_adapters.clock import SystemClock
from mov_adapters.memory.cache import MemoryCache
from mov_adapters.memory.chat import MemoryChatStore
from mov_adapters.memory.database import MemoryDatabase
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
from mov_core.ports.chat import ChatStore
from mov_core.ports.clock import Clock
from mov_core.ports.infra import Cache, Presence, RateLimiter
from mov_core.ports.security import PasswordHasher, TokenService
from mov_core.services.admin import Administration
from mov_core.services.bundle import Services


def memory_services(  # noqa: PLR0913 - each optional part replaces a default (tests, demos)
    *,
    token_secret: str | bytes,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    tokens: TokenService | None = None,
    database: MemoryDatabase | None = None,
    chat: ChatStore | None = None,
) -> Services:
    """Services over the in-memory adapters: no server, nothing kept after the process ends."""
    db = database if database is not None else MemoryDatabase()
    return Services(
        uow=lambda: MemoryUnitOfWork(db),
        clock=clock or SystemClock(),
        hasher=hasher or PasslibHasher(),
        tokens=tokens or JwtTokenService(token_secret),
        chat_store=chat if chat is not None else MemoryChatStore(),
    )


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
    chat_store, extra = _chat_store(settings, database)
    services = Services(
        uow=database.unit_of_work,
        clock=clock,
        hasher=hasher or PasslibHasher(),
        tokens=tokens,
        chat_store=chat_store,
    )
    runtime = Runtime(
        settings, services, MemoryRateLimiter(clock), MemoryCache(clock),
        checks={"database": database.ping},
    )  # fmt: skip
    runtime._closers.append(database.dispose)  # noqa: SLF001 - the builder owns the runtime
    if extra is not None:
        extra(runtime)
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


def _chat_store(
    settings: Settings, database: SqlDatabase
) -> tuple[ChatStore, Callable[[Runtime], None] | None]:
    """`MOV_CHAT_STORE`: the SQL database (default), MongoDB (`MOV_MONGO_URL`), or memory."""
    if settings.chat_store == "memory":
        return MemoryChatStore(), None
    if settings.chat_store == "sql":
        return SqlChatStore(database), None
    if not settings.mongo_url:
        raise SettingsError("MOV_CHAT_STORE=mongo needs MOV_MONGO_URL")
    from mov_adapters.mongo.client import MongoConnection  # noqa: PLC0415 - optional backend

    mongo = MongoConnection.from_url(settings.mongo_url)
    store = mongo.chat_store()

    def attach(runtime: Runtime) -> None:
        runtime.checks["mongo"] = mongo.ping
        runtime._starters.append(store.ensure_indexes)  # noqa: SLF001
        runtime._closers.append(mongo.aclose)  # noqa: SLF001

    return store, attach
