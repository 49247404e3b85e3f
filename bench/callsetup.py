"""Workload "callsetup": P concurrent pairs of aiortc peers each set up a call (one video
track, caller to callee, and a data channel) by signalling through Parley's `rtc_signal`,
and we time each call from the start of its negotiation to the first decoded video frame
at the callee with the data channel open there.

The baseline is the same peers and the same messages handed over in this process, with no
server: the sender's message dict is copied and delivered to the receiver by the event loop
(`loop.call_soon`), where Parley's would arrive over its Socket.IO connection.

Both sides behave like Parley's browser client (`client/src/protocol/peers.ts`): the
customer, who joins the room last, offers; descriptions go without their candidates, which
follow as `candidate` messages (trickle ICE), then `end_of_candidates`; a receiver handles
messages in arrival order and keeps candidates that come before the description until it
has one. Sends ask for an acknowledgement (Parley) but nobody waits for it before going on.

The server's share of a call is the sum over its signalling messages of (arrival at the
receiver - the moment it was handed to the socket), both read from this process's clock.
After its calls, each run replays every pair's last signalling (the same messages, caller's
burst, then callee's) with no WebRTC peer busy in this process: the same sum without the
load generator's own congestion.

A diagnostic third server, `sio`, interleaved with the other two: a bare python-socketio
relay in its own process (`serve_sio_relay`), which tells the cost of any server hop from
the cost of Parley's code.

Run: python -m bench.callsetup [--quick] [--runs N] [--pairs N] [--calls N] [--json PATH]"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import fractions
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack, VideoStreamTrack
from aiortc.sdp import candidate_from_sdp
from av import VideoFrame

from bench.ab import Column, Ratio, interleave, show, summarise, table
from bench.relay import Peer, percentile, setup_pairs, teardown
from bench.servers import (
    Server,
    _spawn,
    free_port,
    parley_executable,
    prepare_parley,
    server_cpu_seconds,
    spawn_parley,
)

CALL_TIMEOUT = 20.0  # a call not ready by then counts as failed
DRAIN_TIMEOUT = 5.0  # after ready: for the call's last signalling messages to arrive
CLOSE_TIMEOUT = 10.0
RUN_SLACK = 90.0  # seconds a run may take beyond its scheduled calls (start, setup, closing)
CLOCK_RATE = 90_000  # RTP video clock
REPLAY_GAP = 0.05  # seconds between two replays of a pair
# set to a path: Parley runs under cProfile, statistics in <path>.<run>.prof (not for figures)
PROFILE_ENV = "BENCH_CALLSETUP_PROFILE"

COLUMNS: list[Column] = [
    ("calls", "calls", "{}"),
    ("failed", "failed", "{}"),
    ("ready p50 ms", "ready_p50_ms", "{:.0f}"),
    ("ready p95 ms", "ready_p95_ms", "{:.0f}"),
    ("frame p50 ms", "frame_p50_ms", "{:.0f}"),
    ("dc p50 ms", "dc_p50_ms", "{:.0f}"),
    ("msgs/call", "messages_per_call", "{:.1f}"),
    ("share p50 ms", "share_p50_ms", "{:.2f}"),
    ("share p95 ms", "share_p95_ms", "{:.2f}"),
    ("path p95 ms", "path_p95_ms", "{:.2f}"),
    ("msg p95 ms", "message_p95_ms", "{:.2f}"),
    ("replay p50", "replay_p50_ms", "{:.2f}"),
    ("replay p95", "replay_p95_ms", "{:.2f}"),
    ("srv ms/call", "server_ms_per_call", "{:.1f}"),
    ("gen CPU", "gen_cpu", "{:.0%}"),
    ("late ms", "late_max_ms", "{:.0f}"),
    ("setup s", "setup_s", "{:.1f}"),
    ("load", "load_avg", "{:.1f}"),
]
RATIOS: list[Ratio] = [
    ("call ready (frame + channel), p50", "ready_p50_ms", False),
    ("call ready, p95", "ready_p95_ms", False),
    ("first decoded frame, p50", "frame_p50_ms", False),
    ("data channel open, p50", "dc_p50_ms", False),
]

# the diagnostic: the same, relayed by a bare python-socketio server in its own process
SHARE_RATIOS: list[Ratio] = [
    ("signalling share, p50", "share_p50_ms", False),
    ("signalling share, p95", "share_p95_ms", False),
    ("slowest message per direction, p95", "path_p95_ms", False),
    ("replayed signalling share, p95", "replay_p95_ms", False),
]
# parley, the in-process baseline, the bare relay server; interleaved in this order
SERVERS = ("parley", "bare", "sio")


@dataclass(frozen=True)
class CallSetupConfig:
    pairs: int  # concurrent caller/callee pairs
    calls: int  # calls per pair per run, one round of `pairs` concurrent calls at a time
    period: float  # seconds between the scheduled starts of two rounds
    warmup: int = 1  # rounds before those, not measured (first-call costs on both sides)
    replays: int = 10  # per pair afterwards: the last call's signalling alone, no WebRTC
    width: int = 320
    height: int = 240
    fps: float = 15.0


# -- media -----------------------------------------------------------------------------------


class SmallVideoTrack(VideoStreamTrack):
    """`width` x `height` yuv420p frames at `fps`, a grey level that changes every frame (so
    the encoder has something to do, a little), built from prepared plane bytes."""

    def __init__(self, width: int, height: int, fps: float) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.step = round(CLOCK_RATE / fps)
        self.time_base = fractions.Fraction(1, CLOCK_RATE)
        self.started: float | None = None
        self.pts = 0
        probe = VideoFrame(width=width, height=height, format="yuv420p")
        self.sizes = [plane.buffer_size for plane in probe.planes]
        self.lumas = [bytes([16 + 8 * i]) * self.sizes[0] for i in range(28)]
        self.chroma = [bytes([128]) * size for size in self.sizes[1:]]

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise asyncio.CancelledError  # aiortc's own tracks end this way too
        if self.started is None:
            self.started = time.monotonic()
        else:
            self.pts += self.step
            wait = self.started + self.pts / CLOCK_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = VideoFrame(width=self.width, height=self.height, format="yuv420p")
        index = (self.pts // self.step) % len(self.lumas)
        for plane, data in zip(frame.planes, [self.lumas[index], *self.chroma], strict=True):
            plane.update(data)
        frame.pts, frame.time_base = self.pts, self.time_base
        return frame


def new_pc() -> RTCPeerConnection:
    # no STUN/TURN servers: host candidates are enough on one machine (aiortc's default, a
    # public STUN server, would reach outside); one transport for everything, as browsers
    return RTCPeerConnection(
        RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    )


def split_description(pc: RTCPeerConnection) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The local description without its candidates, and the candidates as a browser's
    `icecandidate` events would give them (`candidate:...`, sdpMid, sdpMLineIndex)."""
    local = pc.localDescription
    lines, candidates, seen = [], [], set()
    index, mid = -1, None
    for line in local.sdp.splitlines():
        if line.startswith("m="):
            index, mid = index + 1, None
        elif line.startswith("a=mid:"):
            mid = line[len("a=mid:") :]
        if line.startswith("a=candidate:"):
            # with max-bundle every m-section lists the one transport's candidates; a
            # browser signals them once, for the first section
            if line[2:] not in seen:
                seen.add(line[2:])
                candidates.append({"candidate": line[2:], "sdpMid": mid, "sdpMLineIndex": index})
            continue
        if line == "a=end-of-candidates":
            continue
        lines.append(line)
    return {"type": local.type, "sdp": "\r\n".join(lines) + "\r\n"}, candidates


