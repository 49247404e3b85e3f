"""A diagnostic, not a workload: the CPU one whiteboard update costs in storage alone.
`BoardStore.append` stores updates one after another (each waits for the last, so every
batch holds one update, as under S10's even schedule) into a fresh database: a SQLite file
(the embedded default), or with `--postgres` a new database on the machine's PostgreSQL
(PARLEY_TEST_PG), dropped afterwards. Reports CPU (all threads of this process) and wall
time per update. No server, no sockets, no Yjs: what is left is sealing, the group commit,
the hop to SQLite's writer thread and the transaction (docs/benchmarks.md, S10).

Run: python -m bench.board_txn [--updates N] [--postgres] [--json PATH]"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bench.nodes import fresh_database
from signaling.board_store import BoardStore
from storage.clock import utcnow
from storage.crypto import Keyring, new_key
from storage.db import Database
from storage.models import Consultation, ConsultationKind, ConsultationState, Team
from storage.vault import Vault

UPDATE_BYTES = 120  # about a stroke's point added, as the browsers send them
WARMUP = 50


@contextlib.asynccontextmanager
async def database(postgres: bool) -> AsyncIterator[str]:
    if postgres:
        async with fresh_database() as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="parley-board-txn-") as tmp:
        yield f"sqlite+aiosqlite:///{Path(tmp) / 'parley.db'}"


async def consultation(db: Database, vault: Vault) -> str:
    """A team and one active consultation with its key."""
    now = utcnow()
    async with db.session() as s:
        team = Team(slug="bench", name="Bench", created_at=now)
        s.add(team)
        await s.flush()
        c = Consultation(
            team_id=team.id,
            kind=ConsultationKind.invite,
            state=ConsultationState.active,
            created_at=now,
        )
        s.add(c)
        await s.flush()
        await vault.create(s, c.id, now)
        return c.id


async def measure(updates: int, postgres: bool) -> dict[str, Any]:
    async with database(postgres) as url, Database(url) as db:
        await db.upgrade()
        vault = Vault(Keyring({"bench": new_key()}, "bench"))
        cid = await consultation(db, vault)
        store = BoardStore(db, vault, utcnow)
        last = 0
        update = os.urandom(UPDATE_BYTES)
        for _ in range(WARMUP):
            await store.append(cid, update, customer=False)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(updates):
            last = await store.append(cid, update, customer=False)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await store.close()
    return {
        "database": "postgres" if postgres else "sqlite",
        "updates": updates,
        "last_number": last,  # every update got its own: WARMUP + updates
        "cpu_us_per_update": 1e6 * cpu / updates,
        "wall_us_per_update": 1e6 * wall / updates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.updates < 1:
        parser.error("--updates: at least 1")
    result = asyncio.run(measure(args.updates, args.postgres))
    print(
        f"board_txn ({result['database']}, {result['updates']} updates, one per transaction): "
        f"{result['cpu_us_per_update']:.0f} us CPU, {result['wall_us_per_update']:.0f} us wall "
        "per update"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
