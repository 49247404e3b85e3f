"""The chat persistence baseline: SQLAlchemy Core inserting plaintext chat rows in batches,
with nothing of Parley's (no sockets, no validation, no sealing, no relaying). The table has
the columns and unique constraints of Parley's `chat_messages` with the body in the clear;
on SQLite the connection gets Parley's pragmas (WAL, foreign keys, busy timeout, secure
delete). Prints one JSON object: rows, seconds, CPU seconds.

Run: python bench/bare_persist.py --url sqlite+aiosqlite:///x.db --rows 10000 --batch 100"""

import argparse
import asyncio
import datetime
import json
import time
import uuid
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.ext.asyncio import create_async_engine

BODY = "Guten Tag, hier ist Nachricht {seq} aus dem Lasttest. Bitte nicht beantworten, danke!"

metadata = MetaData()
messages = Table(
    "chat_messages",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("consultation_id", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("sender_id", String(32), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("consultation_id", "seq"),
    UniqueConstraint("consultation_id", "sender_id", "client_id"),
)


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in ("foreign_keys=ON", "journal_mode=WAL", "busy_timeout=5000", "secure_delete=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


async def main(url: str, rows: int, batch: int, consultations: int) -> dict[str, Any]:
    engine = create_async_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
    rooms = [(uuid.uuid4().hex, uuid.uuid4().hex) for _ in range(consultations)]  # (room, sender)
    seqs = [0] * consultations
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    for first in range(0, rows, batch):
        values = []
        for n in range(first, min(first + batch, rows)):
            room, sender = rooms[n % consultations]
            seqs[n % consultations] += 1
            values.append(
                {
                    "id": uuid.uuid4().hex,
                    "consultation_id": room,
                    "seq": seqs[n % consultations],
                    "sender_id": sender,
                    "client_id": f"bare-{n}",
                    "kind": "text",
                    "body": BODY.format(seq=n),
                    "created_at": datetime.datetime.now(datetime.UTC),
                }
            )
        async with engine.begin() as conn:
            await conn.execute(messages.insert(), values)
    seconds = time.perf_counter() - started_wall
    cpu = time.process_time() - started_cpu
    await engine.dispose()
    return {"rows": rows, "seconds": seconds, "cpu_seconds": cpu}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--consultations", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.url, args.rows, args.batch, args.consultations))))
