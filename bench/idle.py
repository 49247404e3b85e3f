"""Workload "idle": N idle, authenticated Socket.IO connections held open, and what they
cost the server in memory: resident set size with N connections minus before, over N.

Parley's connections are advisor sockets: each load-generator process logs in one advisor
account of its own (`bench-advisor`, `bench-advisor-2`, ...) and opens its share of the
sockets with that session cookie, as an advisor with many tabs would. Customers cannot be
used at this scale: every customer needs a POST /api/join of its own, and the "same customer
twice" rule closes a customer's older socket. The baseline (bench/bare_idle.py) is bare
python-socketio with Parley's transport settings, connected to by the same clients.

The clients are light: a raw websocket per connection (aiohttp), the Engine.IO/Socket.IO
handshake by hand ("40" to connect the default namespace, "3" for every ping "2"), spread
over several load-generator processes (`python -m bench.idle --generator SPEC`), each
starting its connections on an open-loop schedule (at most `inflight` handshakes pending)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.ab import Column, Ratio, interleave, show, summarise, table
from bench.relay import parley_login, percentile
from bench.servers import (
    ADVISOR,
    PASSWORD,
    ROOT,
    TEAM,
    Server,
    cpu_seconds,
    memory_kib,
    parley_executable,
    prepare_parley,
    reset_peak_rss,
    spawn_bare,
    spawn_parley,
)

BARE_IDLE = Path(__file__).resolve().parent / "bare_idle.py"
STEP_TIMEOUT = 15.0  # one handshake, one request
WARMUP_SOCKETS = 20  # opened and closed before the "before" RSS: first-use allocations
SAMPLE_EVERY = 0.5  # seconds between RSS samples while holding
GENERATOR_START = 30.0  # seconds for a generator process to report its connections
CLOSE_TIMEOUT = 30.0
RUN_SLACK = 90.0
CLI_TIMEOUT = 60.0
KIB = 1024
MIN_CONNECT_RATE = 25.0  # connections per second and generator a slow server still gets

COLUMNS: list[Column] = [
    ("conns", "connected", "{}"),
    ("KiB/conn", "kib_per_conn", "{:.1f}"),
    ("peak KiB/conn", "peak_kib_per_conn", "{:.1f}"),
    ("RSS before MiB", "rss_before_mib", "{:.1f}"),
    ("RSS held MiB", "rss_held_mib", "{:.1f}"),
    ("conn/s", "connect_rate", "{:.0f}"),
    ("conn p99 ms", "connect_p99_ms", "{:.0f}"),
    ("srv ms/conn", "server_ms_per_conn", "{:.2f}"),
    ("dropped", "dropped", "{}"),
    ("failed", "failed", "{}"),
    ("load", "load_avg", "{:.1f}"),
]
RATIOS: list[Ratio] = [
    ("RSS per connection", "kib_per_conn", False),
    ("peak RSS per connection", "peak_kib_per_conn", False),
    ("server CPU per connect", "server_ms_per_conn", False),
]


@dataclass(frozen=True)
class IdleConfig:
    connections: int  # held at once, over all generator processes
    generators: int  # load-generator processes
    rate: float  # connections started per second, all generators together (open loop)
    inflight: int  # at most this many handshakes pending per generator
    settle: float  # seconds after the last connection before sampling
    hold: float  # seconds of RSS samples while the connections are held


# -- a light Socket.IO client: one raw websocket, no reconnection, no polling ---------------


class Refused(Exception):
    """The server refused the Socket.IO connection (a "44" connect error)."""


class LiteSocket:
    """A Socket.IO 5 / Engine.IO 4 client on one aiohttp websocket: the handshake, pings
    answered, events with acknowledgements, handlers for the events one cares about.
    Enough for the benchmarks; a fraction of python-socketio's client per connection."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.handlers: dict[str, Callable[..., None]] = {}
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._next = 0
        self._reader: asyncio.Task[None] | None = None
        self.alive = True

    @classmethod
    async def connect(
        cls,
        http: aiohttp.ClientSession,
        base: str,
        headers: dict[str, str],
        limit: float = STEP_TIMEOUT,
        handlers: dict[str, Callable[..., None]] | None = None,
    ) -> LiteSocket:
        url = base.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        async with asyncio.timeout(limit):
            ws = await http.ws_connect(url, headers=headers, max_msg_size=0, autoclose=True)
            try:
                opened = await ws.receive_str()
                if not opened.startswith("0"):
                    raise Refused(f"no Engine.IO open packet: {opened[:100]!r}")
                await ws.send_str("40")
                while True:
                    answer = await ws.receive_str()
                    if answer == "2":
                        await ws.send_str("3")
                        continue
                    break
                if answer.startswith("44"):
                    raise Refused(answer[2:300])
                if not answer.startswith("40"):
                    raise Refused(f"unexpected {answer[:100]!r}")
            except BaseException:
                await ws.close()
                raise
        sock = cls(ws)
        sock.handlers.update(handlers or {})
        sock._reader = asyncio.create_task(sock._read())
        return sock

    async def _read(self) -> None:
        ws = self.ws
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data: str = msg.data
                if data == "2":
                    await ws.send_str("3")
                elif data.startswith("43"):
                    cut = data.index("[")
                    future = self._acks.pop(int(data[2:cut]), None)
                    if future is not None and not future.done():
                        args = json.loads(data[cut:])
                        future.set_result(args[0] if args else None)
                elif data.startswith("42") and self.handlers:
                    cut = data.index("[")
                    name, *args = json.loads(data[cut:])
                    handler = self.handlers.get(name)
                    if handler is not None:
                        handler(*args)
                elif data.startswith("41") or data == "1":
                    break
        finally:
            self.alive = False
            for future in self._acks.values():
                if not future.done():
                    future.set_exception(ConnectionError("socket closed"))
            self._acks.clear()

    async def call(self, event: str, data: Any, limit: float = STEP_TIMEOUT) -> Any:
        """Emit `event` with an acknowledgement and return the acknowledged value."""
        if not self.alive:
            raise ConnectionError("socket closed")
        ack_id = self._next
        self._next += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        await self.ws.send_str(f"42{ack_id}" + json.dumps([event, data], separators=(",", ":")))
        try:
            return await asyncio.wait_for(future, limit)
        finally:
            self._acks.pop(ack_id, None)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            if not self.ws.closed:
                await self.ws.send_str("41")
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader


async def close_all(sockets: list[LiteSocket], limit: float = CLOSE_TIMEOUT) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(limit):
            await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)


def connect_limit(count: int) -> float:
    """Seconds a generator waits for its last connection after its last scheduled start:
    enough at MIN_CONNECT_RATE per generator, however fast they were offered."""
    return STEP_TIMEOUT * 4 + count / MIN_CONNECT_RATE


def raise_nofile() -> int:
    """The soft limit of open files up to the hard one (children inherit it): the server
    and the generators hold thousands of sockets. Returns the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def light_session() -> aiohttp.ClientSession:
    """One HTTP client for many connections: no pool limit, no cookie jar (each connection
    sends its own Cookie header)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=STEP_TIMEOUT),
    )


# -- a load-generator process ----------------------------------------------------------------


async def generate(spec: dict[str, Any]) -> None:
    """In a generator process: open `count` connections to `base` with `cookie`, started
    at `rate` per second, report them as one JSON line, hold them until a line (or EOF) on
    stdin or `limit` seconds, report how many were still alive, close them."""
    raise_nofile()
    count, rate, inflight = int(spec["count"]), float(spec["rate"]), int(spec["inflight"])
    headers = {"Origin": spec["base"]}
    if spec.get("cookie"):
        headers["Cookie"] = spec["cookie"]
    sockets: list[LiteSocket] = []
    errors: Counter[str] = Counter()
    samples: dict[str, str] = {}
    latencies: list[float] = []
    gate = asyncio.Semaphore(inflight)
    loop = asyncio.get_running_loop()
    async with light_session() as http:

        async def one(scheduled: float) -> None:
            async with gate:
                try:
                    sock = await LiteSocket.connect(http, spec["base"], headers)
                except Exception as exc:  # counted and shown, the others go on
                    errors[type(exc).__name__] += 1
                    samples.setdefault(type(exc).__name__, str(exc)[:300])
                    return
                sockets.append(sock)
                latencies.append(time.perf_counter() - scheduled)

        t0 = time.perf_counter() + 0.05
        tasks = []
        for i in range(count):
            scheduled = t0 + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(scheduled)))
        _, pending = await asyncio.wait(tasks, timeout=connect_limit(count))
        for task in pending:
            task.cancel()
            errors["unfinished"] += 1
        connected_s = time.perf_counter() - t0
        latencies.sort()
        report = {
            "connected": len(sockets),
            "failed": count - len(sockets),
            "errors": dict(errors),
            "error_samples": samples,
            "connect_s": connected_s,
            "p50_ms": percentile(latencies, 50) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000,
        }
        print(json.dumps(report), flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), spec["limit"])
        alive = sum(s.alive for s in sockets)
        await close_all(sockets)
        print(json.dumps({"alive": alive}), flush=True)