def ice_candidate(wire: dict[str, Any]) -> RTCIceCandidate:
    candidate = candidate_from_sdp(wire["candidate"].split(":", 1)[1])
    candidate.sdpMid, candidate.sdpMLineIndex = wire.get("sdpMid"), wire.get("sdpMLineIndex")
    return candidate


# -- signalling: through Parley, or handed over in this process ------------------------------


def message_key(content: dict[str, Any]) -> tuple[str, ...]:
    """What identifies a message within one call and direction, sent or received."""
    if content.get("description") is not None:
        return ("description", content["description"]["type"])
    candidate = content.get("candidate")
    if candidate is not None:
        return ("candidate", candidate["candidate"])
    return ("end",)  # sent as end_of_candidates, received as candidate: null


@dataclass
class Ledger:
    """The signalling messages of one call: when each was sent and when it arrived."""

    sent: dict[tuple[str, ...], float] = field(default_factory=dict)
    sent_count: int = 0
    delays: list[tuple[str, float]] = field(default_factory=list)  # (message, seconds)
    unexpected: int = 0
    acks_failed: int = 0
    all_arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def on_send(self, direction: str, content: dict[str, Any]) -> None:
        self.sent[(direction, *message_key(content))] = time.perf_counter()
        self.sent_count += 1
        self.all_arrived.clear()

    def on_arrival(self, direction: str, content: dict[str, Any]) -> None:
        now = time.perf_counter()
        key = (direction, *message_key(content))
        sent = self.sent.pop(key, None)
        if sent is None:
            self.unexpected += 1
            return
        self.delays.append((" ".join(key[:3])[:40], now - sent))
        if not self.sent:
            self.all_arrived.set()


