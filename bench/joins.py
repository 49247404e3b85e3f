"""Workload "joins": a join storm. N customers arrive on an open-loop schedule (customer i
starts at t0 + i / rate, whatever came back so far) and each does what the browser does:
the team's join page facts (GET /api/join/team/{slug}), its name (POST /api/join into the
team's instant queue), its Socket.IO connection, `lobby_status` until "waiting"; then an
advisor (round robin over `advisors` advisor sockets, each its own account) picks it up
with `queue_pickup`, and the join is done when the customer's socket gets `lobby_state`
"admitted". Each join is timed from its scheduled start to that event.

The baseline (bench/bare_joins.py) answers the same requests and events with bare aiohttp
and python-socketio: a token in a dict, `enter_room` on connect, `lobby_state` emitted on
pickup. The same client code drives both (bench/idle.py's light Socket.IO client, one HTTP
client for all customers)."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.ab import Column, R, Ratio, interleave, show, summarise, table
from bench.idle import (
    STEP_TIMEOUT,
    LiteSocket,
    add_advisors,
    advisor_cookies,
    close_all,
    light_session,
    raise_nofile,
)
from bench.nodes import JoinCollector, letters
from bench.relay import percentile
from bench.servers import TEAM, Server, cpu_seconds, prepare_parley, spawn_bare, spawn_parley

BARE_JOINS = Path(__file__).resolve().parent / "bare_joins.py"
RUN_SLACK = 60.0
CLI_CONCURRENCY = 2  # data directories prepared at a time
# one burst fits in the queue and in a lobby; sockets per address: see spawn_parley. A join
# waits for its turn as long as the storm needs (the longest PARLEY_JOIN_WAIT_SECONDS
# allows) instead of being answered `busy` after 10 s: the workload measures how fast the
# node takes joins, not how the browser retries.
PARLEY_ENV = {
    "PARLEY_QUEUE_SIZE": "10000",
    "PARLEY_LOBBY_SIZE": "1000",
    "PARLEY_JOIN_WAIT_SECONDS": "120",
}

COLUMNS: list[Column] = [
    ("joins/s", "throughput", "{:.0f}"),
    ("all in s", "all_in_s", "{:.2f}"),
    ("p50 ms", "p50_ms", "{:.0f}"),
    ("p99 ms", "p99_ms", "{:.0f}"),
    ("max ms", "max_ms", "{:.0f}"),
    ("POST p50", "post_p50_ms", "{:.0f}"),
    ("POST p99", "post_p99_ms", "{:.0f}"),
    ("wait p99", "waiting_p99_ms", "{:.0f}"),
    ("failed", "failed", "{}"),
    ("srv CPU", "server_cpu", "{:.0%}"),
    ("srv ms/join", "server_ms_per_join", "{:.2f}"),
    ("gen CPU", "gen_cpu", "{:.0%}"),
    ("gen lag p99", "gen_lag_p99_ms", "{:.1f}"),
    ("load", "load_avg", "{:.1f}"),
    ("kept up", "kept_up", "{}"),
]
RATIOS: list[Ratio] = [
    ("joins/s", "throughput", False),
    ("join p50 latency", "p50_ms", False),
    ("join p99 latency", "p99_ms", False),
    ("join p99 latency, both kept up", "p99_ms", True),
    ("server CPU per join", "server_ms_per_join", False),
]


@dataclass(frozen=True)
class JoinsConfig:
    customers: int
    rate: float  # joins started per second, open loop
    advisors: int  # advisor accounts picking up, round robin
    drain: float  # seconds to wait for the last joins after the last scheduled start


@dataclass
class Collector(JoinCollector):
    """nodes.py's collector (latencies, POST times, lags, errors) plus the time to "waiting"
    and this workload's light sockets."""

    waiting: list[float] = field(default_factory=list)  # scheduled start -> "waiting"
    lite: list[LiteSocket] = field(default_factory=list)


def cookie_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


async def answer(resp: aiohttp.ClientResponse, jar: dict[str, str]) -> dict[str, Any]:
    body = await resp.json(content_type=None)
    if resp.status >= 400 or not isinstance(body, dict) or not body.get("ok"):
        raise RuntimeError(f"{resp.method} {resp.url.path} -> {resp.status} {body}")
    jar.update({name: morsel.value for name, morsel in resp.cookies.items()})
    return dict(body["data"])


def ok_data(reply: Any, what: str) -> dict[str, Any]:
    if not (isinstance(reply, dict) and reply.get("ok")):
        raise RuntimeError(f"{what} -> {reply}")
    return dict(reply.get("data") or {})


