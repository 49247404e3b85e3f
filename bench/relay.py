"""Workload "relay": P pairs of sockets in P rooms; every socket sends ICE candidates to its
peer on a fixed open-loop schedule, and we time each one from its scheduled send time to its
arrival at the peer.

The same traffic goes to Parley (`rtc_signal` after login, invite, join, admit, room_join)
and to the bare baseline (`signal` after `join`): the same payload dicts, the same rate,
the same pairs, acknowledgements requested in both (Parley's browser client uses
emitWithAck)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import socketio

from bench.ab import Column, Ratio, interleave, summarise, table
from bench.servers import (
    Nodes,
    Server,
    customer_url,
    prepare_parley,
    server_cpu_seconds,
    spawn_bare,
    spawn_parley,
)

if TYPE_CHECKING:
    from bench.idle import Generator  # bench.idle imports this module

STEP_TIMEOUT = 15.0  # every single setup step (request, connect, ack, event) is bounded
# the benchmark's one advisor account is in every pair; Parley's event limit is per person
# (100/s), which a real advisor with one consultation at a time never reaches
PARLEY_ENV = {"PARLEY_EVENTS_PER_SECOND": "100000"}
CROWD_RATE = 200.0  # idle clients connected per second before a run
CROWD_HOLD = 900.0  # seconds the idle clients stay at most, should nobody release them
SETUP_CONCURRENCY = 8  # pairs set up at a time
TEARDOWN_TIMEOUT = 15.0
# a server that keeps up relays the median message in a few ms; one that falls behind queues
# it for hundreds of ms to seconds, so the threshold is not delicate
KEPT_UP_P50_MS = 50.0
CANDIDATE = "candidate:{seq} 1 udp 2122260223 192.0.2.2 54321 typ host"
RUN_SLACK = 120.0  # seconds a run may take beyond its sending and draining (setup, start)

COLUMNS: list[Column] = [
    ("msg/s", "throughput", "{:.0f}"),
    ("p50 ms", "p50_ms", "{:.1f}"),
    ("p99 ms", "p99_ms", "{:.1f}"),
    ("max ms", "max_ms", "{:.1f}"),
    ("lost", "lost", "{}"),
    ("srv CPU", "server_cpu", "{:.0%}"),
    ("srv us/msg", "server_us_per_msg", "{:.0f}"),
    ("gen CPU", "gen_cpu", "{:.0%}"),
    ("gen lag p99", "gen_lag_p99_ms", "{:.1f}"),
    ("setup s", "setup_s", "{:.1f}"),
    ("crowd", "crowd", "{}"),
    ("load", "load_avg", "{:.1f}"),
    ("kept up", "kept_up", "{}"),  # a bool, shown as yes/no
]
RATIOS: list[Ratio] = [
    ("throughput", "throughput", False),
    ("p50 latency", "p50_ms", False),
    ("p99 latency", "p99_ms", False),
    ("p99 latency, both kept up", "p99_ms", True),
    ("server CPU per message", "server_us_per_msg", False),
]


@dataclass(frozen=True)
class RelayConfig:
    pairs: int
    rate: float  # messages per second, all senders together
    duration: float  # measured seconds of sending
    warmup: float  # seconds of sending before that, not measured
    drain: float  # seconds to wait for stragglers after the last scheduled send
    crowd: int = 0  # idle clients connected besides the pairs (S1: 1,000 clients in all)

    @property
    def total(self) -> int:
        return round(self.rate * (self.warmup + self.duration))

    @property
    def first_measured(self) -> int:
        return round(self.rate * self.warmup)

    @property
    def per_sender(self) -> int:
        return self.total // (2 * self.pairs)


@dataclass
class Peer:
    """One socket of a pair: where it sends (consultation/room, `to`) and its index."""

    index: int
    sio: socketio.AsyncClient
    consultation_id: str
    to: str = ""
    cookie: str = ""  # the session's, for connecting again


@dataclass
class Collector:
    """Send times by sequence number, and what came back."""

    first_measured: int
    sent: dict[int, tuple[float, int]] = field(default_factory=dict)  # seq -> (time, dest)
    latencies: list[float] = field(default_factory=list)  # measured messages only
    lags: list[float] = field(default_factory=list)  # how late the generator sent
    delivered: int = 0
    delivered_measured: int = 0
    last_delivery: float = 0.0
    unexpected: int = 0
    misrouted: int = 0
    send_failed: int = 0  # the socket was gone
    acks: Counter[str] = field(default_factory=Counter)
    expected_acks: int = -1  # known once sending is over
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def finished_sending(self, total: int) -> None:
        self.expected_acks = total
        self._check()

    def _check(self) -> None:
        if not self.sent and sum(self.acks.values()) == self.expected_acks:
            self.done.set()

    def on_signal(self, index: int, data: Any) -> None:
        now = time.perf_counter()
        try:
            seq = int(data["candidate"]["candidate"].split(" ", 1)[0][len("candidate:") :])
        except (KeyError, TypeError, ValueError):
            self.unexpected += 1
            return
        entry = self.sent.pop(seq, None)
        if entry is None:
            self.unexpected += 1
            return
        scheduled, dest = entry
        if dest != index:
            self.misrouted += 1
        self.delivered += 1
        if seq >= self.first_measured:
            self.delivered_measured += 1
            self.latencies.append(now - scheduled)
            self.last_delivery = now
        if not self.sent:
            self._check()

    def on_ack(self, answer: Any = None) -> None:
        if isinstance(answer, dict) and answer.get("ok") is True:
            self.acks["ok"] += 1
        elif isinstance(answer, dict) and isinstance(answer.get("error"), dict):
            self.acks[str(answer["error"].get("code"))] += 1
        else:
            self.acks["malformed"] += 1
        if self.expected_acks >= 0:
            self._check()


# -- clients ---------------------------------------------------------------------------------


class Http:
    """A browser-like HTTP client for Parley: cookie jar, Origin, CSRF header on writes."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=STEP_TIMEOUT),
        )

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.session.cookie_jar if c.key == name), None)

    def cookie_header(self) -> str:
        return "; ".join(f"{c.key}={c.value}" for c in self.session.cookie_jar)

    async def request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        headers = {"Origin": self.base}
        if method != "GET":
            if self.cookie("parley_csrf") is None:
                await self.request("GET", "/api/session")
            headers["X-CSRF-Token"] = self.cookie("parley_csrf") or ""
        async with self.session.request(
            method, self.base + path, json=body, headers=headers
        ) as resp:
            answer = await resp.json(content_type=None)
            if resp.status >= 400 or not answer.get("ok"):
                raise RuntimeError(f"{method} {path} -> {resp.status} {answer}")
            return dict(answer["data"])

    async def close(self) -> None:
        await self.session.close()


