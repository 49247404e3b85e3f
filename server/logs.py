"""Application logging. Whatever the level, libraries that would print bound values (SQL
parameters: addresses, sealed names) stay at WARNING, so no address, name or content ever
reaches the log."""

from __future__ import annotations

import logging

QUIET = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "asyncpg", "engineio", "socketio")


def configure(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger().setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
