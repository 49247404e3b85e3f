"""The SQLite driver's one-trip cursor (storage/sqlite.py): each statement is one call to
aiosqlite's thread, a commit or rollback only when a transaction is open, and what
SQLAlchemy reads off a cursor (rows, rowcount, last row id, errors) is what the stock
cursor gives; a failed unit is rolled back all the same. And `Direct`, hot statements on
the writer thread's sqlite3 connection: they store exactly what SQLAlchemy stores, and
fail as SQLAlchemy's statements fail."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import (
    Column,
    Connection,
    Enum,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    case,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import UTCDateTime
from storage.sqlite import Direct

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(20), unique=True, nullable=False),
    Column("n", Integer, nullable=False, default=0),
)


class Kind(enum.Enum):
    text = "text"
    file = "file"


stamped = Table(
    "stamped",
    metadata,
    Column("id", String(8), primary_key=True),
    Column("kind", Enum(Kind, native_enum=False), nullable=False),
    Column("data", LargeBinary, nullable=True),
    Column("at", UTCDateTime(), nullable=False),
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with Database(f"sqlite+aiosqlite:///{tmp_path}/one.db") as db:
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield db


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every call handed to an aiosqlite connection's thread, by the function's name."""
    made: list[str] = []
    handover = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: object, *args: object, **kw: object):
        made.append(getattr(fn, "__name__", repr(fn)))
        return await handover(self, fn, *args, **kw)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    yield made


async def test_a_statement_is_one_trip_to_the_thread(db: Database, trips: list[str]) -> None:
    async with db.session() as s:
        await s.execute(insert(things).values(name="a"))  # warm: connection and BEGIN
        trips.clear()
        await s.execute(insert(things).values(name="b"))
        assert await s.scalar(select(func.count()).select_from(things)) == 2
        await s.execute(update(things).values(n=1))
    assert trips == ["_trip", "_trip", "_trip", "commit"]  # no rollback after it

    trips.clear()
    async with db.reading() as s:
        assert await s.scalar(select(func.count()).select_from(things)) == 2
    assert trips == ["_trip"]  # nothing to commit or roll back after a read


async def test_rows_rowcount_and_last_row_id_are_those_of_the_statement(db: Database) -> None:
    async with db.session() as s:
        first = await s.execute(insert(things).values(name="a"))
        second = await s.execute(insert(things).values(name="b"))
        assert first.inserted_primary_key == (1,) and second.inserted_primary_key == (2,)
        many = await s.execute(insert(things), [{"name": f"m{i}"} for i in range(50)])
        assert many.rowcount == 50
        changed = await s.execute(update(things).where(things.c.name.like("m%")).values(n=7))
        assert changed.rowcount == 50
        none = await s.execute(update(things).where(things.c.name == "nobody").values(n=1))
        assert none.rowcount == 0
    async with db.reading() as s:
        rows = (await s.execute(select(things.c.name, things.c.n).order_by(things.c.id))).all()
    assert len(rows) == 52
    assert rows[:3] == [("a", 0), ("b", 0), ("m0", 7)]


async def test_a_refused_statement_raises_and_its_unit_changes_nothing(db: Database) -> None:
    async with db.session() as s:
        await s.execute(insert(things).values(name="a"))
    with pytest.raises(IntegrityError):
        async with db.session() as s:
            await s.execute(insert(things).values(name="b"))
            await s.execute(insert(things).values(name="a"))
    async with db.reading() as s:
        names = (await s.scalars(select(things.c.name))).all()
    assert names == ["a"]
    async with db.session() as s:  # the connection is still good
        await s.execute(insert(things).values(name="c"))


def _stamped_row(i: int, at: datetime) -> dict[str, object]:
    kind = Kind.file if i % 2 else Kind.text
    return {"id": f"r{i}", "kind": kind, "data": b"\x00sealed", "at": at}


