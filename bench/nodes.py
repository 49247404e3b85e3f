"""Workload "nodes": Parley scaled out, two nodes against one, in the same run.

Two layouts of Parley on one PostgreSQL database (fresh for the benchmark, dropped after)
and one private Redis (`PARLEY_REDIS_URL`), interleaved one, two, one, two, ... with fresh
node processes for every run:

* "one": one node, Redis configured (python-socketio's Redis manager publishes every emit,
  the cluster announces its rooms), so the only difference to "two" is the second node;
* "two": two nodes; every advisor is on node 1 and every customer on node 2, so every
  relayed signal and every chat message crosses Redis.

Three parts, each its own interleaved sequence: the `relay` and `chat` workloads (the same
load generators, bench/relay.py and bench/chat.py), and a join burst: N customers open one
team's instant link (a team of its own per run, so each burst starts with an empty queue),
round robin over the nodes, on an open-loop schedule, each timed from its scheduled start
to `lobby_status` answering "waiting" on its socket. The report is two nodes / one node.

The relay part has a third layout, issue 8's S11 baseline: "bare", two bare python-socketio
relays (bench/bare_relay.py) on the same Redis with python-socketio's own
`AsyncRedisManager`, each pair's first socket on one and its second on the other. It adds
a second report for the relay: Parley's two nodes / the bare two nodes."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as redis
import socketio
from redis.exceptions import RedisError

from bench.ab import Column, Ratio, interleave, ratio_lines, summarise, table
from bench.chat import COLUMNS as CHAT_COLUMNS
from bench.chat import RATIOS as CHAT_RATIOS
from bench.chat import ChatConfig, ChatResult, run_chat
from bench.chat import warnings_of as chat_warnings
from bench.relay import COLUMNS as RELAY_COLUMNS
from bench.relay import (
    PARLEY_ENV,
    STEP_TIMEOUT,
    Http,
    RelayConfig,
    RelayResult,
    call_ok,
    connect,
    disconnect_all,
    new_socket,
    percentile,
    run_relay,
)
from bench.relay import RATIOS as RELAY_RATIOS
from bench.relay import warnings_of as relay_warnings
from bench.servers import (
    BARE_RELAY,
    Nodes,
    Server,
    add_team,
    members,
    prepare_parley,
    server_cpu_seconds,
    spawn_bare,
    spawn_parley,
    spawn_redis,
)

LAYOUTS = ("one", "two")  # the order within a run pair
PAIR = ("two", "one")  # the ratio reported: two nodes / one node
RATIO_NAME = "two nodes/one node"
RELAY_LAYOUTS = (*LAYOUTS, "bare")  # the relay also runs on two bare nodes (S11)
BARE_PAIR = ("two", "bare")
BARE_RATIO_NAME = "Parley two nodes/bare python-socketio two nodes (AsyncRedisManager)"
PG_ADMIN_DSN = os.environ.get("PARLEY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_START = 10.0
CLI_CONCURRENCY = 2  # `parley team add` processes at a time
RUN_SLACK = 180.0  # seconds a run may take beyond its sending and draining (setup, start)
# every customer of a burst is one person from loopback; the queue holds the whole burst;
# the one advisor account is in every relay pair and chat (see bench/relay.py's PARLEY_ENV)
NODE_ENV = {
    "PARLEY_QUEUE_SIZE": "10000",
    "PARLEY_CONNECTIONS_PER_ADDRESS": "100000",
    **PARLEY_ENV,
}

JOIN_COLUMNS: list[Column] = [
    ("joins/s", "throughput", "{:.1f}"),
    ("p50 ms", "p50_ms", "{:.0f}"),
    ("p99 ms", "p99_ms", "{:.0f}"),
    ("max ms", "max_ms", "{:.0f}"),
    ("POST p50", "post_p50_ms", "{:.0f}"),
    ("POST p99", "post_p99_ms", "{:.0f}"),
    ("failed", "failed", "{}"),
    ("srv CPU", "server_cpu", "{:.0%}"),
    ("srv ms/join", "server_ms_per_join", "{:.1f}"),
    ("gen CPU", "gen_cpu", "{:.0%}"),
    ("gen lag p99", "gen_lag_p99_ms", "{:.1f}"),
    ("load", "load_avg", "{:.1f}"),
    ("kept up", "kept_up", "{}"),
]
JOIN_RATIOS: list[Ratio] = [
    ("joins/s", "throughput", False),
    ("join p50 latency", "p50_ms", False),
    ("join p99 latency", "p99_ms", False),
    ("join max latency", "max_ms", False),
    ("server CPU per join", "server_ms_per_join", False),
]


@dataclass(frozen=True)
class NodesConfig:
    relay_pairs: int
    relay_rate: float
    chat_consultations: int
    chat_rate: float
    duration: float  # measured seconds of relay and chat
    warmup: float
    drain: float
    customers: int  # the join burst
    join_rate: float  # joins started per second, open loop

    @property
    def relay(self) -> RelayConfig:
        return RelayConfig(
            self.relay_pairs, self.relay_rate, self.duration, self.warmup, self.drain
        )

    @property
    def chat(self) -> ChatConfig:
        return ChatConfig(
            self.chat_consultations, self.chat_rate, self.duration, self.warmup, self.drain
        )


# -- the services: a fresh PostgreSQL database and a private Redis -------------------------


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A new database on the machine's PostgreSQL for this benchmark, dropped afterwards;
    yields its SQLAlchemy URL."""
    name = f"parley_bench_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=STEP_TIMEOUT)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=STEP_TIMEOUT)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@contextlib.asynccontextmanager
