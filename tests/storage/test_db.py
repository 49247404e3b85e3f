"""The database layer on both engines."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import asyncpg
import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from storage.db import SCHEMA_HEAD, Database, alembic_config, unavailable


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_nodes_starting_together_migrate_once(database_url):
    nodes = [Database(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(node.upgrade() for node in nodes))
        async with nodes[0].session() as s:
            version = await s.scalar(text("SELECT version_num FROM alembic_version"))
        assert version is not None
    finally:
        for node in nodes:
            await node.close()


async def test_sqlite_upgrade_is_idempotent(database_url):
    async with Database(database_url) as db:
        await db.upgrade()
        await db.upgrade()
        await db.ping()


def test_schema_head_is_alembics_head():
    """`upgrade` leaves a database at SCHEMA_HEAD to itself: a new migration must move it."""
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_HEAD


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_upgrade_migrates_a_database_behind_the_head(database_url):
    async with Database(database_url) as db:
        assert await db.schema_version() is None
        await db.upgrade("0003")
        assert await db.schema_version() == "0003"
        await db.upgrade()
        assert await db.schema_version() == SCHEMA_HEAD
        async with db.reading() as s:  # the last migration's column is there
            await s.execute(text("SELECT last_seen_at FROM auth_sessions"))


async def _tally(db: Database) -> int:
    async with db.reading() as s:
        return int(await s.scalar(text("SELECT n FROM tally")))


async def _new_tally(db: Database, n: int) -> None:
    async with db.session() as s:
        await s.execute(text("DROP TABLE IF EXISTS tally"))
        await s.execute(text("CREATE TABLE tally (n INTEGER NOT NULL)"))
        await s.execute(text("INSERT INTO tally VALUES (:n)"), {"n": n})


def _bump(by: int, pause: float = 0.0) -> Callable[[Connection], int]:
    """A synchronous unit for `run_writing`: read the tally, wait, write it increased."""

    def work(conn: Connection) -> int:
        n = int(conn.execute(text("SELECT n FROM tally")).scalar_one())
        time.sleep(pause)
        conn.execute(text("UPDATE tally SET n = :n"), {"n": n + by})
        return n + by

    return work


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_sqlite_writer_thread_takes_turns_with_sessions(database_url):
    """`run_writing` units run in a thread of their own while the event loop goes on; on
    SQLite they must still wait for, and hold off, the units on the async engine."""
    async with Database(database_url) as db:
        await _new_tally(db, 0)

        async def on_session() -> None:
            async with db.session() as s:
                n = await s.scalar(text("SELECT n FROM tally"))
                await asyncio.sleep(0.001)  # the thread's unit would run meanwhile
                await s.execute(text("UPDATE tally SET n = :n"), {"n": n + 1})

        async def in_thread() -> None:
            await db.run_writing(_bump(1, pause=0.001))

        await asyncio.gather(*(unit() for _ in range(15) for unit in (on_session, in_thread)))
        assert await _tally(db) == 30


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_writing_unit_commits_its_result_or_nothing(database_url):
    async with Database(database_url) as db:
        await _new_tally(db, 7)
        assert await db.run_writing(_bump(1)) == 8

        def fails(conn: Connection) -> None:
            conn.execute(text("UPDATE tally SET n = 99"))
            raise RuntimeError("refused")

        with pytest.raises(RuntimeError, match="refused"):
            await db.run_writing(fails)
        assert await _tally(db) == 8


def _read_tally(conn: Connection) -> int:
    return int(conn.execute(text("SELECT n FROM tally")).scalar_one())


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_reading_unit_reads_what_is_committed(database_url):
    async with Database(database_url) as db:
        await _new_tally(db, 5)
        assert await db.run_reading(_read_tally) == 5
        await db.run_writing(_bump(1))
        assert await db.run_reading(_read_tally) == 6


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_sqlite_reading_unit_never_waits_for_the_writer(database_url):
    """On SQLite, `run_reading` answers from what is committed while a writer is in the
    middle of its transaction in its thread, holding the process's writer turn. (On
    PostgreSQL a writing unit runs on the event loop, and readers never wait there.)"""
    async with Database(database_url) as db:
        await _new_tally(db, 5)
        slow = asyncio.create_task(db.run_writing(_bump(1, pause=0.5)))
        await asyncio.sleep(0.1)  # the writer has read and waits before it writes
        async with asyncio.timeout(0.3):  # well before the writer commits
            assert await db.run_reading(_read_tally) == 5
        assert not slow.done()
        assert await slow == 6
        assert await db.run_reading(_read_tally) == 6


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_cancelled_writing_unit_keeps_the_turn_until_its_thread_is_done(database_url):
    """The caller of a unit running in the writer thread goes away (a socket closed, the
    server stopping): the thread cannot be stopped and may still commit, so the next
    writer must wait for it rather than find the database locked."""
    async with Database(database_url) as db:
        await _new_tally(db, 0)
        slow = asyncio.create_task(db.run_writing(_bump(1, pause=0.3)))
        await asyncio.sleep(0.1)  # the thread is inside its transaction
        slow.cancel()
        async with db.session() as s:
            n = await s.scalar(text("SELECT n FROM tally"))
            await s.execute(text("UPDATE tally SET n = :n"), {"n": n + 10})
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert await _tally(db) == 11


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_closing_finishes_the_units_sent_then_ends_the_threads(database_url):
    """The server stops while a unit is in the writer thread: the unit commits and its
    caller hears so, then SQLite's writer and reader threads end."""
    before = set(threading.enumerate())
    async with Database(database_url) as db:
        await _new_tally(db, 0)
        assert await db.run_reading(_read_tally) == 0
        slow = asyncio.create_task(db.run_writing(_bump(1, pause=0.3)))
        await asyncio.sleep(0.1)  # the thread is inside its transaction
        lanes = [t for t in set(threading.enumerate()) - before if t.name.startswith("sqlite-")]
        assert len(lanes) == 2  # the writer and the reader
    assert await slow == 1
    for thread in lanes:
        thread.join(timeout=5)
    assert not [t.name for t in lanes if t.is_alive()]
    async with Database(database_url) as db:
        assert await db.run_reading(_read_tally) == 1


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_writing_unit_inside_another_is_refused_at_once(database_url):
    """On SQLite the inner unit would wait for the outer one's write on a connection of
    its own: five seconds of busy waiting, then "database is locked". It is refused."""
    async with Database(database_url) as db:
        await _new_tally(db, 1)
        with pytest.raises(RuntimeError, match="inside another writing unit"):
            async with db.session() as s:
                await s.execute(text("UPDATE tally SET n = 2"))
                await db.run_writing(_bump(1))
        assert await _tally(db) == 1


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_unit_whose_connection_broke_leaves_the_next_one_working(database_url):
    """SQLite's writer thread keeps one connection for all its units: when a unit's
    connection breaks (as on a disk or driver error), the next unit gets a working one."""
    async with Database(database_url) as db:
        await _new_tally(db, 3)
        assert await db.run_writing(_bump(1)) == 4

        def breaks(conn: Connection) -> None:
            conn.execute(text("UPDATE tally SET n = 99"))
            conn.invalidate()  # the DB-API connection is closed, the transaction gone
            raise RuntimeError("connection lost")

        with pytest.raises(RuntimeError, match="connection lost"):
            await db.run_writing(breaks)
        assert await db.run_writing(_bump(1)) == 5
        assert await _tally(db) == 5


async def _drop_connections(database_url: str) -> int:
    """End every other session on the test's PostgreSQL database, as a restart would."""
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        return len(
            await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    finally:
        await conn.close()


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_an_idle_connection_the_server_dropped_is_replaced_before_use(database_url):
    async with Database(database_url, ping_after_idle=0.05) as db:
        await _new_tally(db, 1)
        assert await _drop_connections(database_url) == 1  # the pool's one connection
        await asyncio.sleep(0.1)
        assert await db.run_writing(_bump(1)) == 2
        assert await _tally(db) == 2


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_connection_dropped_while_in_use_fails_one_unit_and_the_pool_recovers(
    database_url,
):
    """The price of trying only idle connections: one used a moment ago is not tried, so
    the unit that gets it after the server dropped it fails as unavailable; the next unit
    gets a new connection."""
    async with Database(database_url, ping_after_idle=3600) as db:
        await _new_tally(db, 1)
        assert await _drop_connections(database_url) == 1
        with pytest.raises(DBAPIError) as failed:
            await db.run_writing(_bump(1))
        assert unavailable(failed.value)
        assert await db.run_writing(_bump(1)) == 2
        assert await _tally(db) == 2