class Link:
    """One peer's signalling: `send` a message to the other peer, `inbox` of what came.
    `direction` names the messages this peer sends (its own ledger key)."""

    def __init__(self, direction: str, incoming: str) -> None:
        self.direction, self.incoming = direction, incoming
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.ledger = Ledger()
        self.script: list[dict[str, Any]] = []  # what it sent in its latest call, in order

    def start_call(self, ledger: Ledger) -> None:
        self.ledger, self.script = ledger, []
        while not self.inbox.empty():  # strays of a failed call before
            self.inbox.get_nowait()

    def arrived(self, message: dict[str, Any]) -> None:
        self.ledger.on_arrival(self.incoming, message)
        self.inbox.put_nowait(message)

    async def send(self, content: dict[str, Any]) -> None:
        raise NotImplementedError


class ParleyLink(Link):
    """`rtc_signal` through Parley, acknowledged but not waited for."""

    def __init__(self, direction: str, incoming: str, peer: Peer) -> None:
        super().__init__(direction, incoming)
        self.peer = peer
        peer.sio.on("rtc_signal", self.arrived)

    def on_ack(self, answer: Any = None) -> None:
        if not (isinstance(answer, dict) and answer.get("ok") is True):
            self.ledger.acks_failed += 1

    async def send(self, content: dict[str, Any]) -> None:
        payload = {"consultation_id": self.peer.consultation_id, "to": self.peer.to, **content}
        self.script.append(content)
        self.ledger.on_send(self.direction, content)
        await self.peer.sio.emit("rtc_signal", payload, callback=self.on_ack)


class LocalLink(Link):
    """The baseline: the message Parley would deliver, built here and handed to the other
    peer's link by the event loop."""

    def __init__(self, direction: str, incoming: str, name: str) -> None:
        super().__init__(direction, incoming)
        self.name = name
        self.other: LocalLink | None = None

    async def send(self, content: dict[str, Any]) -> None:
        assert self.other is not None
        self.script.append(content)
        self.ledger.on_send(self.direction, content)
        out: dict[str, Any] = {"consultation_id": "local", "from": self.name}
        if "description" in content:
            out["description"] = copy.deepcopy(content["description"])
        elif "candidate" in content:
            out["candidate"] = copy.deepcopy(content["candidate"])
        else:
            out["candidate"] = None
        asyncio.get_running_loop().call_soon(self.other.arrived, out)