async def private_redis(log_path: Path) -> AsyncIterator[str]:
    """redis-server on a free port for this benchmark, always stopped; yields its URL."""
    server = spawn_redis(log_path)
    try:
        client = redis.from_url(server.url)
        try:
            async with asyncio.timeout(REDIS_START):
                while True:
                    if server.proc.poll() is not None:
                        raise RuntimeError(f"redis-server exited:\n{server.log_tail()}")
                    with contextlib.suppress(RedisError, OSError):
                        if await client.ping():
                            break
                    await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        yield server.url
    finally:
        server.stop()


def shared_keks() -> str:
    """One key-encryption key for every node (`PARLEY_KEKS`), as an operator configures
    several nodes."""
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return f"k1:{key}"


# -- the join burst ------------------------------------------------------------------------


@dataclass
class JoinCollector:
    latencies: list[float] = field(default_factory=list)  # scheduled start -> "waiting"
    posts: list[float] = field(default_factory=list)  # POST /api/join alone
    lags: list[float] = field(default_factory=list)  # how late the generator started one
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: dict[str, str] = field(default_factory=dict)
    sockets: list[socketio.AsyncClient] = field(default_factory=list)
    last_done: float = 0.0

    def failed(self, exc: BaseException) -> None:
        kind = type(exc).__name__
        self.errors[kind] += 1
        self.error_samples.setdefault(kind, str(exc)[:300])


def letters(i: int) -> str:
    """A distinct name part per customer in letters (names refuse digits): A, B, ... BA."""
    out = ""
    while True:
        i, digit = divmod(i, 26)
        out = chr(ord("A") + digit) + out
        if i == 0:
            return out


async def join_customer(base: str, slug: str, i: int, scheduled: float, col: JoinCollector) -> None:
    """One customer as the browser does it: the join page's facts (privacy notice version,
    CSRF cookie), POST /api/join into the team queue, the Socket.IO connection, and
    `lobby_status` until it says "waiting"."""
    http = Http(base)
    sio = new_socket()
    try:
        facts = await http.request("GET", f"/api/join/team/{slug}")
        posted = time.perf_counter()
        await http.request(
            "POST",
            "/api/join",
            {
                "team": slug,
                "first_name": "Bench",
                "last_name": f"Kunde {letters(i)}",
                "notice_version": facts["notice"]["version"],
            },
        )
        col.posts.append(time.perf_counter() - posted)
        col.sockets.append(sio)
        await connect(sio, base, {"Cookie": http.cookie_header(), "Origin": base})
        status = await call_ok(sio, "lobby_status", {})
        if status.get("status") != "waiting":
            raise RuntimeError(f"lobby_status {status}")
        now = time.perf_counter()
        col.latencies.append(now - scheduled)
        col.last_done = max(col.last_done, now)
    except Exception as exc:  # counted and shown, the burst goes on
        col.failed(exc)
    finally:
        await http.close()


