"""Engine, unit of work and migrations. The same code runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from storage.sqlite import one_trip_dbapi

if TYPE_CHECKING:
    from alembic.config import Config

T = TypeVar("T")

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x5061726C6579  # "Parley": the advisory lock key for schema upgrades
# The newest migration's revision. A database already there is not handed to Alembic, whose
# import and script loading were about a sixth of a node's start (docs/benchmarks.md); a test
# holds this equal to Alembic's head.
SCHEMA_HEAD = "0004"


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # overwrite deleted content with zeros: an anonymised address or an erased row must not
    # linger in free pages of the file
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config  # imported when a migration runs, not at every start

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


# A pooled server connection unused this long is tried before a unit of work gets it, and
# replaced (with every other pooled one) if the server has dropped it: restarted, failed
# over, or a firewall forgot the idle connection.
PING_AFTER_IDLE = 10.0


def _ping_when_idle(engine: Engine, after: float) -> None:
    """SQLAlchemy's `pool_pre_ping` tries every connection at every checkout: a round trip
    per unit of work, a quarter or more of a whiteboard update's CPU on PostgreSQL
    (docs/benchmarks.md). Only connections idle for `after` seconds are tried here. One
    in use when the server went away fails its unit as unavailable, and SQLAlchemy then
    replaces every connection of the pool."""

    def checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["checked_in"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        since = record.info.get("checked_in")
        if since is None or time.monotonic() - since < after:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise InvalidatePoolError("an idle connection was gone") from exc

    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checkout)


class _Lane:
    """A thread of its own with an SQLite connection of its own, which stays open (taking it
    from a pool and giving it back for each unit cost as much as a statement): a unit runs
    there as a plain function of the connection, in one transaction. sqlite3 wants a
    connection used in the thread that made it, so it is made and closed there."""

    def __init__(self, url: str, echo: bool, name: str) -> None:
        self._url = make_url(url).set(drivername="sqlite")  # the standard library's sqlite3
        self._echo = echo
        self._name = name
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self._thread: ThreadPoolExecutor | None = None

    def submit(self, work: Callable[[Connection], T]) -> asyncio.Future[T]:
        if self._thread is None:
            engine = create_engine(
                self._url, poolclass=StaticPool, hide_parameters=True, echo=self._echo
            )
            event.listen(engine, "connect", _on_sqlite_connect)
            self._engine = engine
            self._thread = ThreadPoolExecutor(1, thread_name_prefix=self._name)
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._thread, self._in_transaction, work)

    def _in_transaction(self, work: Callable[[Connection], T]) -> T:
        conn = self._connection
        if conn is None:  # SQLAlchemy reconnects it if it is lost
            assert self._engine is not None
            conn = self._connection = self._engine.connect()
        with conn.begin():
            return work(conn)

    async def close(self) -> None:
        if self._thread is None:
            return
        thread, self._thread = self._thread, None
        await asyncio.get_running_loop().run_in_executor(thread, self._close)
        thread.shutdown()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


class Database:
    """Owns the engine. `async with db.session() as s:` is one unit of work that commits
    on success and rolls back on error; repositories never commit."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        echo: bool = False,
        ping_after_idle: float = PING_AFTER_IDLE,
    ) -> None:
        # hide_parameters: errors and logs never carry the bound values (names, content)
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if url.startswith("sqlite+aiosqlite:"):
            kwargs["module"] = one_trip_dbapi()  # one thread handoff per statement
        elif not url.startswith("sqlite"):
            kwargs["pool_size"] = pool_size
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _on_sqlite_connect)
        else:
            _ping_when_idle(self.engine.sync_engine, ping_after_idle)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer, and a transaction that read before another one committed
        # cannot write any more ("database is locked", at once, whatever busy_timeout says).
        # So on SQLite the units of work of this process take turns, in order, here; a unit
        # that only reads uses `reading()` and never waits. PostgreSQL needs none of this.
        self._turn = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None
        self._turn_holder: asyncio.Task[Any] | None = None
        # SQLite: `run_writing`'s and `run_reading`'s own connections, each in its own thread
        self._writer = _Lane(url, echo, "sqlite-writer")
        self._reader = _Lane(url, echo, "sqlite-reader")

    @property
    def exclusive(self) -> bool:
        """True when this process is the only server using the database (SQLite, the
        embedded default: one node). Work another process left unfinished in it then died
        with that process; on a shared database (PostgreSQL) another node may be doing it."""
        return self._turn is not None

    @asynccontextmanager
    async def _unit(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def _writer_turn(self) -> AsyncIterator[None]:
        """On SQLite, this process's writers take turns here, in order; a unit opened
        inside another one of the same task goes on in that turn. PostgreSQL: no wait."""
        me = asyncio.current_task()
        if self._turn is None or (me is not None and self._turn_holder is me):
            yield
            return
        async with self._turn:
            self._turn_holder = me
            try:
                yield
            finally:
                self._turn_holder = None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One unit of work that may write. On SQLite it waits for its turn."""
        async with self._writer_turn(), self._unit() as session:
            yield session

    async def run_writing(self, work: Callable[[Connection], T]) -> T:
        """One unit of work that may write, as a plain function of a synchronous Core
        connection; commits if it returns, rolls back if it raises. On SQLite it runs in a
        writer thread of its own, on a connection of its own, in this process's writer
        turn: the whole unit is one trip to that thread, where on the async engine every
        statement, the begin and the commit is a trip of its own through SQLAlchemy's
        asyncio layer, which cost a whiteboard update more CPU than its statements
        (docs/benchmarks.md). On PostgreSQL it runs on the async engine (`run_sync`).
        `work` must not touch the event loop: on SQLite it runs in another thread, and it
        cannot be opened inside another writing unit of the same task (whose open write
        it would wait for, on its own connection, in vain)."""
        if self._turn is not None and self._turn_holder is asyncio.current_task():
            raise RuntimeError("run_writing inside another writing unit of the same task")
        async with self._writer_turn():
            if self._turn is None:
                async with self.engine.begin() as conn:
                    return await conn.run_sync(work)
            done = self._writer.submit(work)
            try:
                return await asyncio.shield(done)
            except asyncio.CancelledError:
                # the turn is held until the thread is done: no other writer may start
                # while this unit may still commit
                await asyncio.wait([done])
                raise

    async def run_reading(self, work: Callable[[Connection], T]) -> T:
        """A unit of work that only reads, as `run_writing`'s: a plain function of a
        synchronous Core connection, for the reads every join and connect makes. On SQLite
        it runs in a reader thread of its own, on a connection of its own, and never waits
        for a writer (SQLite's readers see the last commit); on PostgreSQL on the async
        engine (`run_sync`). One thread serves every such read of the process, so they
        should be short. Writing in it is a bug; `work` must not touch the event loop."""
        if self._turn is None:
            async with self.engine.connect() as conn:
                return await conn.run_sync(work)
        return await self._reader.submit(work)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A unit of work that only reads: it never waits for a writer's turn (SQLite's
        readers see the last commit and do not block). Writing in it is a bug."""
        async with self._unit() as session:
            yield session

    async def upgrade(self, revision: str = "head") -> None:
        """Run the Alembic migrations up to `revision` on this engine (nothing to do, and
        Alembic left unloaded, for the head on a database already there)."""
        if revision == "head" and await self.schema_version() == SCHEMA_HEAD:
            return

        def run(connection: Connection) -> None:
            from alembic import command

            if connection.dialect.name == "postgresql":
                # nodes starting together take turns; the lock ends with the transaction
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            command.upgrade(alembic_config(connection), revision)

        async with self.engine.begin() as conn:
            await conn.run_sync(run)

    async def schema_version(self) -> str | None:
        """The migration the database is at; None for a database without Parley's schema."""
        async with self.engine.connect() as conn:
            try:
                version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
            except DBAPIError:  # no such table: a new database
                return None
        return None if version is None else str(version)

    async def compact_log(self) -> None:
        """SQLite: move the write-ahead log into the database file and empty it, so replaced
        page images (old addresses, erased rows) do not linger in the log."""
        if self.engine.dialect.name == "sqlite":
            async with self.engine.connect() as conn:
                await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self._writer.close()
        await self._reader.close()
        await self.engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


# SQLSTATE classes of a database that cannot take the write just now, as opposed to a bug:
# connection exception, insufficient resources (disk full, out of memory), operator
# intervention (shutting down), system error (I/O)
UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58"})


def unavailable(exc: BaseException) -> bool:
    """Whether a storage failure means the disk or database cannot be written just now
    (full, read-only, vanished, shutting down, the connection to it lost): the write did
    not happen."""
    if isinstance(exc, OSError | OperationalError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    state = getattr(exc.orig, "sqlstate", None)
    return exc.connection_invalidated or str(state or "")[:2] in UNAVAILABLE_CLASSES
