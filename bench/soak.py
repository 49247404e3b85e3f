"""Workload "soak" (issue 8's S12): the relay for ten minutes among 1,000 connected clients,
and what it does to the server over time: how long the event loop takes to answer, and
whether the resident memory keeps growing.

The traffic is the `relay` workload's (bench/relay.py, the same code): P pairs exchanging
ICE candidates on an open-loop schedule, C idle clients connected besides (the crowd),
against Parley and against the bare python-socketio relay, interleaved. Beside it a prober
sends `GET /healthz` every `probe_interval` seconds over one kept-alive connection and
times the answer: a request that waits behind whatever the server's event loop is busy
with, so its p99 stands for the loop's lag (plus a constant: the HTTP round trip and each
server's middleware). The server's RSS is sampled every `rss_interval` seconds; the report
compares the RSS a fifth into the measured time (2 min of 10) with the RSS at its end.

Only signalling, for both servers: the issue's baseline is a bare relay, and mixed traffic
(chat, whiteboard, files) over ten minutes is tests/soak.py's, which CI runs with its own
memory check."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.ab import Column, Ratio, interleave, summarise, table
from bench.idle import rss_kib
from bench.relay import PARLEY_ENV, RelayConfig, RelayResult, percentile, run_relay
from bench.relay import warnings_of as relay_warnings
from bench.servers import Server, prepare_parley, spawn_bare, spawn_parley

EARLY = 0.2  # where in the measured time the "early" RSS is taken (2 min of 10)
RUN_SLACK = 240.0  # seconds a run may take beyond sending and draining (crowd, pairs)
PROBE_TIMEOUT = 10.0  # a probe that takes longer counts as this long

COLUMNS: list[Column] = [
    ("msg/s", "throughput", "{:.0f}"),
    ("p99 ms", "p99_ms", "{:.1f}"),
    ("lost", "lost", "{}"),
    ("probes", "probes", "{}"),
    ("probe p50", "probe_p50_ms", "{:.2f}"),
    ("probe p99", "probe_p99_ms", "{:.2f}"),
    ("probe max", "probe_max_ms", "{:.1f}"),
    ("RSS early MiB", "rss_early_mib", "{:.1f}"),
    ("RSS end MiB", "rss_end_mib", "{:.1f}"),
    ("growth", "rss_growth", "{:.3f}"),
    ("srv us/msg", "server_us_per_msg", "{:.0f}"),
    ("crowd", "crowd", "{}"),
    ("load", "load_avg", "{:.1f}"),
    ("kept up", "kept_up", "{}"),
]
RATIOS: list[Ratio] = [
    ("event-loop lag p99 (healthz probe)", "probe_p99_ms", False),
    ("event-loop lag p50 (healthz probe)", "probe_p50_ms", False),
    ("RSS growth, end / early", "rss_growth", False),
    ("relay p99 latency", "p99_ms", False),
    ("server CPU per message", "server_us_per_msg", False),
]


@dataclass(frozen=True)
class SoakConfig:
    pairs: int
    crowd: int
    rate: float  # relay messages per second, all senders together
    duration: float  # measured seconds
    warmup: float
    drain: float
    probe_interval: float  # seconds between healthz probes
    rss_interval: float  # seconds between RSS samples

    @property
    def relay(self) -> RelayConfig:
        return RelayConfig(
            self.pairs, self.rate, self.duration, self.warmup, self.drain, self.crowd
        )


FULL = SoakConfig(100, 800, 500.0, 600.0, 5.0, 10.0, 0.2, 5.0)
QUICK = SoakConfig(5, 10, 100.0, 5.0, 0.5, 5.0, 0.1, 0.5)


@dataclass
class Samples:
    probes: list[tuple[float, float]]  # (sent at, seconds to the answer)
    rss: list[tuple[float, int]]  # (taken at, KiB)


async def sample(server: Server, cfg: SoakConfig, stop: asyncio.Event) -> Samples:
    """Probe /healthz and sample RSS until `stop`; every loop bounded."""
    out = Samples([], [])
    timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT)
    every = max(1, round(cfg.rss_interval / cfg.probe_interval))
    async with aiohttp.ClientSession(timeout=timeout) as http:
        tick = 0
        while not stop.is_set():
            started = time.perf_counter()
            try:
                async with http.get(server.url + "/healthz") as response:
                    await response.read()
                took = time.perf_counter() - started
            except (aiohttp.ClientError, TimeoutError):
                took = PROBE_TIMEOUT
            out.probes.append((started, took))
            if tick % every == 0:
                out.rss.append((time.perf_counter(), rss_kib(server.pid)))
            tick += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(cfg.probe_interval - took, 0.0))
    return out


@dataclass
class SoakResult:
    server: str
    run: int
    throughput: float
    p99_ms: float
    lost: int
    server_us_per_msg: float
    crowd: int
    probes: int
    probe_p50_ms: float
    probe_p99_ms: float
    probe_max_ms: float
    rss_early_mib: float
    rss_end_mib: float
    rss_growth: float
    load_avg: float
    kept_up: bool
    relay: RelayResult

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def run_soak(
    server: Server, account: dict[str, str] | None, cfg: SoakConfig, run: int
) -> SoakResult:
    load_avg = os.getloadavg()[0]
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample(server, cfg, stop))
    try:
        relay = await run_relay(server, account, cfg.relay, run)
    finally:
        stop.set()
        samples = await sampler
    start = relay.sending_started + cfg.warmup
    end = start + cfg.duration
    probes = sorted(took for at, took in samples.probes if start <= at <= end)
    early = [kib for at, kib in samples.rss if at >= start + EARLY * cfg.duration]
    late = [kib for at, kib in samples.rss if at <= end]
    if not probes or not early or not late:
        raise RuntimeError("the run left no probe or RSS sample in its measured time")
    rss_early, rss_end = early[0], late[-1]
    return SoakResult(
        server=server.name,
        run=run,
        throughput=relay.throughput,
        p99_ms=relay.p99_ms,
        lost=relay.lost,
        server_us_per_msg=relay.server_us_per_msg,
        crowd=relay.crowd,
        probes=len(probes),
        probe_p50_ms=percentile(probes, 50) * 1000,
        probe_p99_ms=percentile(probes, 99) * 1000,
        probe_max_ms=probes[-1] * 1000,
        rss_early_mib=rss_early / 1024,
        rss_end_mib=rss_end / 1024,
        rss_growth=rss_end / rss_early,
        load_avg=load_avg,
        kept_up=relay.kept_up,
        relay=relay,
    )


def goal_notes(results: list[SoakResult]) -> list[str]:
    notes = []
    for r in results:
        if r.rss_growth > 1.05:
            notes.append(
                f"{r.server} run {r.run + 1}: RSS grew {r.rss_growth:.3f}x from early to end "
                "(S12 asks for at most 1.05x)"
            )
        if r.probe_max_ms >= PROBE_TIMEOUT * 1000:
            notes.append(f"{r.server} run {r.run + 1}: a probe got no answer in time")
    return notes


async def workload(cfg: SoakConfig, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="parley-bench-soak-") as tmp_name:
        tmp = Path(tmp_name)
        account = await asyncio.to_thread(prepare_parley, tmp / "parley-data")

        def spawn(name: str, run: int) -> Server:
            log = tmp / f"soak-{name}-{run}.log"
            if name == "parley":
                return spawn_parley(tmp / "parley-data", log, PARLEY_ENV)
            return spawn_bare(log)

        async def drive(server: Server, run: int) -> SoakResult:
            return await run_soak(server, account if server.name == "parley" else None, cfg, run)

        results = await interleave(
            runs,
            spawn,
            drive,
            cfg.warmup + cfg.duration + cfg.drain + RUN_SLACK,
            lambda r: (
                f"{r.throughput:.0f} msg/s, lost {r.lost}, probe p99 {r.probe_p99_ms:.2f} ms, "
                f"RSS {r.rss_early_mib:.1f} -> {r.rss_end_mib:.1f} MiB"
            ),
        )
    summary = summarise(results, runs, RATIOS)
    header = (
        f"soak: {cfg.pairs} pairs relaying {cfg.rate:g} msg/s among {2 * cfg.pairs + cfg.crowd} "
        f"connected clients for {cfg.duration:g} s after {cfg.warmup:g} s warm-up; healthz "
        f"probe every {cfg.probe_interval:g} s, RSS every {cfg.rss_interval:g} s, early RSS "
        f"at {EARLY * cfg.duration:g} s"
    )
    return {
        "config": {**asdict(cfg), "runs": runs},
        "runs": [r.as_dict() for r in results],
        "ratio": summary,
        "warnings": goal_notes(results) + relay_warnings([r.relay for r in results]),
        "table": table(header, results, COLUMNS, summary),
    }