@dataclass
class JoinResult:
    server: str
    run: int
    customers: int
    joined: int
    failed: int
    errors: dict[str, int]
    error_samples: dict[str, str]
    throughput: float  # customers waiting per second, from the first scheduled start
    p50_ms: float
    p99_ms: float
    max_ms: float
    post_p50_ms: float
    post_p99_ms: float
    server_cpu: float  # share of one core over the burst, summed over the nodes
    server_ms_per_join: float
    gen_cpu: float
    gen_lag_p99_ms: float
    load_avg: float
    kept_up: bool  # everyone waiting, at >= 90 % of the offered rate

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def run_join(server: Nodes, slug: str, cfg: NodesConfig, run: int) -> JoinResult:
    """`cfg.customers` customers into team `slug`'s queue, customer i on node i mod n,
    started at `t0 + i / join_rate` whatever came back so far; sockets stay open until all
    are done (or the drain is over)."""
    load_avg = os.getloadavg()[0]
    nodes = members(server)
    col = JoinCollector()
    tasks: list[asyncio.Task[None]] = []
    t0 = time.perf_counter() + 0.2
    cpu0, gen0 = server_cpu_seconds(server), time.process_time()
    try:
        for i in range(cfg.customers):
            scheduled = t0 + i / cfg.join_rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            col.lags.append(time.perf_counter() - scheduled)
            base = nodes[i % len(nodes)].url
            tasks.append(asyncio.create_task(join_customer(base, slug, i, scheduled, col)))
        _, pending = await asyncio.wait(tasks, timeout=cfg.drain + STEP_TIMEOUT * 4)
        for task in pending:
            task.cancel()
            col.errors["unfinished"] += 1
        await asyncio.gather(*pending, return_exceptions=True)
        wall = max(time.perf_counter() - t0, 1e-9)
        server_cpu = server_cpu_seconds(server) - cpu0
        gen_cpu = time.process_time() - gen0
    finally:
        for task in tasks:
            task.cancel()
        await disconnect_all(col.sockets)
    latencies, posts, lags = sorted(col.latencies), sorted(col.posts), sorted(col.lags)
    joined = len(latencies)
    span = col.last_done - t0
    throughput = joined / span if span > 0 else 0.0
    return JoinResult(
        server=server.name,
        run=run,
        customers=cfg.customers,
        joined=joined,
        failed=cfg.customers - joined,
        errors=dict(col.errors),
        error_samples=col.error_samples,
        throughput=throughput,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=(latencies[-1] if latencies else 0.0) * 1000,
        post_p50_ms=percentile(posts, 50) * 1000,
        post_p99_ms=percentile(posts, 99) * 1000,
        server_cpu=server_cpu / wall,
        server_ms_per_join=server_cpu / max(joined, 1) * 1000,
        gen_cpu=gen_cpu / wall,
        gen_lag_p99_ms=percentile(lags, 99) * 1000,
        load_avg=load_avg,
        kept_up=joined == cfg.customers and throughput >= 0.9 * cfg.join_rate,
    )


# -- the workload: three interleaved sequences and their report ----------------------------


def join_warnings(results: list[JoinResult]) -> list[str]:
    notes = []
    for r in results:
        tag = f"join {r.server} run {r.run + 1}"
        if r.failed:
            notes.append(f"{tag}: {r.failed} of {r.customers} customers not waiting: {r.errors}")
            notes += [f"{tag}: first {kind}: {text}" for kind, text in r.error_samples.items()]
        if r.gen_cpu > 0.8:
            notes.append(f"{tag}: the load generator used {r.gen_cpu:.0%} of a core")
    return notes


def part(
    header: str, results: list[Any], runs: int, columns: list[Column], ratios: list[Ratio]
) -> dict[str, Any]:
    summary = summarise(results, runs, ratios, PAIR)
    return {
        "runs": [r.as_dict() for r in results],
        "ratio": summary,
        "table": table(header, results, columns, summary, RATIO_NAME),
    }