def new_socket() -> socketio.AsyncClient:
    return socketio.AsyncClient(reconnection=False, request_timeout=STEP_TIMEOUT)


async def connect(sio: socketio.AsyncClient, base: str, headers: dict[str, str]) -> None:
    await sio.connect(base, headers=headers, transports=["websocket"], wait_timeout=STEP_TIMEOUT)


async def call_ok(sio: socketio.AsyncClient, event: str, data: dict[str, Any]) -> dict[str, Any]:
    answer = await sio.call(event, data, timeout=STEP_TIMEOUT)
    if not (isinstance(answer, dict) and answer.get("ok")):
        raise RuntimeError(f"{event} {data} -> {answer}")
    return dict(answer["data"])


async def parley_login(base: str, account: dict[str, str]) -> Http:
    """One advisor session per run, shared by its advisor sockets (one per consultation, like
    an advisor with several tabs): a login per pair would only time argon2."""
    http = Http(base)
    try:
        await http.request(
            "POST",
            "/api/auth/login",
            {"username": account["username"], "password": account["password"]},
        )
    except BaseException:
        await http.close()
        raise
    return http


async def open_invite(adv_http: Http, title: str) -> tuple[str, str]:
    """A new invite consultation: its id and the invite token."""
    created = await adv_http.request("POST", "/api/consultations", {"title": title})
    return created["consultation"]["id"], created["invite"]["url"].rsplit("/i/", 1)[1]


async def join_invite(http: Http, token: str, last_name: str) -> str:
    """A customer through the invite link into the lobby, as the browser does it: the join
    info for the notice version, then the join. Returns the participant id."""
    invite = await http.request("GET", f"/api/join/invite/{token}")
    joined = await http.request(
        "POST",
        "/api/join",
        {
            "invite": token,
            "first_name": "Bench",
            "last_name": last_name,
            "notice_version": invite["notice"]["version"],
        },
    )
    return str(joined["participant_id"])


