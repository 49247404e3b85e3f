"""Workload "long_queue": a long team queue. N customers join one team's instant queue (the
join page's facts, GET /api/join/team/{slug}, then POST /api/join) at a steady rate, open
loop, while `advisors` advisor sockets listen and nobody picks anyone up; so the queue is
i customers long when customer i joins. Every join is announced to the team, so what a
join costs may grow with the queue: the server's CPU per join is taken over the first
`segment` joins (a short queue) and over the last `segment` (a long one).

The baseline is bench/bare_joins.py, the `joins` workload's: the same requests answered
with a token in a dict, no announcements. Its CPU per join does not depend on the queue."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.ab import Column, Ratio, show, summarise, table
from bench.idle import STEP_TIMEOUT, LiteSocket, close_all, light_session
from bench.joins import answer, cookie_header, interleave_joins
from bench.nodes import letters
from bench.relay import percentile
from bench.servers import TEAM, Server, cpu_seconds

SETTLE = 1.0  # seconds after a segment's last join for its announcements to go out

COLUMNS: list[Column] = [
    ("joined", "joined", "{}"),
    ("failed", "failed", "{}"),
    ("ms/join short", "short_ms", "{:.2f}"),
    ("ms/join long", "long_ms", "{:.2f}"),
    ("long/short", "growth", "{:.2f}"),
    ("gen lag p99", "lag_p99_ms", "{:.1f}"),
    ("load", "load_avg", "{:.1f}"),
]
RATIOS: list[Ratio] = [
    ("server CPU per join, short queue", "short_ms", False),
    ("server CPU per join, long queue", "long_ms", False),
]


@dataclass(frozen=True)
class QueueConfig:
    customers: int
    segment: int  # joins measured at each end of the queue
    rate: float  # joins started per second, open loop
    advisors: int


@dataclass
class QueueResult:
    server: str
    run: int
    joined: int
    failed: int
    short_ms: float  # server CPU per join over the first `segment` joins
    long_ms: float  # ... over the last `segment`
    growth: float
    lag_p99_ms: float
    load_avg: float
    errors: dict[str, int] = field(default_factory=dict)


async def join(http: aiohttp.ClientSession, base: str, i: int) -> None:
    jar: dict[str, str] = {}
    async with asyncio.timeout(STEP_TIMEOUT * 2):
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
        async with http.post(f"{base}/api/join", json=body, headers=headers) as r:
            await answer(r, jar)


async def run_queue(
    server: Server, cookies: list[str | None], cfg: QueueConfig, run: int
) -> QueueResult:
    load_avg = os.getloadavg()[0]
    base = server.url
    errors: dict[str, int] = {}
    lags: list[float] = []
    joined = 0

    async def one(i: int) -> None:
        nonlocal joined
        try:
            await join(http, base, i)
            joined += 1
        except Exception as exc:  # counted and shown, the run goes on
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

    async def segment(first: int, last: int) -> float:
        """Joins first..last-1 on the open-loop schedule; server CPU seconds they took."""
        cpu0 = cpu_seconds(server.pid)
        t0 = time.perf_counter()
        tasks = []
        for i in range(first, last):
            scheduled = t0 + (i - first) / cfg.rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            lags.append(time.perf_counter() - scheduled)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        await asyncio.sleep(SETTLE)
        return cpu_seconds(server.pid) - cpu0

    advisors: list[LiteSocket] = []
    async with light_session() as http:
        try:
            for cookie in cookies:
                headers = {"Origin": base, **({"Cookie": cookie} if cookie else {})}
                advisors.append(await LiteSocket.connect(http, base, headers))
            short = await segment(0, cfg.segment)
            await segment(cfg.segment, cfg.customers - cfg.segment)
            long = await segment(cfg.customers - cfg.segment, cfg.customers)
        finally:
            await close_all(advisors)
    lags.sort()
    short_ms, long_ms = short / cfg.segment * 1000, long / cfg.segment * 1000
    return QueueResult(
        server=server.name,
        run=run,
        joined=joined,
        failed=cfg.customers - joined,
        short_ms=short_ms,
        long_ms=long_ms,
        growth=long_ms / short_ms if short_ms else float("nan"),
        lag_p99_ms=percentile(lags, 99) * 1000,
        load_avg=load_avg,
        errors=errors,
    )


async def workload(cfg: QueueConfig, runs: int) -> dict[str, Any]:
    results = await interleave_joins(
        runs,
        cfg.advisors,
        lambda server, cookies, run: run_queue(server, cookies, cfg, run),
        cfg.customers / cfg.rate * 3 + 120,
        lambda r: f"{r.short_ms:.2f} -> {r.long_ms:.2f} ms/join, failed {r.failed}",
    )
    summary = summarise(results, runs, RATIOS)
    header = (
        f"long_queue: {cfg.customers} customers join one team's queue at {cfg.rate:g}/s, nobody "
        f"picks up, {cfg.advisors} advisors listen; CPU per join over the first and the "
        f"last {cfg.segment}"
    )
    return {
        "config": {**asdict(cfg), "runs": runs},
        "runs": [asdict(r) for r in results],
        "ratio": summary,
        "warnings": [
            f"{r.server} run {r.run + 1}: {r.failed} of {cfg.customers} joins failed: {r.errors}"
            for r in results
            if r.failed
        ],
        "table": table(header, results, COLUMNS, summary),
    }


FULL = QueueConfig(customers=600, segment=100, rate=50.0, advisors=5)
QUICK = QueueConfig(customers=60, segment=20, rate=50.0, advisors=2)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.long_queue", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--customers", type=int)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cfg = QUICK if args.quick else FULL
    if args.customers:
        cfg = QueueConfig(**{**asdict(cfg), "customers": max(args.customers, 2 * cfg.segment)})
    runs = args.runs or (1 if args.quick else 3)
    result = asyncio.run(workload(cfg, runs))
    show(result, args.json)


if __name__ == "__main__":
    main()
