"""SQLite's cheap paths: SQLAlchemy's aiosqlite driver with one trip to the connection's
thread per statement, and hot Core statements run on the standard library's connection.

One trip per statement
----------------------

aiosqlite runs each SQLite connection in a thread of its own and hands every call to it
through a queue. SQLAlchemy's adapter makes four such calls for a statement that returns
rows (open a cursor, execute, fetch, close) and three for one that does not, and each call
is a thread handoff, an event-loop wake-up and a greenlet switch. Measured on this machine
those handoffs cost as much CPU as the statements themselves (docs/benchmarks.md, "One trip
per statement"). Here the cursor does all four in one call, in aiosqlite's thread, and
keeps the rows, description, rowcount and last row id it brings back; and a commit or
rollback with no transaction open (sqlite3 would do nothing) makes no call at all. Everything else
(connections, transactions, errors, server-side cursors) is SQLAlchemy's and aiosqlite's,
unchanged; the engine gets it as its DBAPI module (`create_async_engine(module=...)`).

Hot statements on sqlite3
-------------------------
`Direct` runs a Core statement in the writer thread (`Database.run_writing`) on the
connection's `sqlite3` object, compiled once, with SQLAlchemy's own parameter conversion.
SQLAlchemy's execution path around a statement (context, result, events) cost about three
times what SQLite spends on the statement, in every whiteboard update (docs/benchmarks.md).
"""

from __future__ import annotations

import collections
import contextlib
import sqlite3
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import aiosqlite
from sqlalchemy import Connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# what a trip brings back: rows, description, rowcount, lastrowid
Outcome = tuple[Sequence[Any], Any, int, int | None]


def _trip(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """In aiosqlite's thread: the whole statement, from cursor to close."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else ()
        return rows, description, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose statement is one call to aiosqlite's thread."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # no aiosqlite cursor: the statement opens and closes its own in the thread
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        """Nothing to close: the statement's cursor was closed in the thread."""

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._one_trip(operation, parameters, many=False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            return await_(self._one_trip(operation, seq_of_parameters, many=True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _one_trip(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            rows, description, rowcount, lastrowid = await connection._execute(  # type: ignore[no-untyped-call]
                _trip, connection._conn, operation, parameters, many
            )
        self._rows = collections.deque(rows)
        self._description = description
        self._rowcount = rowcount
        self._lastrowid = lastrowid


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor  # type: ignore[assignment]

    def _idle(self) -> bool:
        """No transaction is open, so sqlite3's own commit and rollback would do nothing
        (they check the same flag): no trip for them. A unit that only read, and the
        pool's rollback after a commit, cost no thread handoff then. Read between
        statements, when no call of this connection is in its thread."""
        conn: sqlite3.Connection | None = self._connection._connection
        return conn is not None and not conn.in_transaction

    def commit(self) -> None:
        if not self._idle():
            super().commit()

    def rollback(self) -> None:
        if not self._idle():
            super().rollback()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDBAPI:
    """The DBAPI module for `create_async_engine("sqlite+aiosqlite://...", module=...)`."""
    return OneTripDBAPI(aiosqlite, sqlite3)


class _Prepared:
    """A statement compiled for one SQLite dialect: its SQL, its positional parameters'
    names, the fixed values among them and how each value is converted for sqlite3."""

    __slots__ = ("defaults", "names", "processors", "sql")

    def __init__(self, compiled: SQLCompiler, dialect: Dialect) -> None:
        self.sql = compiled.string
        names, binds = compiled.positiontup, compiled.binds
        if names is None or any(binds[n].expanding for n in names):
            raise ValueError("Direct takes statements with plain positional parameters")
        if compiled.insert_prefetch or compiled.update_prefetch:
            # SQLAlchemy would compute these columns' Python-side defaults at execution
            raise ValueError("Direct runs no column defaults: give every column a value")
        self.names = tuple(names)
        # the values the statement fixes itself (a literal 0 in a CASE); the others are
        # required, and a missing one is a KeyError
        self.defaults = {
            name: value for name, value in compiled.params.items() if not binds[name].required
        }
        self.processors: tuple[Callable[[Any], Any] | None, ...] = tuple(
            binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names
        )

    def values(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        values = []
        for name, process in zip(self.names, self.processors, strict=True):
            value = params[name] if name in params else self.defaults[name]
            values.append(value if process is None or value is None else process(value))
        return tuple(values)


class Direct:
    """A hot Core statement that, on SQLite's synchronous connection (the writer thread of
    `Database.run_writing`), runs on the connection's `sqlite3` object: compiled once per
    dialect (an INSERT for the columns of its first row, which must leave no column to a
    Python-side default: refused if it does), parameters converted as SQLAlchemy
    converts them, in the transaction the unit holds, errors raised as SQLAlchemy's. On
    any other connection (PostgreSQL, aiosqlite) it is `connection.execute`. Rows come
    back as sqlite3 gives them, without result types; SQLAlchemy's echo does not show
    these statements."""

    def __init__(self, statement: UpdateBase) -> None:
        self.statement = statement
        self._prepared: weakref.WeakKeyDictionary[Dialect, dict[tuple[str, ...], _Prepared]]
        self._prepared = weakref.WeakKeyDictionary()

    def _for(self, dialect: Dialect, columns: tuple[str, ...] = ()) -> _Prepared:
        by_columns = self._prepared.setdefault(dialect, {})
        prepared = by_columns.get(columns)
        if prepared is None:
            kw: dict[str, Any] = {"column_keys": list(columns)} if columns else {}
            compiled = self.statement.compile(dialect=dialect, **kw)
            assert isinstance(compiled, SQLCompiler)
            prepared = by_columns[columns] = _Prepared(compiled, dialect)
        return prepared

    def all(self, connection: Connection, params: Mapping[str, Any]) -> Sequence[Any]:
        """The rows of its RETURNING."""
        if connection.dialect.driver != "pysqlite":
            return connection.execute(self.statement, dict(params)).all()
        prepared = self._for(connection.dialect)
        values = prepared.values(params)
        with _errors_as_sqlalchemy(prepared.sql):
            return _driver(connection).execute(prepared.sql, values).fetchall()

    def many(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """The statement once per row (an INSERT of many rows), in one call."""
        if not rows:
            return
        if connection.dialect.driver != "pysqlite":
            connection.execute(self.statement, [dict(row) for row in rows])
            return
        prepared = self._for(connection.dialect, tuple(rows[0]))
        values = [prepared.values(row) for row in rows]
        with _errors_as_sqlalchemy(prepared.sql):
            _driver(connection).executemany(prepared.sql, values)


def _driver(connection: Connection) -> sqlite3.Connection:
    driver = connection.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver


@contextlib.contextmanager
def _errors_as_sqlalchemy(sql: str) -> Iterator[None]:
    """sqlite3's errors raised as SQLAlchemy raises them (IntegrityError, OperationalError
    for a full disk...), without the parameters: what callers of `execute` catch."""
    try:
        yield
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, None, exc, sqlite3.Error, hide_parameters=True) from exc