def admitted_event(sio: socketio.AsyncClient) -> asyncio.Event:
    """An event set once `sio`'s participant is admitted from the lobby."""
    admitted = asyncio.Event()

    def lobby_state(data: Any) -> None:
        if isinstance(data, dict) and data.get("status") == "admitted":
            admitted.set()

    sio.on("lobby_state", lobby_state)
    return admitted


async def parley_pair(
    base: str, adv_http: Http, i: int, customer_base: str | None = None
) -> tuple[Peer, Peer]:
    """An advisor and a customer admitted to, and joined in, one invite consultation. The
    customer uses `customer_base` (another node of the same Parley) if given."""
    cbase = customer_base or base
    cust_http = Http(cbase)
    try:
        cid, token = await open_invite(adv_http, f"bench {i}")
        customer_pid = await join_invite(cust_http, token, f"Kunde {chr(ord('A') + i % 26)}")

        advisor, customer = Peer(2 * i, new_socket(), cid), Peer(2 * i + 1, new_socket(), cid)
        admitted = admitted_event(customer.sio)
        await connect(customer.sio, cbase, {"Cookie": cust_http.cookie_header(), "Origin": cbase})
        await connect(advisor.sio, base, {"Cookie": adv_http.cookie_header(), "Origin": base})
        await call_ok(
            advisor.sio, "lobby_admit", {"consultation_id": cid, "participant_id": customer_pid}
        )
        await asyncio.wait_for(admitted.wait(), STEP_TIMEOUT)
        me = await call_ok(advisor.sio, "room_join", {"consultation_id": cid})
        await call_ok(customer.sio, "room_join", {"consultation_id": cid})
        advisor.to, customer.to = customer_pid, me["self"]["id"]
        customer.cookie = cust_http.cookie_header()
        return advisor, customer
    finally:
        await cust_http.close()


async def bare_pair(base: str, i: int, other_base: str) -> tuple[Peer, Peer]:
    """Two sockets in a room of their own, the second one on `other_base` (the other node
    of a layout of bare nodes; the same server otherwise)."""
    room = f"pair-{i:04d}-{uuid.uuid4().hex[:12]}"
    a, b = Peer(2 * i, new_socket(), room), Peer(2 * i + 1, new_socket(), room)
    for peer, url in ((a, base), (b, other_base)):
        await connect(peer.sio, url, {"Origin": url})
        await call_ok(peer.sio, "join", {"consultation_id": room})
    a.to, b.to = b.sio.get_sid() or "", a.sio.get_sid() or ""
    return a, b


# -- the run ---------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list; 0.0 for an empty one."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


@dataclass
class RelayResult:
    server: str
    run: int
    sent: int
    delivered: int
    lost: int
    measured: int
    delivered_measured: int
    misrouted: int
    unexpected: int
    send_failed: int
    acks: dict[str, int]
    throughput: float  # delivered measured messages per second
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu: float  # share of one core during the measured window
    server_us_per_msg: float
    gen_cpu: float  # the load generator's share of one core in the same window
    gen_lag_p99_ms: float  # how late the generator sent (p99), it is the generator's noise
    setup_s: float
    load_avg: float  # the machine's 1-minute load average when the run started
    kept_up: bool  # nothing lost and the median message not queued (p50 <= KEPT_UP_P50_MS)
    crowd: int = 0  # idle clients connected throughout (and still connected at the end)
    sending_started: float = 0.0  # perf_counter() of the first scheduled send

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def setup_pairs(
    server: Server | Nodes, account: dict[str, str] | None, pairs: int
) -> list[Peer]:
    """`pairs` pairs; on a layout of nodes the advisors (the bare relay: a pair's first
    socket) are on the first node and the customers (its second) on the last."""
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)
    advisor = await parley_login(server.url, account) if account is not None else None

    async def one(i: int) -> tuple[Peer, Peer]:
        async with gate:
            if advisor is not None:
                return await parley_pair(server.url, advisor, i, customer_url(server))
            return await bare_pair(server.url, i, customer_url(server))

    try:
        made = await asyncio.gather(*(one(i) for i in range(pairs)), return_exceptions=True)
    finally:
        if advisor is not None:
            await advisor.close()
    peers = [peer for pair in made if isinstance(pair, tuple) for peer in pair]
    failed = [exc for exc in made if isinstance(exc, BaseException)]
    if failed:
        await teardown(peers)
        raise RuntimeError(f"{len(failed)} of {pairs} pairs failed to set up: {failed[0]!r}")
    return sorted(peers, key=lambda p: p.index)


