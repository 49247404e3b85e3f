"""Workload "persist" (issue 8, S7): how many chat messages per second Parley validates,
seals, stores and broadcasts, against SQLAlchemy Core inserting the same plaintext rows in
batches, on SQLite and on PostgreSQL.

Parley: the chat workload's load generator (bench/chat.py) offers more messages than the
server keeps up with (open loop, so the backlog is real), and the throughput is the measured
messages acknowledged and delivered per second until the last of them. The baseline
(bench/bare_persist.py, its own process) inserts as many rows, `batch` per transaction, into
a table of the same columns and constraints, as fast as it can. Each run gets a fresh
database: a new SQLite data directory, or a new database on the machine's PostgreSQL
(PARLEY_TEST_PG), dropped afterwards. The report is Parley / Core per database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.ab import Column, Ratio, interleave, summarise, table
from bench.chat import ChatConfig, ChatResult, run_chat
from bench.chat import warnings_of as chat_warnings
from bench.nodes import fresh_database
from bench.servers import ROOT, Server, prepare_parley, spawn_parley

BARE_PERSIST = Path(__file__).resolve().parent / "bare_persist.py"
DATABASES = ("sqlite", "postgres")
RUN_SLACK = 180.0
BARE_TIMEOUT = 300.0

COLUMNS: list[Column] = [
    ("msg/s", "throughput", "{:.0f}"),
    ("messages", "messages", "{}"),
    ("ack p50", "ack_p50_ms", "{:.0f}"),
    ("ack p99", "ack_p99_ms", "{:.0f}"),
    ("CPU us/msg", "cpu_us_per_msg", "{:.0f}"),
    ("lost", "lost", "{}"),
]
RATIOS: list[Ratio] = [
    ("messages per second", "throughput", False),
    ("CPU per message", "cpu_us_per_msg", False),
]


@dataclass(frozen=True)
class PersistConfig:
    consultations: int
    rate: float  # messages per second offered to Parley: more than it keeps up with
    duration: float
    warmup: float
    drain: float  # seconds Parley may take after the last scheduled send
    batch: int  # rows per transaction of the baseline

    @property
    def chat(self) -> ChatConfig:
        return ChatConfig(self.consultations, self.rate, self.duration, self.warmup, self.drain)


FULL = PersistConfig(consultations=50, rate=1500.0, duration=5.0, warmup=1.0, drain=60.0, batch=100)
QUICK = PersistConfig(consultations=5, rate=300.0, duration=1.0, warmup=0.5, drain=20.0, batch=100)


@dataclass
class PersistResult:
    server: str  # "parley" or "bare" (SQLAlchemy Core)
    run: int
    database: str
    messages: int  # measured messages (Parley) or rows inserted (Core)
    throughput: float  # per second
    ack_p50_ms: float  # Parley: scheduled send to acknowledgement; Core: 0
    ack_p99_ms: float
    cpu_us_per_msg: float  # the server's (Parley) or the inserting process's (Core)
    lost: int  # Parley: not acknowledged or not delivered within the drain
    chat: dict[str, Any] | None  # Parley: the chat workload's full result

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def from_chat(database: str, r: ChatResult) -> PersistResult:
    return PersistResult(
        server="parley",
        run=r.run,
        database=database,
        messages=r.completed_measured,
        throughput=r.throughput,
        ack_p50_ms=r.ack_p50_ms,
        ack_p99_ms=r.ack_p99_ms,
        cpu_us_per_msg=r.server_us_per_msg,
        lost=r.lost + r.unacked + r.send_failed,
        chat=r.as_dict(),
    )


async def run_bare(
    url: str, rows: int, cfg: PersistConfig, database: str, run: int
) -> PersistResult:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(BARE_PERSIST),
        *("--url", url, "--rows", str(rows), "--batch", str(cfg.batch)),
        *("--consultations", str(cfg.consultations)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), BARE_TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"bare_persist.py exited with {proc.returncode}: {err.decode()[-2000:]}")
    found = json.loads(out)
    return PersistResult(
        server="bare",
        run=run,
        database=database,
        messages=found["rows"],
        throughput=found["rows"] / found["seconds"],
        ack_p50_ms=0.0,
        ack_p99_ms=0.0,
        cpu_us_per_msg=found["cpu_seconds"] / found["rows"] * 1e6,
        lost=0,
        chat=None,
    )


@contextlib.asynccontextmanager
async def database_urls(database: str, tmp: Path, count: int) -> AsyncIterator[list[str]]:
    """`count` fresh databases: SQLite files in `tmp`, or new PostgreSQL databases."""
    if database == "sqlite":
        yield [f"sqlite+aiosqlite:///{tmp / f'db-{n}'}.db" for n in range(count)]
        return
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(fresh_database()) for _ in range(count)]


async def measure(database: str, cfg: PersistConfig, runs: int, tmp: Path) -> list[PersistResult]:
    async with database_urls(database, tmp, 2 * runs) as urls:
        parley_urls, bare_urls = urls[:runs], urls[runs:]
        dirs = [tmp / f"{database}-parley-{run}" for run in range(runs)]
        # SQLite: Parley's own database file in its fresh data directory, the default
        envs = [{"PARLEY_DATABASE_URL": url} if database != "sqlite" else {} for url in parley_urls]
        accounts = [
            await asyncio.to_thread(prepare_parley, d, env)
            for d, env in zip(dirs, envs, strict=True)
        ]

        def spawn(name: str, run: int) -> Server | None:
            if name == "bare":
                return None  # bare_persist.py is started by `drive`: it is no server
            log = tmp / f"{database}-parley-{run}.log"
            return spawn_parley(dirs[run], log, envs[run])

        async def drive(server: Server | None, run: int) -> PersistResult:
            if server is None:  # as many rows as Parley was offered messages
                return await run_bare(bare_urls[run], cfg.chat.total, cfg, database, run)
            return from_chat(database, await run_chat(server, accounts[run], cfg.chat, run))

        print(f"  {database}", file=sys.stderr, flush=True)
        return await interleave(
            runs,
            spawn,
            drive,
            cfg.warmup + cfg.duration + cfg.drain + RUN_SLACK,
            lambda r: f"{r.throughput:.0f} msg/s, {r.cpu_us_per_msg:.0f} us CPU/msg, lost {r.lost}",
        )


async def workload(cfg: PersistConfig, runs: int) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    warnings: list[str] = []
    tables = []
    with tempfile.TemporaryDirectory(prefix="parley-bench-persist-") as tmp_name:
        for database in DATABASES:
            results = await measure(database, cfg, runs, Path(tmp_name))
            summary = summarise(results, runs, RATIOS)
            header = (
                f"persist ({database}): Parley offered {cfg.rate:.0f} msg/s from "
                f"{cfg.consultations} customers for {cfg.warmup + cfg.duration:g} s; "
                f"SQLAlchemy Core inserting as many rows, {cfg.batch} per transaction"
            )
            tables.append(table(header, results, COLUMNS, summary, "Parley/Core"))
            chats = [ChatResult(**r.chat) for r in results if r.chat is not None]
            warnings += [f"{database}: {note}" for note in chat_warnings(chats)]
            parts[database] = {"runs": [r.as_dict() for r in results], "ratio": summary}
    return {
        "config": {**asdict(cfg), "runs": runs},
        **parts,
        "warnings": warnings,
        "table": "\n\n".join(tables),
    }
