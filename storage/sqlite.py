"""SQLAlchemy's aiosqlite driver with one trip to the connection's thread per statement.

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
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
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