async def disconnect_all(sockets: list[socketio.AsyncClient]) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(TEARDOWN_TIMEOUT):
            await asyncio.gather(*(s.disconnect() for s in sockets), return_exceptions=True)


async def teardown(peers: list[Peer]) -> None:
    await disconnect_all([p.sio for p in peers])


@dataclass
class Crowd:
    """Idle clients held connected through a run, so the relay works among 1,000 connected
    clients as S1 asks: a load-generator process of bench.idle's, with the advisor's
    session (Parley) or none (bare), all on the first node."""

    generator: Generator
    connected: int

    @classmethod
    async def start(cls, server: Server | Nodes, account: dict[str, str] | None, count: int):
        from bench.idle import advisor_cookies, start_generator  # bench.idle imports this

        cookie = None if account is None else (await advisor_cookies(server.url, [account]))[0]
        limit = count / CROWD_RATE + STEP_TIMEOUT * 2
        spec = {"base": server.url, "cookie": cookie, "count": count, "rate": CROWD_RATE}
        generator = await start_generator({**spec, "inflight": 50, "limit": CROWD_HOLD})
        try:
            report = await generator.line(limit)
            if report["failed"]:
                raise RuntimeError(
                    f"{report['failed']} of {count} idle clients failed to connect: "
                    f"{report['error_samples']}"
                )
        except BaseException:
            await generator.stop()
            raise
        return cls(generator, int(report["connected"]))

    async def close(self) -> int:
        """Let the clients go; how many were still connected."""
        try:
            await self.generator.release()
            return int((await self.generator.line(STEP_TIMEOUT * 2))["alive"])
        finally:
            await self.generator.stop()


async def run_relay(
    server: Server | Nodes, account: dict[str, str] | None, cfg: RelayConfig, run: int
) -> RelayResult:
    """One run against a started server (or layout of nodes, CPU summed over them): set up
    the pairs, drive, drain, tear down. `account` is Parley's advisor; None means the bare
    baseline."""
    event = "rtc_signal" if account is not None else "signal"
    load_avg = os.getloadavg()[0]
    crowd = await Crowd.start(server, account, cfg.crowd) if cfg.crowd else None
    try:
        result = await relay_among(server, account, cfg, run, event, load_avg)
    finally:
        alive = await crowd.close() if crowd is not None else 0
    if crowd is not None:
        if alive < crowd.connected:
            raise RuntimeError(f"{crowd.connected - alive} of the idle clients were dropped")
        result.crowd = alive
    return result