@contextlib.asynccontextmanager
async def services(prefix: str) -> AsyncIterator[tuple[Path, dict[str, str]]]:
    """A temporary directory, a fresh database and a private Redis; yields the directory
    and the environment every node of the layout shares."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp_name:
        tmp = Path(tmp_name)
        async with fresh_database() as database_url, private_redis(tmp / "redis.log") as url:
            yield (
                tmp,
                {
                    **NODE_ENV,
                    "PARLEY_DATABASE_URL": database_url,
                    "PARLEY_REDIS_URL": url,
                    "PARLEY_KEKS": shared_keks(),
                    "PARLEY_BLOB_STORE": "database",  # any node serves any file
                },
            )


async def workload(cfg: NodesConfig, runs: int) -> dict[str, Any]:
    async with services("parley-bench-nodes-") as (tmp, env):
        return await measure(cfg, runs, tmp, env)


async def measure(cfg: NodesConfig, runs: int, tmp: Path, env: dict[str, str]) -> dict[str, Any]:
    dirs = [tmp / "node-1", tmp / "node-2"]
    account = await asyncio.to_thread(prepare_parley, dirs[0], env)
    # a team per join run: each burst starts with an empty queue
    slugs = {(name, run): f"join-{name}-{run + 1}" for name in LAYOUTS for run in range(runs)}
    gate = asyncio.Semaphore(CLI_CONCURRENCY)

    async def team(slug: str) -> None:
        async with gate:
            await asyncio.to_thread(add_team, dirs[0], slug, env)

    await asyncio.gather(*(team(slug) for slug in slugs.values()))

    def spawner(kind: str) -> Any:
        def spawn(name: str, run: int) -> Nodes:
            count = 1 if name == "one" else 2
            nodes: list[Server] = []
            try:
                for i in range(count):
                    log = tmp / f"{kind}-{name}-{run}-node{i + 1}.log"
                    if name == "bare":
                        redis_url = env["PARLEY_REDIS_URL"]
                        nodes.append(spawn_bare(log, BARE_RELAY, "--redis", redis_url))
                        continue
                    nodes.append(
                        spawn_parley(
                            dirs[i],
                            log,
                            {**env, "PARLEY_NODE_ID": f"{kind}-{name}-{run + 1}-n{i + 1}"},
                        )
                    )
            except BaseException:
                for node in nodes:
                    node.stop()
                raise
            return Nodes(name, nodes)

        return spawn

    async def drive_relay(server: Nodes, run: int) -> RelayResult:
        return await run_relay(server, None if server.name == "bare" else account, cfg.relay, run)

    async def drive_chat(server: Nodes, run: int) -> ChatResult:
        return await run_chat(server, account, cfg.chat, run)

    async def drive_join(server: Nodes, run: int) -> JoinResult:
        return await run_join(server, slugs[(server.name, run)], cfg, run)

    relay_cfg, chat_cfg = cfg.relay, cfg.chat
    print("  relay (rtc_signal)", flush=True, file=sys.stderr)
    relay = await interleave(
        runs,
        spawner("relay"),
        drive_relay,
        relay_cfg.warmup + relay_cfg.duration + relay_cfg.drain + RUN_SLACK,
        lambda r: f"{r.throughput:.0f} msg/s, p99 {r.p99_ms:.1f} ms, lost {r.lost}",
        RELAY_LAYOUTS,
    )
    print("  chat (chat_send)", flush=True, file=sys.stderr)
    chat = await interleave(
        runs,
        spawner("chat"),
        drive_chat,
        chat_cfg.warmup + chat_cfg.duration + chat_cfg.drain + RUN_SLACK,
        lambda r: (
            f"{r.throughput:.0f} msg/s, delivery p99 {r.delivery_p99_ms:.1f} ms, lost {r.lost}"
        ),
        LAYOUTS,
    )
    print(f"  join burst ({cfg.customers} customers)", flush=True, file=sys.stderr)
    joins = await interleave(
        runs,
        spawner("join"),
        drive_join,
        cfg.customers / cfg.join_rate + cfg.drain + STEP_TIMEOUT * 4 + RUN_SLACK,
        lambda r: f"{r.throughput:.1f} joins/s, p99 {r.p99_ms:.0f} ms, failed {r.failed}",
        LAYOUTS,
    )
    relay_vs_bare = summarise(relay, runs, RELAY_RATIOS, BARE_PAIR)
    parts = {
        "relay": part(
            f"nodes/relay: {relay_cfg.pairs} pairs (advisors on node 1, customers on the last "
            f"node), {relay_cfg.rate:.0f} msg/s offered, {relay_cfg.duration:g} s measured "
            f"after {relay_cfg.warmup:g} s warm-up",
            relay,
            runs,
            RELAY_COLUMNS,
            RELAY_RATIOS,
        ),
        "chat": part(
            f"nodes/chat: {chat_cfg.consultations} consultations (advisors on node 1, "
            f"customers on the last node), {chat_cfg.rate:.0f} msg/s offered, "
            f"{chat_cfg.duration:g} s measured after {chat_cfg.warmup:g} s warm-up",
            chat,
            runs,
            CHAT_COLUMNS,
            CHAT_RATIOS,
        ),
        "join": part(
            f"nodes/join: {cfg.customers} customers into one team's instant queue, round "
            f"robin over the nodes, {cfg.join_rate:g} joins/s offered",
            joins,
            runs,
            JOIN_COLUMNS,
            JOIN_RATIOS,
        ),
    }
    warnings = (
        [f"relay: {n}" for n in relay_warnings(relay)]
        + [f"chat: {n}" for n in chat_warnings(chat)]
        + join_warnings(joins)
    )
    parts["relay"]["ratio_bare"] = relay_vs_bare
    parts["relay"]["table"] += "\n\n" + "\n".join(ratio_lines(relay_vs_bare, BARE_RATIO_NAME))
    return {
        "config": {**asdict(cfg), "runs": runs},
        **parts,
        "warnings": warnings,
        "table": "\n\n".join(p["table"] for p in parts.values()),
    }