def serve_sio_relay(port: int) -> None:
    """The diagnostic baseline server (not the headline one): a bare python-socketio relay,
    no Parley code. `join` puts a socket in a pair room; `rtc_signal` goes to the other
    socket of the room in the shape Parley delivers it."""
    from aiohttp import web

    sio = socketio.AsyncServer(async_mode="aiohttp", transports=["websocket"])
    app = web.Application()
    sio.attach(app)
    app.router.add_get("/healthz", lambda request: web.json_response({"ok": True}))

    @sio.on("join")
    async def join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await sio.enter_room(sid, data["consultation_id"])
        return {"ok": True, "data": {}}

    @sio.on("rtc_signal")
    async def rtc_signal(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"consultation_id": data["consultation_id"], "from": sid}
        if "description" in data:
            out["description"] = data["description"]
        else:
            out["candidate"] = data.get("candidate")
        await sio.emit("rtc_signal", out, room=data["consultation_id"], skip_sid=sid)
        return {"ok": True, "data": {}}

    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def spawn_parley_profiled(data_dir: Path, log_path: Path, profile: Path) -> Server:
    """`parley serve` under cProfile (its statistics written to `profile` when it stops on
    SIGTERM): what `spawn_parley` does, with `python -m cProfile` in front."""
    port = free_port()
    argv = [sys.executable, "-m", "cProfile", "-o", str(profile), parley_executable()]
    argv += ["serve", "--port", str(port), "--data-dir", str(data_dir)]
    return _spawn("parley", argv, log_path, port, {"PARLEY_CONNECTIONS_PER_ADDRESS": "100000"})


def spawn_sio_relay(log_path: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "bench.callsetup", "--serve-relay", str(port)]
    return _spawn("sio", argv, log_path, port)


async def events_handled(server: Server) -> dict[str, float]:
    """Parley's `parley_events` counters (client-to-server events handled, by event), from
    /metrics (open to loopback); empty if that fails."""
    counts: dict[str, float] = {}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
            http.get(server.url + "/metrics") as resp,
        ):
            text = await resp.text()
    except (TimeoutError, aiohttp.ClientError):
        return counts
    for line in text.splitlines():
        if line.startswith('parley_events_total{event="'):
            name = line.split('"', 2)[1]
            counts[name] = counts.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts


# -- one call --------------------------------------------------------------------------------


@dataclass
class CallResult:
    pair: int
    round: int
    ok: bool
    late_ms: float  # how much later than scheduled the call started
    ready_ms: float = 0.0  # first decoded frame and data channel open at the callee
    frame_ms: float = 0.0
    dc_ms: float = 0.0
    caller_dc_ms: float = 0.0  # the offerer's channel `open`
    share_ms: float = 0.0  # sum over its signalling messages of (arrival - send)
    path_ms: float = 0.0  # the slowest message of each direction, summed
    messages: int = 0  # arrived
    sent: int = 0
    delays_ms: list[tuple[str, float]] = field(default_factory=list)  # per message, in order
    error: str = ""


class Side:
    """One peer connection and the loop that handles its incoming signalling like the
    browser client does: in order, candidates kept until there is a remote description."""

    def __init__(self, link: Link, pc: RTCPeerConnection | None) -> None:
        self.link, self.pc = link, pc
        self.pending: list[RTCIceCandidate | None] = []

    async def send_local(self) -> None:
        assert self.pc is not None
        description, candidates = split_description(self.pc)
        await self.link.send({"description": description})
        for candidate in candidates:
            await self.link.send({"candidate": candidate})
        await self.link.send({"end_of_candidates": True})

    async def handle(self, on_offer: Callable[[], RTCPeerConnection]) -> None:
        while True:
            message = await self.link.inbox.get()
            if message.get("description") is not None:
                description = message["description"]
                if self.pc is None:
                    self.pc = on_offer()
                await self.pc.setRemoteDescription(
                    RTCSessionDescription(sdp=description["sdp"], type=description["type"])
                )
                for candidate in self.pending:
                    await self.pc.addIceCandidate(candidate)
                self.pending.clear()
                if description["type"] == "offer":
                    await self.pc.setLocalDescription(await self.pc.createAnswer())
                    await self.send_local()
            else:
                wire = message.get("candidate")
                candidate = ice_candidate(wire) if wire is not None else None
                if self.pc is None or self.pc.remoteDescription is None:
                    self.pending.append(candidate)
                else:
                    await self.pc.addIceCandidate(candidate)