async def relay_among(
    server: Server | Nodes,
    account: dict[str, str] | None,
    cfg: RelayConfig,
    run: int,
    event: str,
    load_avg: float,
) -> RelayResult:
    """The pairs: set up, drive, drain, tear down."""
    started = time.perf_counter()
    peers = await setup_pairs(server, account, cfg.pairs)
    setup_s = time.perf_counter() - started
    col = Collector(first_measured=cfg.first_measured)
    try:
        for peer in peers:
            peer.sio.on(event, lambda data, index=peer.index: col.on_signal(index, data))
        senders = [(p, p.index ^ 1) for p in peers]  # partner = 2i <-> 2i+1
        total, rate = cfg.total, cfg.rate
        t0 = time.perf_counter() + 0.2
        mark_wall = mark_cpu = mark_gen = 0.0
        for seq in range(total):
            scheduled = t0 + seq / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if seq == cfg.first_measured:
                mark_wall = time.perf_counter()
                mark_cpu, mark_gen = server_cpu_seconds(server), time.process_time()
            peer, dest = senders[seq % len(senders)]
            payload = {
                "consultation_id": peer.consultation_id,
                "to": peer.to,
                "candidate": {
                    "candidate": CANDIDATE.format(seq=seq),
                    "sdpMid": "0",
                    "sdpMLineIndex": 0,
                },
            }
            col.sent[seq] = (scheduled, dest)
            col.lags.append(time.perf_counter() - scheduled)
            try:
                await peer.sio.emit(event, payload, callback=col.on_ack)
            except socketio.exceptions.SocketIOError:  # e.g. dropped by a ping timeout
                del col.sent[seq]
                col.send_failed += 1
        last_scheduled = t0 + total / rate
        col.finished_sending(total - col.send_failed)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(col.done.wait(), cfg.drain)
        end_wall = time.perf_counter()
        window = max(end_wall - mark_wall, 1e-9)
        server_cpu = server_cpu_seconds(server) - mark_cpu
        gen_cpu = time.process_time() - mark_gen
    finally:
        await teardown(peers)

    measured = total - cfg.first_measured
    latencies = sorted(col.latencies)
    lags = sorted(col.lags)
    span = max(col.last_delivery, last_scheduled) - (t0 + cfg.first_measured / rate)
    done = max(col.delivered_measured, 1)
    throughput = col.delivered_measured / span if span > 0 else 0.0
    p50_ms = percentile(latencies, 50) * 1000
    return RelayResult(
        server=server.name,
        run=run,
        sent=total - col.send_failed,
        delivered=col.delivered,
        lost=len(col.sent),
        measured=measured,
        delivered_measured=col.delivered_measured,
        misrouted=col.misrouted,
        unexpected=col.unexpected,
        send_failed=col.send_failed,
        acks=dict(col.acks),
        throughput=throughput,
        p50_ms=p50_ms,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=(latencies[-1] if latencies else 0.0) * 1000,
        server_cpu=server_cpu / window,
        server_us_per_msg=server_cpu / done * 1e6,
        gen_cpu=gen_cpu / window,
        gen_lag_p99_ms=percentile(lags, 99) * 1000,
        setup_s=setup_s,
        load_avg=load_avg,
        kept_up=not col.sent and not col.send_failed and p50_ms <= KEPT_UP_P50_MS,
        sending_started=t0,
    )


# -- the workload: interleaved runs and their report ---------------------------------------


def warnings_of(results: list[RelayResult]) -> list[str]:
    notes = []
    for r in results:
        tag = f"{r.server} run {r.run + 1}"
        if r.lost:
            notes.append(f"{tag}: {r.lost} of {r.sent} messages not delivered within the drain")
        if r.send_failed:
            notes.append(f"{tag}: {r.send_failed} sends failed (socket disconnected)")
        if r.misrouted or r.unexpected:
            notes.append(f"{tag}: {r.misrouted} misrouted, {r.unexpected} unexpected messages")
        errors = {code: n for code, n in r.acks.items() if code != "ok"}
        if errors:
            notes.append(f"{tag}: error acknowledgements {errors}")
        if r.gen_cpu > 0.8:
            notes.append(f"{tag}: the load generator used {r.gen_cpu:.0%} of a core")
    return notes


async def workload(cfg: RelayConfig, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp_name:
        tmp = Path(tmp_name)
        account = await asyncio.to_thread(prepare_parley, tmp / "parley-data")

        def spawn(name: str, run: int) -> Server:
            log = tmp / f"relay-{name}-{run}.log"
            if name == "parley":
                return spawn_parley(tmp / "parley-data", log, PARLEY_ENV)
            return spawn_bare(log)

        async def drive(server: Server, run: int) -> RelayResult:
            return await run_relay(server, account if server.name == "parley" else None, cfg, run)

        results = await interleave(
            runs,
            spawn,
            drive,
            cfg.warmup + cfg.duration + cfg.drain + RUN_SLACK,
            lambda r: f"{r.throughput:.0f} msg/s, p99 {r.p99_ms:.1f} ms, lost {r.lost}",
        )
    summary = summarise(results, runs, RATIOS)
    header = (
        f"relay: {cfg.pairs} pairs ({2 * cfg.pairs} senders), {cfg.rate:.0f} msg/s offered, "
        f"{cfg.duration:g} s measured after {cfg.warmup:g} s warm-up, "
        f"{cfg.per_sender} messages per sender; {cfg.crowd} idle clients connected besides "
        f"({2 * cfg.pairs + cfg.crowd} in all)"
    )
    return {
        "config": {**asdict(cfg), "runs": runs, "per_sender": cfg.per_sender},
        "runs": [r.as_dict() for r in results],
        "ratio": summary,
        "warnings": warnings_of(results),
        "table": table(header, results, COLUMNS, summary),
    }