async def test_direct_statements_store_and_return_what_sqlalchemy_does(db: Database) -> None:
    """The same rows, once through SQLAlchemy and once through `Direct`, are stored alike
    (converted by the column types: an aware datetime in another zone, an enum, bytes, a
    null), and a RETURNING statement with a value of its own answers alike."""
    at = datetime(2026, 12, 7, 20, 1, 2, 345678, tzinfo=timezone(timedelta(hours=2)))
    add = Direct(insert(stamped))
    bump = Direct(
        update(things)
        .where(things.c.name == bindparam("who"))
        .values(n=things.c.n + case((things.c.n > 100, 0), else_=bindparam("by")))
        .returning(things.c.name, things.c.n)
    )

    def write(conn: Connection) -> tuple[list[tuple[object, ...]], ...]:
        conn.execute(insert(stamped), [_stamped_row(0, at), {**_stamped_row(1, at), "data": None}])
        add.many(conn, [_stamped_row(2, at), {**_stamped_row(3, at), "data": None}])
        add.many(conn, [])
        conn.execute(insert(things), [{"name": "a"}, {"name": "b"}])
        by_sqlalchemy = conn.execute(bump.statement, {"who": "a", "by": 5}).all()
        direct = bump.all(conn, {"who": "b", "by": 5})
        nobody = bump.all(conn, {"who": "nobody", "by": 5})
        return [tuple(r) for r in by_sqlalchemy], [tuple(r) for r in direct], list(nobody)

    by_sqlalchemy, direct, nobody = await db.run_writing(write)
    assert by_sqlalchemy == [("a", 5)] and direct == [("b", 5)] and nobody == []

    def stored(conn: Connection) -> list[tuple[object, ...]]:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM stamped ORDER BY id"))]

    raw = await db.run_reading(stored)
    assert [r[1:] for r in raw[:2]] == [r[1:] for r in raw[2:]]
    assert raw[0][1:] == ("text", b"\x00sealed", "2026-12-07 18:01:02.345678")
    async with db.reading() as s:
        read = (await s.execute(select(stamped.c.kind, stamped.c.at).order_by(stamped.c.id))).all()
    assert read == [(Kind.text, at), (Kind.file, at)] * 2
    assert all(r.at.tzinfo is UTC for r in read)


async def test_a_direct_statement_that_fails_raises_as_sqlalchemy_and_changes_nothing(
    db: Database,
) -> None:
    add = Direct(insert(things))
    await db.run_writing(lambda conn: add.many(conn, [{"name": "a", "n": 1}]))

    def duplicate(conn: Connection) -> None:
        add.many(conn, [{"name": "b", "n": 1}])
        add.many(conn, [{"name": "c", "n": 1}, {"name": "a", "n": 2}])

    with pytest.raises(IntegrityError) as refused:
        await db.run_writing(duplicate)
    assert "'a'" not in str(refused.value)  # the values are not in the error, as elsewhere
    with pytest.raises(KeyError):  # a parameter missing is a programming error, not a NULL
        await db.run_writing(lambda conn: add.many(conn, [{"name": "d", "n": 1}, {"name": "e"}]))
    with pytest.raises(ValueError, match="no column defaults"):  # `n` has one, in Python
        await db.run_writing(lambda conn: add.many(conn, [{"name": "g"}]))

    def names(conn: Connection) -> list[str]:
        return list(conn.execute(select(things.c.name).order_by(things.c.name)).scalars())

    assert await db.run_reading(names) == ["a"]
    await db.run_writing(lambda conn: add.many(conn, [{"name": "f", "n": 1}]))  # still good
    assert await db.run_reading(names) == ["a", "f"]


async def test_direct_statements_run_through_sqlalchemy_on_other_drivers(db: Database) -> None:
    """On the async engine's aiosqlite connection (as on PostgreSQL's) there is no sqlite3
    object to use: the statement goes through SQLAlchemy."""
    add = Direct(insert(things))
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: add.many(c, [{"name": "x", "n": 3}]))
    async with db.reading() as s:
        assert (await s.execute(select(things.c.name, things.c.n))).all() == [("x", 3)]