async def one_call(
    caller_link: Link, callee_link: Link, cfg: CallSetupConfig, pair: int, rnd: int, at: float
) -> CallResult:
    """Wait until `at` (perf_counter), then negotiate: the caller offers a video track and a
    data channel, the callee answers. Timed from the actual start (`late_ms` after `at` if
    the pair's previous call was still closing)."""
    delay = at - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)
    start = time.perf_counter()
    late_ms = (start - at) * 1000
    ledger = Ledger()  # one per call, both directions
    for link in (caller_link, callee_link):
        link.start_call(ledger)
    loop = asyncio.get_running_loop()
    frame_at: asyncio.Future[float] = loop.create_future()
    dc_at: asyncio.Future[float] = loop.create_future()
    caller_dc_at: asyncio.Future[float] = loop.create_future()
    readers: list[asyncio.Task[None]] = []

    async def first_frame(track: MediaStreamTrack) -> None:
        await track.recv()
        if not frame_at.done():
            frame_at.set_result(time.perf_counter())

    def callee_pc() -> RTCPeerConnection:
        pc = new_pc()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                readers.append(asyncio.create_task(first_frame(track)))

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            if not dc_at.done():
                dc_at.set_result(time.perf_counter())

        return pc

    track = SmallVideoTrack(cfg.width, cfg.height, cfg.fps)
    caller = Side(caller_link, new_pc())
    callee = Side(callee_link, None)
    assert caller.pc is not None
    handlers = [
        asyncio.create_task(caller.handle(lambda: new_pc())),
        asyncio.create_task(callee.handle(callee_pc)),
    ]
    result = CallResult(pair=pair, round=rnd, ok=False, late_ms=late_ms)
    try:
        async with asyncio.timeout(CALL_TIMEOUT):
            caller.pc.addTrack(track)
            channel = caller.pc.createDataChannel("bench")
            channel.on(
                "open",
                lambda: caller_dc_at.done() or caller_dc_at.set_result(time.perf_counter()),
            )
            await caller.pc.setLocalDescription(await caller.pc.createOffer())
            await caller.send_local()
            # a handler that fails (a rejected description) fails the call
            waiting = asyncio.gather(frame_at, dc_at, caller_dc_at)
            done, _ = await asyncio.wait([waiting, *handlers], return_when=asyncio.FIRST_COMPLETED)
            for task in handlers:
                if task in done:
                    task.result()  # raises what failed it
            frame, dc, caller_dc = await waiting
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ledger.all_arrived.wait(), DRAIN_TIMEOUT)
        delays = ledger.delays
        result.ok = True
        result.frame_ms = (frame - start) * 1000
        result.dc_ms = (dc - start) * 1000
        result.caller_dc_ms = (caller_dc - start) * 1000
        result.ready_ms = max(result.frame_ms, result.dc_ms)
        result.share_ms = sum(d for _, d in delays) * 1000
        result.path_ms = 1000 * sum(
            max((d for key, d in delays if key.startswith(direction)), default=0.0)
            for direction in ("to-callee", "to-caller")
        )
        result.messages = len(delays)
        result.delays_ms = [(key, d * 1000) for key, d in delays]
        unarrived = len(ledger.sent)
        problems = []
        if unarrived:
            problems.append(f"{unarrived} signalling messages never arrived")
        if ledger.acks_failed:
            problems.append(f"{ledger.acks_failed} error acknowledgements")
        if ledger.unexpected:
            problems.append(f"{ledger.unexpected} unexpected messages")
        result.error = "; ".join(problems)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        result.sent = ledger.sent_count
        for task in [*handlers, *readers]:
            task.cancel()
        track.stop()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await asyncio.gather(
                    *(s.pc.close() for s in (caller, callee) if s.pc is not None),
                    *handlers,
                    *readers,
                    return_exceptions=True,
                )
    return result


async def replay(caller: Link, callee: Link, scripts: tuple[list[Any], list[Any]]) -> float:
    """The signalling of a call again, with no WebRTC peer busy in this process: the
    caller's messages back to back, the callee's once all of those have arrived. The sum of
    their delays in ms (the same figure as a call's `share_ms`)."""
    ledger = Ledger()
    for link in (caller, callee):
        link.start_call(ledger)
    async with asyncio.timeout(CALL_TIMEOUT):
        for side, other, script in ((caller, callee, scripts[0]), (callee, caller, scripts[1])):
            for content in script:
                await side.send(content)
            for _ in script:
                await other.inbox.get()
    return sum(d for _, d in ledger.delays) * 1000


# -- the run ---------------------------------------------------------------------------------