async def join_one(
    http: aiohttp.ClientSession,
    base: str,
    i: int,
    scheduled: float,
    advisors: list[LiteSocket],
    col: Collector,
) -> None:
    """One customer from the join page to "admitted" (see the module's docstring)."""
    jar: dict[str, str] = {}
    try:
        async with asyncio.timeout(STEP_TIMEOUT * 3):
            async with http.get(f"{base}/api/join/team/{TEAM}", headers={"Origin": base}) as r:
                facts = await answer(r, jar)
            csrf = next((v for k, v in jar.items() if k.endswith("csrf")), "")
            headers = {"Origin": base, "Cookie": cookie_header(jar), "X-CSRF-Token": csrf}
            body = {
                "team": TEAM,
                "first_name": "Bench",
                "last_name": f"Kunde {letters(i)}",
                "notice_version": facts["notice"]["version"],
            }
            posted = time.perf_counter()
            async with http.post(f"{base}/api/join", json=body, headers=headers) as r:
                joined = await answer(r, jar)
            col.posts.append(time.perf_counter() - posted)
            admitted = asyncio.Event()

            def lobby_state(data: Any = None, *_: Any) -> None:
                if isinstance(data, dict) and data.get("status") == "admitted":
                    admitted.set()

            sock = await LiteSocket.connect(
                http,
                base,
                {"Origin": base, "Cookie": cookie_header(jar)},
                handlers={"lobby_state": lobby_state},
            )
            col.lite.append(sock)
            status = ok_data(await sock.call("lobby_status", {}), "lobby_status")
            if status.get("status") != "waiting":
                raise RuntimeError(f"lobby_status {status}")
            col.waiting.append(time.perf_counter() - scheduled)
            advisor = advisors[i % len(advisors)]
            pickup = {"consultation_id": joined["consultation_id"]}
            ok_data(await advisor.call("queue_pickup", pickup), "queue_pickup")
            await admitted.wait()
        now = time.perf_counter()
        col.latencies.append(now - scheduled)
        col.last_done = max(col.last_done, now)
    except Exception as exc:  # counted and shown, the storm goes on
        col.failed(exc)


@dataclass
class JoinsResult:
    server: str
    run: int
    customers: int
    joined: int
    failed: int
    errors: dict[str, int]
    error_samples: dict[str, str]
    throughput: float  # customers admitted per second, from the first scheduled start
    all_in_s: float  # first scheduled start -> last customer admitted
    p50_ms: float
    p99_ms: float
    max_ms: float
    post_p50_ms: float
    post_p99_ms: float
    waiting_p99_ms: float  # scheduled start -> lobby_status "waiting"
    server_cpu: float  # share of one core over the storm
    server_ms_per_join: float
    gen_cpu: float
    gen_lag_p99_ms: float
    load_avg: float
    kept_up: bool  # everyone admitted, at >= 90 % of the offered rate

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def run_joins(
    server: Server, cookies: list[str | None], cfg: JoinsConfig, run: int
) -> JoinsResult:
    """One storm against a started server; `cookies` are the advisors' (None: the bare
    baseline's advisors, which need none)."""
    load_avg = os.getloadavg()[0]
    base = server.url
    col = Collector()
    tasks: list[asyncio.Task[None]] = []
    advisors: list[LiteSocket] = []
    async with light_session() as http:
        try:
            for cookie in cookies:
                headers = {"Origin": base, **({"Cookie": cookie} if cookie else {})}
                advisors.append(await LiteSocket.connect(http, base, headers))
            await asyncio.sleep(0.5)
            t0 = time.perf_counter() + 0.2
            cpu0, gen0 = cpu_seconds(server.pid), time.process_time()
            for i in range(cfg.customers):
                scheduled = t0 + i / cfg.rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                col.lags.append(time.perf_counter() - scheduled)
                tasks.append(asyncio.create_task(join_one(http, base, i, scheduled, advisors, col)))
            _, pending = await asyncio.wait(tasks, timeout=cfg.drain + STEP_TIMEOUT * 3)
            for task in pending:
                task.cancel()
                col.errors["unfinished"] += 1
            await asyncio.gather(*pending, return_exceptions=True)
            wall = max(time.perf_counter() - t0, 1e-9)
            server_cpu = cpu_seconds(server.pid) - cpu0
            gen_cpu = time.process_time() - gen0
        finally:
            for task in tasks:
                task.cancel()
            await close_all(col.lite + advisors)
    latencies, posts, lags = sorted(col.latencies), sorted(col.posts), sorted(col.lags)
    joined = len(latencies)
    span = col.last_done - t0
    throughput = joined / span if span > 0 else 0.0
    return JoinsResult(
        server=server.name,
        run=run,
        customers=cfg.customers,
        joined=joined,
        failed=cfg.customers - joined,
        errors=dict(col.errors),
        error_samples=col.error_samples,
        throughput=throughput,
        all_in_s=span if joined == cfg.customers else float("nan"),
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=(latencies[-1] if latencies else 0.0) * 1000,
        post_p50_ms=percentile(posts, 50) * 1000,
        post_p99_ms=percentile(posts, 99) * 1000,
        waiting_p99_ms=percentile(sorted(col.waiting), 99) * 1000,
        server_cpu=server_cpu / wall,
        server_ms_per_join=server_cpu / max(joined, 1) * 1000,
        gen_cpu=gen_cpu / wall,
        gen_lag_p99_ms=percentile(lags, 99) * 1000,
        load_avg=load_avg,
        kept_up=joined == cfg.customers and throughput >= 0.9 * cfg.rate,
    )


