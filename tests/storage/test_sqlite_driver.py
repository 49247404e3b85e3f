"""The SQLite driver's one-trip cursor (storage/sqlite.py): each statement is one call to
aiosqlite's thread, a commit or rollback only when a transaction is open, and what
SQLAlchemy reads off a cursor (rows, rowcount, last row id, errors) is what the stock
cursor gives; a failed unit is rolled back all the same."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from storage.db import Database

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(20), unique=True, nullable=False),
    Column("n", Integer, nullable=False, default=0),
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