@dataclass
class CallSetupResult:
    server: str
    run: int
    calls: int
    failed: int
    ready_p50_ms: float
    ready_p95_ms: float
    frame_p50_ms: float
    dc_p50_ms: float
    caller_dc_p50_ms: float
    messages_per_call: float
    share_p50_ms: float  # the server's share of a call: sum of its messages' delays
    share_p95_ms: float
    path_p50_ms: float  # the slowest message of each direction, summed
    path_p95_ms: float
    replay_p50_ms: float  # the same sum for the signalling replayed with no WebRTC running
    replay_p95_ms: float
    message_p50_ms: float  # one signalling message, sent to arrived
    message_p95_ms: float
    server_ms_per_call: float  # server CPU over the calls, per call (0 for the baseline)
    gen_cpu: float  # the load generator's share of one core over the calls
    late_max_ms: float  # the latest start of a call after its scheduled time
    setup_s: float
    load_avg: float
    errors: list[str]
    signals_sent: int  # rtc_signal messages this run sent
    events: dict[str, float]  # Parley's own count of the events it handled during the run
    per_call: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_links(server: Server | None, peers: list[Peer], pairs: int) -> list[tuple[Link, Link]]:
    """(caller, callee) links per pair: the customer calls (it joins the room last and
    offers, as in Parley's client), the advisor answers."""
    links: list[tuple[Link, Link]] = []
    for i in range(pairs):
        if server is not None:
            advisor, customer = peers[2 * i], peers[2 * i + 1]
            links.append(
                (
                    ParleyLink("to-callee", "to-caller", customer),
                    ParleyLink("to-caller", "to-callee", advisor),
                )
            )
        else:
            caller = LocalLink("to-callee", "to-caller", f"customer-{i}")
            callee = LocalLink("to-caller", "to-callee", f"advisor-{i}")
            caller.other, callee.other = callee, caller
            links.append((caller, callee))
    return links


async def run_calls(
    server: Server | None, account: dict[str, str] | None, cfg: CallSetupConfig, run: int
) -> CallSetupResult:
    load_avg = os.getloadavg()[0]
    before = await events_handled(server) if server is not None else {}
    started = time.perf_counter()
    peers = await setup_pairs(server, account, cfg.pairs) if server is not None else []
    setup_s = time.perf_counter() - started
    try:
        links = make_links(server, peers, cfg.pairs)
        t0 = time.perf_counter() + 0.5
        mark_cpu = server_cpu_seconds(server) if server is not None else 0.0
        mark_gen = time.process_time()
        mark_wall = time.perf_counter()

        async def pair_calls(i: int) -> list[CallResult]:
            caller, callee = links[i]
            return [
                await one_call(caller, callee, cfg, i, rnd, t0 + rnd * cfg.period)
                for rnd in range(cfg.warmup + cfg.calls)
            ]

        per_pair = await asyncio.gather(*(pair_calls(i) for i in range(cfg.pairs)))
        window = max(time.perf_counter() - mark_wall, 1e-9)
        server_cpu = server_cpu_seconds(server) - mark_cpu if server is not None else 0.0
        gen_cpu = (time.process_time() - mark_gen) / window

        async def pair_replays(i: int) -> list[float]:
            caller, callee = links[i]
            scripts = (list(caller.script), list(callee.script))
            out = []
            for _ in range(cfg.replays):
                out.append(await replay(caller, callee, scripts))
                await asyncio.sleep(REPLAY_GAP)
            return out

        replays = [
            share
            for shares in await asyncio.gather(*(pair_replays(i) for i in range(cfg.pairs)))
            for share in shares
        ]
        if server is not None and server.name == "parley":
            after = await events_handled(server)
            events = {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k)}
        else:
            events = {}
    finally:
        await teardown(peers)

    every = sorted((c for pair in per_pair for c in pair), key=lambda c: (c.round, c.pair))
    calls = [c for c in every if c.round >= cfg.warmup]
    good = [c for c in calls if c.ok]

    def p(values: list[float], q: float) -> float:
        return percentile(sorted(values), q)

    delays = [d for c in good for _, d in c.delays_ms]
    return CallSetupResult(
        server=server.name if server is not None else "bare",
        run=run,
        calls=len(calls),
        failed=len(calls) - len(good),
        ready_p50_ms=p([c.ready_ms for c in good], 50),
        ready_p95_ms=p([c.ready_ms for c in good], 95),
        frame_p50_ms=p([c.frame_ms for c in good], 50),
        dc_p50_ms=p([c.dc_ms for c in good], 50),
        caller_dc_p50_ms=p([c.caller_dc_ms for c in good], 50),
        messages_per_call=statistics.mean(c.messages for c in good) if good else 0.0,
        share_p50_ms=p([c.share_ms for c in good], 50),
        share_p95_ms=p([c.share_ms for c in good], 95),
        path_p50_ms=p([c.path_ms for c in good], 50),
        path_p95_ms=p([c.path_ms for c in good], 95),
        replay_p50_ms=p(replays, 50),
        replay_p95_ms=p(replays, 95),
        message_p50_ms=p(delays, 50),
        message_p95_ms=p(delays, 95),
        server_ms_per_call=server_cpu / max(sum(c.ok for c in every), 1) * 1000,
        gen_cpu=gen_cpu,
        late_max_ms=max((c.late_ms for c in calls), default=0.0),
        setup_s=setup_s,
        load_avg=load_avg,
        errors=[f"pair {c.pair} round {c.round + 1}: {c.error}" for c in every if c.error],
        signals_sent=sum(c.sent for c in every)
        + cfg.replays * sum(len(a.script) + len(b.script) for a, b in links),
        events=events,
        per_call=[asdict(c) for c in calls],
    )