def warnings_of(results: list[JoinsResult]) -> list[str]:
    notes = []
    for r in results:
        tag = f"{r.server} run {r.run + 1}"
        if r.failed:
            notes.append(f"{tag}: {r.failed} of {r.customers} customers not admitted: {r.errors}")
            notes += [f"{tag}: first {kind}: {text}" for kind, text in r.error_samples.items()]
        if r.gen_cpu > 0.8:
            notes.append(f"{tag}: the load generator used {r.gen_cpu:.0%} of a core")
    return notes


def goal_notes(summary: dict[str, Any], results: list[JoinsResult], cfg: JoinsConfig) -> list[str]:
    out = []
    ratio = summary["throughput"]["median"]
    if ratio is not None:
        verdict = "met" if ratio >= 0.7 else "MISSED"
        out.append(f"target joins/s ratio >= 0.7x: {verdict} ({ratio:.2f}x)")
    parley = [r for r in results if r.server == "parley"]
    if parley:
        all_in = statistics.median(r.all_in_s for r in parley)
        p99 = statistics.median(r.p99_ms for r in parley)
        out.append(
            f"goal {cfg.customers} joins in < 3 s: {'met' if all_in < 3 else 'MISSED'} "
            f"({all_in:.2f} s, median); p99 join latency < 500 ms: "
            f"{'met' if p99 < 500 else 'MISSED'} ({p99:.0f} ms, median)"
        )
    return out


# one run of a join workload: (the server, its advisors' cookies or None for the bare
# server's, the run's number) -> its result
Measure = Callable[[Server, list[str | None], int], Awaitable[R]]


async def interleave_joins(
    runs: int, advisors: int, measure: Measure[R], limit: float, progress: Callable[[R], str]
) -> list[R]:
    """Run pairs of a join workload (this one, `long_queue`): Parley on a fresh data
    directory per run, with the team and `advisors` advisor accounts made by its CLI,
    against bench/bare_joins.py; `measure` drives one run."""
    raise_nofile()
    with tempfile.TemporaryDirectory(prefix="parley-bench-joins-") as tmp_name:
        tmp = Path(tmp_name)
        # a fresh Parley per run: a storm that Parley did not finish leaves its customers
        # waiting in the queue, and every later join would announce them all again
        dirs = [tmp / f"parley-data-{run + 1}" for run in range(runs)]
        gate = asyncio.Semaphore(CLI_CONCURRENCY)

        async def prepare(data_dir: Path) -> list[dict[str, str]]:
            async with gate:
                await asyncio.to_thread(prepare_parley, data_dir)
                return await asyncio.to_thread(add_advisors, data_dir, advisors)

        accounts = (await asyncio.gather(*(prepare(d) for d in dirs)))[0]

        def spawn(name: str, run: int) -> Server:
            log = tmp / f"joins-{name}-{run}.log"
            if name == "parley":
                return spawn_parley(dirs[run], log, PARLEY_ENV)
            return spawn_bare(log, BARE_JOINS)

        async def drive(server: Server, run: int) -> R:
            if server.name == "parley":
                cookies: list[str | None] = list(await advisor_cookies(server.url, accounts))
            else:
                cookies = [None] * advisors
            return await measure(server, cookies, run)

        return await interleave(runs, spawn, drive, limit, progress)


async def workload(cfg: JoinsConfig, runs: int) -> dict[str, Any]:
    results = await interleave_joins(
        runs,
        cfg.advisors,
        lambda server, cookies, run: run_joins(server, cookies, cfg, run),
        cfg.customers / cfg.rate + cfg.drain + STEP_TIMEOUT * 3 + RUN_SLACK,
        lambda r: (
            f"{r.throughput:.0f} joins/s, all in {r.all_in_s:.2f} s, "
            f"p99 {r.p99_ms:.0f} ms, failed {r.failed}"
        ),
    )
    summary = summarise(results, runs, RATIOS)
    header = (
        f"joins: {cfg.customers} customers into one team's instant queue at {cfg.rate:g} "
        f"joins/s offered, picked up by {cfg.advisors} advisors (queue_pickup)"
    )
    notes = goal_notes(summary, results, cfg)
    return {
        "config": {**asdict(cfg), "runs": runs},
        "runs": [r.as_dict() for r in results],
        "ratio": summary,
        "goals": notes,
        "warnings": warnings_of(results),
        "table": table(header, results, COLUMNS, summary) + "\n" + "\n".join(notes),
    }


FULL = JoinsConfig(customers=1000, rate=400.0, advisors=5, drain=20.0)
QUICK = JoinsConfig(customers=100, rate=200.0, advisors=2, drain=10.0)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.joins", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--customers", type=int)
    parser.add_argument("--rate", type=float)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cfg = QUICK if args.quick else FULL
    changes = {k: v for k, v in (("customers", args.customers), ("rate", args.rate)) if v}
    cfg = JoinsConfig(**{**asdict(cfg), **changes})
    runs = args.runs or (1 if args.quick else 5)
    result = asyncio.run(workload(cfg, runs))
    show(result, args.json)


if __name__ == "__main__":
    main()