@dataclass
class Generator:
    proc: asyncio.subprocess.Process

    async def line(self, limit: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), limit)
        if not raw:
            raise RuntimeError(f"a generator exited early ({await self.proc.wait()})")
        return dict(json.loads(raw))

    async def release(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.write(b"close\n")
            await self.proc.stdin.drain()

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()


async def start_generator(spec: dict[str, Any]) -> Generator:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.idle",
        "--generator",
        json.dumps(spec),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    return Generator(proc)


# -- Parley's advisor accounts ---------------------------------------------------------------


def advisor_name(i: int) -> str:
    return ADVISOR if i == 0 else f"{ADVISOR}-{i + 1}"


def add_advisors(data_dir: Path, count: int) -> list[dict[str, str]]:
    """The advisor accounts 2..count of the bench team (the first is `prepare_parley`'s),
    with Parley's own CLI."""
    for i in range(1, count):
        done = subprocess.run(  # noqa: S603 (our own CLI, fixed arguments)
            [
                parley_executable(),
                "advisor",
                "add",
                "--username",
                advisor_name(i),
                "--team",
                TEAM,
                "--password-stdin",
                "--data-dir",
                str(data_dir),
            ],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")},
            cwd=ROOT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"advisor add failed: {done.stderr.strip()}")
    return [{"username": advisor_name(i), "password": PASSWORD, "team": TEAM} for i in range(count)]


async def advisor_cookies(base: str, accounts: list[dict[str, str]]) -> list[str]:
    cookies = []
    for account in accounts:
        http = await parley_login(base, account)
        try:
            cookies.append(http.cookie_header())
        finally:
            await http.close()
    return cookies


# -- the run ---------------------------------------------------------------------------------


@dataclass
class IdleResult:
    server: str
    run: int
    connections: int
    connected: int
    failed: int
    dropped: int  # connected, but gone by the end of the hold
    errors: dict[str, int]
    error_samples: dict[str, str]
    rss_before_mib: float
    rss_held_mib: float
    kib_per_conn: float  # (RSS held - RSS before) / connected
    peak_kib_per_conn: float  # (peak RSS - RSS before) / connected
    rss_samples_mib: list[float]
    connect_rate: float  # connections per second over the connect phase
    connect_p99_ms: float  # scheduled start -> connected, worst generator's p99
    server_ms_per_conn: float  # server CPU over the connect phase, per connection
    load_avg: float
    kept_up: bool = True
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def connect_phase(cfg: IdleConfig) -> float:
    """Seconds until every generator must have reported its connections."""
    per_generator = -(-cfg.connections // cfg.generators)
    return GENERATOR_START + cfg.connections / cfg.rate + connect_limit(per_generator)


def rss_kib(pid: int) -> int:
    return memory_kib(pid).get("VmRSS", 0)


async def warm_up(base: str, cookie: str | None) -> None:
    """Open and close a few connections, so that first-use allocations (imports done
    lazily, pools, caches) are in the "before" figure of both servers alike."""
    headers = {"Origin": base, **({"Cookie": cookie} if cookie else {})}
    async with light_session() as http:
        sockets = await asyncio.gather(
            *(LiteSocket.connect(http, base, headers) for _ in range(WARMUP_SOCKETS))
        )
        await close_all(list(sockets))
    await asyncio.sleep(1.0)


async def run_idle(
    server: Server, cookies: list[str | None], cfg: IdleConfig, run: int
) -> IdleResult:
    """One run against a started server: warm up, the "before" RSS, the generators'
    connections, RSS samples while they are held, then close everything."""
    load_avg = os.getloadavg()[0]
    pid = server.pid
    await warm_up(server.url, cookies[0])
    before = rss_kib(pid)
    reset_peak_rss(pid)
    cpu0 = cpu_seconds(pid)
    shares = [cfg.connections // cfg.generators] * cfg.generators
    for i in range(cfg.connections % cfg.generators):
        shares[i] += 1
    limit = cfg.settle + cfg.hold + RUN_SLACK  # a generator's hold, should we never release
    generators: list[Generator] = []
    try:
        for i, share in enumerate(shares):
            spec = {
                "base": server.url,
                "cookie": cookies[i % len(cookies)],
                "count": share,
                "rate": cfg.rate / cfg.generators,
                "inflight": cfg.inflight,
                "limit": limit,
            }
            generators.append(await start_generator(spec))
        reports = await asyncio.gather(*(g.line(connect_phase(cfg)) for g in generators))
        connect_cpu = cpu_seconds(pid) - cpu0
        await asyncio.sleep(cfg.settle)
        samples = []
        deadline = time.perf_counter() + cfg.hold
        while True:
            samples.append(rss_kib(pid))
            if time.perf_counter() >= deadline:
                break
            await asyncio.sleep(SAMPLE_EVERY)
        peak = memory_kib(pid).get("VmHWM", 0)
        for g in generators:
            await g.release()
        closed = await asyncio.gather(*(g.line(CLOSE_TIMEOUT + 10) for g in generators))
    finally:
        await asyncio.gather(*(g.stop() for g in generators), return_exceptions=True)
    connected = sum(r["connected"] for r in reports)
    errors: Counter[str] = Counter()
    error_samples: dict[str, str] = {}
    for r in reports:
        errors.update(r["errors"])
        for kind, text in r["error_samples"].items():
            error_samples.setdefault(kind, text)
    held = statistics.median(samples)
    n = max(connected, 1)
    connect_s = max(r["connect_s"] for r in reports)
    return IdleResult(
        server=server.name,
        run=run,
        connections=cfg.connections,
        connected=connected,
        failed=cfg.connections - connected,
        dropped=connected - sum(c["alive"] for c in closed),
        errors=dict(errors),
        error_samples=error_samples,
        rss_before_mib=before / KIB,
        rss_held_mib=held / KIB,
        kib_per_conn=(held - before) / n,
        peak_kib_per_conn=(peak - before) / n,
        rss_samples_mib=[round(s / KIB, 2) for s in samples],
        connect_rate=connected / connect_s if connect_s > 0 else 0.0,
        connect_p99_ms=max(r["p99_ms"] for r in reports),
        server_ms_per_conn=connect_cpu / n * 1000,
        load_avg=load_avg,
    )


def warnings_of(results: list[IdleResult]) -> list[str]:
    notes = []
    for r in results:
        tag = f"{r.server} run {r.run + 1}"
        if r.failed:
            notes.append(f"{tag}: {r.failed} of {r.connections} connections failed: {r.errors}")
            notes += [f"{tag}: first {kind}: {text}" for kind, text in r.error_samples.items()]
        if r.dropped:
            notes.append(f"{tag}: {r.dropped} connections dropped while held")
    return notes


def goal_notes(summary: dict[str, Any], results: list[IdleResult]) -> list[str]:
    ratio = summary["kib_per_conn"]["median"]
    parley = [r.kib_per_conn for r in results if r.server == "parley"]
    out = []
    if ratio is not None:
        verdict = "met" if ratio <= 1.25 else "MISSED"
        out.append(f"target RSS/connection ratio <= 1.25x: {verdict} ({ratio:.2f}x)")
    if parley:
        med = statistics.median(parley)
        kb = med * KIB / 1000
        verdict = "met" if kb <= 45 else "MISSED"
        out.append(f"goal <= 45 KB/connection: {verdict} ({med:.1f} KiB = {kb:.1f} KB, median)")
    return out


async def workload(cfg: IdleConfig, runs: int) -> dict[str, Any]:
    nofile = raise_nofile()
    per_gen = -(-cfg.connections // cfg.generators)
    if nofile < cfg.connections + 512 or nofile < per_gen + 512:
        raise RuntimeError(
            f"open-files limit {nofile} is too low for {cfg.connections} connections"
        )
    with tempfile.TemporaryDirectory(prefix="parley-bench-idle-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = tmp / "parley-data"
        await asyncio.to_thread(prepare_parley, data_dir)
        accounts = await asyncio.to_thread(add_advisors, data_dir, cfg.generators)

        def spawn(name: str, run: int) -> Server:
            log = tmp / f"idle-{name}-{run}.log"
            if name == "parley":
                return spawn_parley(data_dir, log)
            return spawn_bare(log, BARE_IDLE)

        async def drive(server: Server, run: int) -> IdleResult:
            if server.name == "parley":
                cookies: list[str | None] = list(await advisor_cookies(server.url, accounts))
            else:
                cookies = [None]
            return await run_idle(server, cookies, cfg, run)

        results = await interleave(
            runs,
            spawn,
            drive,
            connect_phase(cfg) + cfg.settle + cfg.hold + CLOSE_TIMEOUT + RUN_SLACK,
            lambda r: (
                f"{r.connected} connections, {r.kib_per_conn:.1f} KiB/conn "
                f"(peak {r.peak_kib_per_conn:.1f}), {r.connect_rate:.0f} conn/s"
            ),
        )
    summary = summarise(results, runs, RATIOS)
    header = (
        f"idle: {cfg.connections} idle authenticated connections from {cfg.generators} "
        f"generator processes ({cfg.rate:g} conn/s offered), RSS sampled for {cfg.hold:g} s "
        f"after {cfg.settle:g} s"
    )
    notes = goal_notes(summary, results)
    return {
        "config": {**asdict(cfg), "runs": runs},
        "runs": [r.as_dict() for r in results],
        "ratio": summary,
        "goals": notes,
        "warnings": warnings_of(results),
        "table": table(header, results, COLUMNS, summary) + "\n" + "\n".join(notes),
    }


FULL = IdleConfig(connections=10_000, generators=4, rate=500.0, inflight=64, settle=3.0, hold=5.0)
QUICK = IdleConfig(connections=500, generators=2, rate=500.0, inflight=32, settle=1.0, hold=1.0)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.idle", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--connections", type=int)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--generator", help=argparse.SUPPRESS)  # a load-generator process
    args = parser.parse_args()
    if args.generator:
        asyncio.run(generate(json.loads(args.generator)))
        return
    cfg = QUICK if args.quick else FULL
    if args.connections:
        cfg = IdleConfig(**{**asdict(cfg), "connections": args.connections})
    runs = args.runs or (1 if args.quick else 5)
    result = asyncio.run(workload(cfg, runs))
    show(result, args.json)


if __name__ == "__main__":
    main()