# -- the workload: interleaved runs and their report ---------------------------------------


def warnings_of(results: list[CallSetupResult], cfg: CallSetupConfig) -> list[str]:
    notes = []
    for r in results:
        tag = f"{r.server} run {r.run + 1}"
        notes += [f"{tag}: {e}" for e in r.errors[:5]]
        if len(r.errors) > 5:
            notes.append(f"{tag}: {len(r.errors) - 5} more calls with problems")
        if r.late_max_ms > 100:
            notes.append(
                f"{tag}: a call started {r.late_max_ms:.0f} ms late (the pair's previous call "
                f"took longer than the {cfg.period:g} s period)"
            )
        if r.server == "parley":
            # another benchmark that drew the same free port would show up here
            ours = {"rtc_signal": r.signals_sent, "room_join": 2 * cfg.pairs}
            ours["lobby_admit"] = cfg.pairs
            if not r.events:
                notes.append(f"{tag}: could not read Parley's /metrics")
            elif any(r.events.get(k, 0) != n for k, n in ours.items()):
                notes.append(f"{tag}: Parley handled {r.events}, ours were {ours}")
        if r.gen_cpu > 0.8:
            notes.append(f"{tag}: the load generator used {r.gen_cpu:.0%} of a core")
    return notes


def pooled(results: list[CallSetupResult], server: str, key: str, q: float) -> float:
    """A percentile over every successful call of every run of `server`."""
    values = [c[key] for r in results if r.server == server for c in r.per_call if c["ok"]]
    return percentile(sorted(values), q)


