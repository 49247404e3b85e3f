"""The database layer on both engines."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from storage.db import Database


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