async def workload(cfg: CallSetupConfig, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp_name:
        tmp = Path(tmp_name)
        account = await asyncio.to_thread(prepare_parley, tmp / "parley-data")

        def spawn(name: str, run: int) -> Server | None:
            log = tmp / f"callsetup-{name}-{run}.log"
            if name == "parley" and PROFILE_ENV in os.environ:  # a development aid
                profile = Path(os.environ[PROFILE_ENV]).with_suffix(f".{run + 1}.prof")
                return spawn_parley_profiled(tmp / "parley-data", log, profile)
            if name == "parley":
                return spawn_parley(tmp / "parley-data", log)
            return spawn_sio_relay(log) if name == "sio" else None  # bare: in process

        async def drive(server: Server | None, run: int) -> CallSetupResult:
            parley = server is not None and server.name == "parley"
            return await run_calls(server, account if parley else None, cfg, run)

        results = await interleave(
            runs,
            spawn,
            drive,
            (cfg.warmup + cfg.calls) * cfg.period + CALL_TIMEOUT + RUN_SLACK,
            lambda r: (
                f"{r.calls - r.failed}/{r.calls} calls, ready p50 {r.ready_p50_ms:.0f} ms, "
                f"server share p95 {r.share_p95_ms:.2f} ms"
            ),
            SERVERS,
        )
    summary = summarise(results, runs, RATIOS)
    diagnostic = {
        "parley/sio": summarise(results, runs, RATIOS + SHARE_RATIOS, ("parley", "sio")),
        "sio/bare": summarise(results, runs, RATIOS, ("sio", "bare")),
    }
    absolute = {
        server: {
            "calls": sum(r.calls - r.failed for r in results if r.server == server),
            "ready_p50_ms": pooled(results, server, "ready_ms", 50),
            "ready_p95_ms": pooled(results, server, "ready_ms", 95),
            "share_p50_ms": pooled(results, server, "share_ms", 50),
            "share_p95_ms": pooled(results, server, "share_ms", 95),
            "path_p95_ms": pooled(results, server, "path_ms", 95),
        }
        for server in SERVERS
    }
    header = (
        f"callsetup: {cfg.pairs} concurrent aiortc pairs, {cfg.calls} calls each per run "
        f"(one round every {cfg.period:g} s, after {cfg.warmup} unmeasured), "
        f"a {cfg.width}x{cfg.height} VP8 video track at {cfg.fps:g} fps caller to callee "
        f"and a data channel; bare = SDP and candidates handed over in-process, no server; "
        f"sio = a bare python-socketio relay process (diagnostic)"
    )
    lines = ["", "over all calls of all runs (absolute, informational):"]
    for server, a in absolute.items():
        lines.append(
            f"  {server:<6} {a['calls']} calls: ready p50 {a['ready_p50_ms']:.0f} ms, "
            f"p95 {a['ready_p95_ms']:.0f} ms; signalling share p50 {a['share_p50_ms']:.2f} ms, "
            f"p95 {a['share_p95_ms']:.2f} ms; slowest per direction p95 {a['path_p95_ms']:.2f} ms"
        )
    for name, ratios in diagnostic.items():
        top, bottom = name.split("/")
        lines += ["", f"diagnostic, {top}/{bottom}, median [min-max]:"]
        lines += [
            f"  {item['label']:<34} "
            + (
                f"{item['median']:.2f}  [{item['min']:.2f}-{item['max']:.2f}]"
                if item["median"] is not None
                else "n/a"
            )
            for item in ratios.values()
        ]
    return {
        "config": {**asdict(cfg), "runs": runs},
        "runs": [r.as_dict() for r in results],
        "ratio": summary,
        "diagnostic_ratio": diagnostic,
        "absolute": absolute,
        "warnings": warnings_of(results, cfg),
        "table": table(header, results, COLUMNS, summary) + "\n".join(lines),
    }


FULL: dict[str, Any] = {
    **{"runs": 5, "pairs": 5, "calls": 4, "period": 2.5, "warmup": 1, "replays": 10}
}
QUICK: dict[str, Any] = {
    **{"runs": 1, "pairs": 2, "calls": 2, "period": 1.5, "warmup": 1, "replays": 5}
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.callsetup", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--pairs", type=int, help="concurrent caller/callee pairs")
    parser.add_argument("--calls", type=int, help="calls per pair per run")
    parser.add_argument("--period", type=float, help="seconds between rounds of calls")
    parser.add_argument("--warmup", type=int, help="unmeasured rounds before the calls")
    parser.add_argument("--replays", type=int, help="signalling replays per pair afterwards")
    parser.add_argument("--json", type=Path, help="also write every figure as JSON here")
    parser.add_argument("--serve-relay", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_relay is not None:  # the diagnostic relay, spawned by the workload
        serve_sio_relay(args.serve_relay)
        return 0
    preset = dict(QUICK if args.quick else FULL)
    for key in ("runs", "pairs", "calls", "period", "warmup", "replays"):
        if getattr(args, key) is not None:
            preset[key] = getattr(args, key)
    if any(v <= 0 for k, v in preset.items() if k != "warmup") or preset["warmup"] < 0:
        parser.error("runs, pairs, calls and period must be positive, warmup not negative")
    runs = int(preset.pop("runs"))
    result = asyncio.run(workload(CallSetupConfig(**preset), runs))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    show(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
