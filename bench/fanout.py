"""Workload "fanout": chat and whiteboard events fanned out to rooms of many participants.

R rooms of a small size (default 10) and, in separate runs, R rooms of a large size
(default 50, Parley's highest `participants_per_consultation`). In Parley a room of N is one
invite consultation with the advisor and N-1 customers joined through the invite link,
admitted and in the room; in the baseline (bench/bare_fanout.py) N sockets `join` a room.
Every participant sends, in turn, on a fixed open-loop schedule: `chat_send` (stored by
Parley, then `chat_message` to the whole room, N deliveries) and `board_update` (a small
valid Yjs update made with pycrdt, relayed to the others, N-1 deliveries), alternately, each
with an acknowledgement requested. Every receiving socket counts its deliveries and times
them from the scheduled send time (embedded in the chat body; looked up by the update's
bytes for the board).

The load generator speaks Socket.IO over aiohttp websockets itself (`Wire`, a few dozen
lines, the same for both servers): python-socketio's client starts a task per received
packet, and with thousands of deliveries a second the generator, not the server, would
be what is measured."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.ab import Column, Ratio, interleave, show, summarise, table
from bench.bare_board import Editor
from bench.relay import (
    KEPT_UP_P50_MS,
    SETUP_CONCURRENCY,
    STEP_TIMEOUT,
    TEARDOWN_TIMEOUT,
    Http,
    join_invite,
    open_invite,
    parley_login,
    percentile,
)
from bench.servers import Server, cpu_seconds, prepare_parley, spawn_bare, spawn_parley

BARE_FANOUT = Path(__file__).resolve().parent / "bare_fanout.py"
RUN_SLACK = 180.0  # seconds a run may take beyond its sending and draining (setup, start)
MAX_PARLEY_ROOM = 50  # server/config.py: participants_per_consultation has le=50
MAX_MSG_BYTES = 4 * 1024 * 1024
BODY = "Guten Tag, hier ist Nachricht {seq} aus dem Lasttest. Bitte nicht beantworten! t="
# Parley's per-connection limits are for people; here every socket of a room sends
PARLEY_ENV = {
    "PARLEY_EVENTS_PER_SECOND": "100000",
    "PARLEY_BOARD_UPDATES_PER_SECOND": "10000",
    "PARLEY_LOBBY_SIZE": "1000",
    "PARLEY_CONNECTIONS_PER_ADDRESS": "100000",
}

COLUMNS: list[Column] = [
    ("dlv/s", "deliveries_per_s", "{:.0f}"),
    ("offered", "offered_per_s", "{:.0f}"),
    ("p50 ms", "p50_ms", "{:.1f}"),
    ("p99 ms", "p99_ms", "{:.1f}"),
    ("chat p99", "chat_p99_ms", "{:.1f}"),
    ("board p99", "board_p99_ms", "{:.1f}"),
    ("max ms", "max_ms", "{:.1f}"),
    ("lost", "lost", "{}"),
    ("srv CPU", "server_cpu", "{:.0%}"),
    ("srv us/dlv", "server_us_per_delivery", "{:.1f}"),
    ("gen CPU", "gen_cpu", "{:.0%}"),
    ("gen lag p99", "gen_lag_p99_ms", "{:.1f}"),
    ("setup s", "setup_s", "{:.1f}"),
    ("load", "load_avg", "{:.1f}"),
    ("kept up", "kept_up", "{}"),
]
RATIOS: list[Ratio] = [
    ("deliveries/s", "deliveries_per_s", False),
    ("deliveries/s, both kept up", "deliveries_per_s", True),
    ("p50 delivery latency", "p50_ms", False),
    ("p99 delivery latency", "p99_ms", False),
    ("p99 delivery latency, both kept up", "p99_ms", True),
    ("server CPU per delivery", "server_us_per_delivery", False),
]


@dataclass(frozen=True)
class FanoutConfig:
    small: int  # participants in a small room (the advisor and small-1 customers)
    large: int  # participants in a large room
    rooms: int  # rooms of each size (the sizes are measured in separate runs)
    small_rate: float  # sends per second (chat and board alternately), all small rooms
    large_rate: float  # the same for the large rooms
    duration: float  # measured seconds of sending
    warmup: float  # seconds of sending before that, not measured
    drain: float  # seconds to wait for stragglers after the last scheduled send

    def sizes(self) -> list[tuple[int, float]]:
        return [(self.small, self.small_rate), (self.large, self.large_rate)]

    def total(self, rate: float) -> int:
        return round(rate * (self.warmup + self.duration))

    def first_measured(self, rate: float) -> int:
        return round(rate * self.warmup)


def offered(size: int, rate: float) -> float:
    """Deliveries per second a rate of sends means: chat reaches all `size`, the board
    the `size - 1` others, half of the sends each."""
    return rate * (size - 0.5)


# -- a minimal Socket.IO client (Engine.IO 4, Socket.IO 5, websocket only) -----------------

Handler = Callable[["Wire", Any], None]
AckHandler = Callable[[Any], None]


class Wire:
    """One Socket.IO connection: events by name to handlers (binary attachments put in
    place of their placeholders), acknowledgements by id to callbacks, pings answered."""

    def __init__(self, index: int, room: str, handlers: dict[str, Handler]) -> None:
        self.index = index
        self.room = room
        self.handlers = handlers
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task[None] | None = None
        self.acks: dict[int, AckHandler] = {}
        self.next_id = 0
        self.connected: asyncio.Future[None] | None = None
        self.closed = False

    async def connect(self, session: aiohttp.ClientSession, base: str, headers: dict[str, str]):
        url = "ws" + base.removeprefix("http") + "/socket.io/?EIO=4&transport=websocket"
        self.ws = await session.ws_connect(
            url, headers=headers, max_msg_size=MAX_MSG_BYTES, timeout=aiohttp.ClientWSTimeout()
        )
        opened = await self.ws.receive(timeout=STEP_TIMEOUT)
        if opened.type != aiohttp.WSMsgType.TEXT or not opened.data.startswith("0"):
            raise RuntimeError(f"no Engine.IO open packet: {opened!r}")
        self.connected = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read())
        await self.ws.send_str("40")
        await asyncio.wait_for(self.connected, STEP_TIMEOUT)

    def _ack_id(self, on_ack: AckHandler) -> int:
        self.next_id += 1
        self.acks[self.next_id] = on_ack
        return self.next_id

    async def emit(self, event: str, data: dict[str, Any], on_ack: AckHandler) -> None:
        assert self.ws is not None
        packet = f"42{self._ack_id(on_ack)}" + json.dumps([event, data], separators=(",", ":"))
        await self.ws.send_str(packet)

    async def emit_binary(
        self, event: str, data: dict[str, Any], key: str, blob: bytes, on_ack: AckHandler
    ) -> None:
        """`data[key]` is `blob`, sent as one binary attachment."""
        assert self.ws is not None
        body = {**data, key: {"_placeholder": True, "num": 0}}
        packet = f"451-{self._ack_id(on_ack)}" + json.dumps([event, body], separators=(",", ":"))
        await self.ws.send_str(packet)
        await self.ws.send_bytes(blob)

    async def call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Emit and wait for an ok answer; its data."""
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self.emit(event, data, lambda a: answer.done() or answer.set_result(a))
        got = await asyncio.wait_for(answer, STEP_TIMEOUT)
        if not (isinstance(got, dict) and got.get("ok")):
            raise RuntimeError(f"{event} {data} -> {got}")
        return dict(got["data"])

    def _dispatch(self, kind: str, ident: str, args: list[Any]) -> None:
        if kind in "25":  # an event (EVENT, BINARY_EVENT)
            handler = self.handlers.get(args[0])
            if handler is not None:
                handler(self, args[1] if len(args) > 1 else None)
        else:  # ACK, BINARY_ACK
            on_ack = self.acks.pop(int(ident), None)
            if on_ack is not None:
                on_ack(args[0] if args else None)

    async def _read(self) -> None:
        ws = self.ws
        assert ws is not None and self.connected is not None
        binary: tuple[str, str, list[Any], int, list[bytes]] | None = None
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.BINARY:
                    if binary is None:
                        continue
                    binary[4].append(msg.data)
                    if len(binary[4]) == binary[3]:
                        kind, ident, args, _, blobs = binary
                        binary = None
                        self._dispatch(kind, ident, fill(args, blobs))
                    continue
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                text: str = msg.data
                if text[0] == "2":  # Engine.IO ping
                    await ws.send_str("3")
                    continue
                if text[0] != "4" or len(text) < 2:
                    continue
                kind = text[1]
                start = text.find("[")
                if kind in "23":
                    self._dispatch(kind, text[2:start], json.loads(text[start:]))
                elif kind in "56":
                    dash = text.index("-")
                    count = int(text[2:dash])
                    binary = (chr(ord(kind) - 3), text[dash + 1 : start], [], count, [])
                    binary[2].extend(json.loads(text[start:]))
                elif kind == "0" and not self.connected.done():
                    self.connected.set_result(None)
                elif kind == "4" and not self.connected.done():
                    self.connected.set_exception(RuntimeError(f"connection refused: {text}"))
                elif kind == "1":
                    break
        finally:
            self.closed = True
            if not self.connected.done():
                self.connected.set_exception(RuntimeError("closed before connecting"))

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader


def letters(n: int) -> str:
    """A number as letters (names may hold only letters): 0 -> A, 25 -> Z, 26 -> BA."""
    out = ""
    while True:
        n, digit = divmod(n, 26)
        out = chr(ord("A") + digit) + out
        if n == 0:
            return out


def fill(args: list[Any], blobs: list[bytes]) -> list[Any]:
    """Put binary attachments in place of their placeholders (top level and one below:
    all that Parley's and the baseline's events have)."""

    def one(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("_placeholder") is True:
                return blobs[value["num"]]
            return {k: one(v) for k, v in value.items()}
        return value

    return [one(a) for a in args]


# -- what was sent and what arrived -------------------------------------------------------


@dataclass
class Tally:
    first_measured: int
    prefix: str  # of every chat client id in this run
    scheduled: dict[int, float] = field(default_factory=dict)  # seq -> scheduled time
    remaining: dict[int, int] = field(default_factory=dict)  # seq -> deliveries to come
    room_of: dict[int, str] = field(default_factory=dict)
    seq_of_update: dict[bytes, int] = field(default_factory=dict)
    chat_latencies: list[float] = field(default_factory=list)  # measured deliveries only
    board_latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    delivered: int = 0
    delivered_measured: int = 0
    last_delivery: float = 0.0
    unexpected: int = 0
    misrouted: int = 0
    send_failed: int = 0
    awaiting_acks: int = 0
    acks: Counter[str] = field(default_factory=Counter)
    error_samples: dict[str, dict[str, Any]] = field(default_factory=dict)
    sending: bool = True
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def expect(self, seq: int, scheduled: float, room: str, deliveries: int) -> None:
        self.scheduled[seq] = scheduled
        self.remaining[seq] = deliveries
        self.room_of[seq] = room
        self.awaiting_acks += 1

    def _check(self) -> None:
        if not self.sending and not self.remaining and self.awaiting_acks <= 0:
            self.done.set()

    def finished_sending(self) -> None:
        self.sending = False
        self._check()

    def _deliver(self, seq: int, wire: Wire, room: Any, now: float, latencies: list[float]):
        left = self.remaining.get(seq)
        if left is None:
            self.unexpected += 1
            return
        if room != wire.room or self.room_of[seq] != wire.room:
            self.misrouted += 1
        if left <= 1:
            del self.remaining[seq]
        else:
            self.remaining[seq] = left - 1
        self.delivered += 1
        if seq >= self.first_measured:
            self.delivered_measured += 1
            latencies.append(now - self.scheduled[seq])
            self.last_delivery = now
        if not self.remaining:
            self._check()

    def on_chat(self, wire: Wire, data: Any) -> None:
        now = time.perf_counter()
        try:
            prefix, _, number = data["client_id"].rpartition("-")
            seq = int(number) if prefix == self.prefix else -1
            body: str = data["body"]
            sent_at = float(body[body.rindex("t=") + 2 :])  # the time written into the body
        except (KeyError, TypeError, ValueError, AttributeError):
            self.unexpected += 1
            return
        if seq in self.scheduled and abs(sent_at - self.scheduled[seq]) > 1e-5:
            self.unexpected += 1  # a body that is not the one sent
            return
        self._deliver(seq, wire, data.get("consultation_id"), now, self.chat_latencies)

    def on_board(self, wire: Wire, data: Any) -> None:
        now = time.perf_counter()
        try:
            seq = self.seq_of_update.get(data["update"], -1)
        except (KeyError, TypeError):
            self.unexpected += 1
            return
        self._deliver(seq, wire, data.get("consultation_id"), now, self.board_latencies)

    def ack_handler(self, seq: int, event: str) -> AckHandler:
        def on_ack(answer: Any) -> None:
            if isinstance(answer, dict) and answer.get("ok") is True:
                code = "ok"
            elif isinstance(answer, dict) and isinstance(answer.get("error"), dict):
                code = str(answer["error"].get("code"))
            else:
                code = "malformed"
            self.acks[code] += 1
            self.awaiting_acks -= 1
            if code != "ok" and code not in self.error_samples:
                self.error_samples[code] = {"event": event, "seq": seq, "ack": answer}
            self._check()

        return on_ack


# -- setting the rooms up -------------------------------------------------------------------


@dataclass
class Room:
    room: str  # the consultation id (Parley) or room name (bare)
    wires: list[Wire]
    editors: list[Editor]


async def parley_room(
    base: str,
    adv_http: Http,
    session: aiohttp.ClientSession,
    r: int,
    size: int,
    handlers: dict[str, Handler],
    first_index: int,
) -> Room:
    """One invite consultation: the advisor and size-1 customers who joined through the
    invite link, admitted and in the room."""
    cid, token = await open_invite(adv_http, f"fanout {r}")
    advisor = Wire(first_index, cid, handlers)
    wires = [advisor]
    try:
        await advisor.connect(session, base, {"Cookie": adv_http.cookie_header(), "Origin": base})
        gate = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def customer(k: int) -> Wire:
            async with gate:
                http = Http(base)
                try:
                    pid = await join_invite(http, token, f"Kunde {letters(r)}-{letters(k)}")
                    admitted = asyncio.Event()

                    def lobby_state(_: Wire, data: Any) -> None:
                        if isinstance(data, dict) and data.get("status") == "admitted":
                            admitted.set()

                    wire = Wire(first_index + k, cid, {**handlers, "lobby_state": lobby_state})
                    wires.append(wire)
                    headers = {"Cookie": http.cookie_header(), "Origin": base}
                    await wire.connect(session, base, headers)
                finally:
                    await http.close()
                await advisor.call("lobby_admit", {"consultation_id": cid, "participant_id": pid})
                await asyncio.wait_for(admitted.wait(), STEP_TIMEOUT)
                return wire

        customers = await asyncio.gather(*(customer(k) for k in range(1, size)))
        await advisor.call("room_join", {"consultation_id": cid})
        await asyncio.gather(*(w.call("room_join", {"consultation_id": cid}) for w in customers))
    except BaseException:
        await asyncio.gather(*(w.close() for w in wires))
        raise
    ordered = [advisor, *customers]
    return Room(cid, ordered, [Editor() for _ in ordered])


async def bare_room(
    base: str,
    session: aiohttp.ClientSession,
    r: int,
    size: int,
    handlers: dict[str, Handler],
    first_index: int,
) -> Room:
    name = f"room-{r:03d}-{uuid.uuid4().hex[:12]}"
    wires = [Wire(first_index + k, name, handlers) for k in range(size)]
    try:
        for wire in wires:
            await wire.connect(session, base, {"Origin": base})
        await asyncio.gather(*(w.call("join", {"consultation_id": name}) for w in wires))
    except BaseException:
        await asyncio.gather(*(w.close() for w in wires))
        raise
    return Room(name, wires, [Editor() for _ in wires])


async def setup_rooms(
    server: Server,
    account: dict[str, str] | None,
    session: aiohttp.ClientSession,
    rooms: int,
    size: int,
    handlers: dict[str, Handler],
) -> list[Room]:
    made: list[Room] = []
    try:
        if account is None:
            for r in range(rooms):
                made.append(await bare_room(server.url, session, r, size, handlers, r * size))
            return made
        adv_http = await parley_login(server.url, account)
        try:
            for r in range(rooms):
                made.append(
                    await parley_room(server.url, adv_http, session, r, size, handlers, r * size)
                )
        finally:
            await adv_http.close()
    except BaseException:
        await teardown(made)
        raise
    return made


async def teardown(rooms: list[Room]) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(TEARDOWN_TIMEOUT):
            await asyncio.gather(*(w.close() for room in rooms for w in room.wires))


# -- the run ---------------------------------------------------------------------------------


@dataclass
class FanoutResult:
    server: str
    run: int
    size: int  # participants per room
    rooms: int
    rate: float  # sends per second offered
    offered_per_s: float  # deliveries per second that rate means
    sent: int
    delivered: int
    delivered_measured: int
    lost: int  # deliveries that did not arrive within the drain
    unacked: int
    misrouted: int
    unexpected: int
    send_failed: int
    acks: dict[str, int]
    error_samples: dict[str, dict[str, Any]]
    update_bytes_mean: float
    deliveries_per_s: float  # measured deliveries per second
    p50_ms: float  # over all measured deliveries, chat and board
    p99_ms: float
    chat_p99_ms: float
    board_p99_ms: float
    max_ms: float
    server_cpu: float  # share of one core during the measured window
    server_us_per_delivery: float
    gen_cpu: float
    gen_lag_p99_ms: float
    setup_s: float
    load_avg: float
    kept_up: bool  # nothing lost or unacknowledged, all acks ok, p50 <= KEPT_UP_P50_MS

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan(cfg: FanoutConfig, rooms: list[Room], rate: float) -> list[tuple[int, int, bool]]:
    """For each send: the room, the sender in it, and whether it is a board update (else
    chat). Every participant sends in turn, chat and board alternately."""
    out = []
    for seq in range(cfg.total(rate)):
        r, k = seq % len(rooms), seq // len(rooms)
        size = len(rooms[r].wires)
        out.append((r, k % size, (k // size) % 2 == 1))
    return out


async def run_fanout(
    server: Server,
    account: dict[str, str] | None,
    cfg: FanoutConfig,
    size: int,
    rate: float,
    run: int,
) -> FanoutResult:
    """One run against a started server: set the rooms up, drive, drain, tear down.
    `account` is Parley's advisor; None means the baseline."""
    load_avg = os.getloadavg()[0]
    first = cfg.first_measured(rate)
    tally = Tally(first_measured=first, prefix=f"f{uuid.uuid4().hex[:12]}")
    handlers: dict[str, Handler] = {"chat_message": tally.on_chat, "board_update": tally.on_board}
    started = time.perf_counter()
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    rooms: list[Room] = []
    try:
        rooms = await setup_rooms(server, account, session, cfg.rooms, size, handlers)
        setup_s = time.perf_counter() - started
        schedule = plan(cfg, rooms, rate)
        updates: dict[int, bytes] = {}  # made before the clock starts: the generator's work
        update_bytes = 0
        for seq, (r, k, board) in enumerate(schedule):
            if board:
                updates[seq] = rooms[r].editors[k].add(seq, 1, rooms[r].wires[k].index)
                tally.seq_of_update[updates[seq]] = seq
                update_bytes += len(updates[seq])
        t0 = time.perf_counter() + 0.2
        mark_wall = mark_cpu = mark_gen = 0.0
        for seq, (r, k, board) in enumerate(schedule):
            scheduled = t0 + seq / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if seq == first:
                mark_wall = time.perf_counter()
                mark_cpu, mark_gen = cpu_seconds(server.pid), time.process_time()
            room = rooms[r]
            wire = room.wires[k]
            tally.lags.append(time.perf_counter() - scheduled)
            tally.expect(seq, scheduled, room.room, size - 1 if board else size)
            try:
                if board:
                    await wire.emit_binary(
                        "board_update",
                        {"consultation_id": room.room},
                        "update",
                        updates[seq],
                        tally.ack_handler(seq, "board_update"),
                    )
                else:
                    body = BODY.format(seq=seq) + f"{scheduled:.6f}"
                    payload = {
                        "consultation_id": room.room,
                        "client_id": f"{tally.prefix}-{seq}",
                        "body": body,
                    }
                    await wire.emit("chat_send", payload, tally.ack_handler(seq, "chat_send"))
            except (aiohttp.ClientError, ConnectionError, RuntimeError):
                tally.remaining.pop(seq, None)
                tally.awaiting_acks -= 1
                tally.send_failed += 1
        last_scheduled = t0 + len(schedule) / rate
        tally.finished_sending()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.done.wait(), cfg.drain)
        window = max(time.perf_counter() - mark_wall, 1e-9)
        server_cpu = cpu_seconds(server.pid) - mark_cpu
        gen_cpu = time.process_time() - mark_gen
    finally:
        await teardown(rooms)
        await session.close()

    chat, board = sorted(tally.chat_latencies), sorted(tally.board_latencies)
    both = sorted(chat + board)
    lags = sorted(tally.lags)
    span = max(tally.last_delivery, last_scheduled) - (t0 + first / rate)
    p50_ms = percentile(both, 50) * 1000
    lost = sum(tally.remaining.values())
    unacked = max(tally.awaiting_acks, 0)
    return FanoutResult(
        server=server.name,
        run=run,
        size=size,
        rooms=cfg.rooms,
        rate=rate,
        offered_per_s=offered(size, rate),
        sent=len(schedule) - tally.send_failed,
        delivered=tally.delivered,
        delivered_measured=tally.delivered_measured,
        lost=lost,
        unacked=unacked,
        misrouted=tally.misrouted,
        unexpected=tally.unexpected,
        send_failed=tally.send_failed,
        acks=dict(tally.acks),
        error_samples=tally.error_samples,
        update_bytes_mean=update_bytes / max(len(updates), 1),
        deliveries_per_s=tally.delivered_measured / span if span > 0 else 0.0,
        p50_ms=p50_ms,
        p99_ms=percentile(both, 99) * 1000,
        chat_p99_ms=percentile(chat, 99) * 1000,
        board_p99_ms=percentile(board, 99) * 1000,
        max_ms=(both[-1] if both else 0.0) * 1000,
        server_cpu=server_cpu / window,
        server_us_per_delivery=server_cpu / max(tally.delivered_measured, 1) * 1e6,
        gen_cpu=gen_cpu / window,
        gen_lag_p99_ms=percentile(lags, 99) * 1000,
        setup_s=setup_s,
        load_avg=load_avg,
        kept_up=not lost
        and not unacked
        and not tally.send_failed
        and set(tally.acks) <= {"ok"}
        and p50_ms <= KEPT_UP_P50_MS,
    )


# -- the workload: interleaved runs and their report ---------------------------------------


def warnings_of(results: list[FanoutResult]) -> list[str]:
    notes = []
    shown: set[str] = set()
    for r in results:
        tag = f"{r.server} rooms of {r.size}, run {r.run + 1}"
        if r.lost or r.unacked:
            notes.append(
                f"{tag}: {r.lost} deliveries not made and {r.unacked} of {r.sent} sends not "
                "acknowledged within the drain"
            )
        if r.send_failed:
            notes.append(f"{tag}: {r.send_failed} sends failed (socket disconnected)")
        if r.misrouted or r.unexpected:
            notes.append(f"{tag}: {r.misrouted} misrouted, {r.unexpected} unexpected deliveries")
        errors = {code: n for code, n in r.acks.items() if code != "ok"}
        if errors:
            notes.append(f"{tag}: error acknowledgements {errors}")
        for code, sample in r.error_samples.items():
            if code not in shown:
                shown.add(code)
                notes.append(f"{tag}: first {code}: {json.dumps(sample, ensure_ascii=False)}")
        if r.gen_cpu > 0.8:
            notes.append(f"{tag}: the load generator used {r.gen_cpu:.0%} of a core")
    return notes


async def workload(cfg: FanoutConfig, runs: int) -> dict[str, Any]:
    for size, _ in cfg.sizes():
        if not 2 <= size <= MAX_PARLEY_ROOM:
            raise ValueError(
                f"rooms of {size}: Parley admits 2 to {MAX_PARLEY_ROOM} participants per "
                "consultation (participants_per_consultation, server/config.py)"
            )
    tables, summaries, all_results = [], {}, []
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp_name:
        tmp = Path(tmp_name)
        account = await asyncio.to_thread(prepare_parley, tmp / "parley-data")
        for size, rate in cfg.sizes():
            env = {**PARLEY_ENV, "PARLEY_PARTICIPANTS_PER_CONSULTATION": str(max(size, 6))}

            def spawn(name: str, run: int, size: int = size, env: dict[str, str] = env) -> Server:
                log = tmp / f"fanout-{size}-{name}-{run}.log"
                if name == "parley":
                    return spawn_parley(tmp / "parley-data", log, env)
                return spawn_bare(log, BARE_FANOUT)

            async def drive(server: Server, run: int, size: int = size, rate: float = rate):
                is_parley = server.name == "parley"
                return await run_fanout(
                    server, account if is_parley else None, cfg, size, rate, run
                )

            print(f"  rooms of {size}:", flush=True, file=sys.stderr)
            results = await interleave(
                runs,
                spawn,
                drive,
                cfg.warmup + cfg.duration + cfg.drain + RUN_SLACK,
                lambda r: (
                    f"{r.deliveries_per_s:.0f} deliveries/s of {r.offered_per_s:.0f} offered, "
                    f"p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, lost {r.lost}, "
                    f"server {r.server_us_per_delivery:.1f} us/delivery"
                ),
            )
            summary = summarise(results, runs, RATIOS)
            summaries[f"rooms_of_{size}"] = summary
            all_results += results
            header = (
                f"fanout: {cfg.rooms} room(s) of {size} participants, {rate:g} sends/s offered "
                f"(chat and board alternately, = {offered(size, rate):.0f} deliveries/s), "
                f"{cfg.duration:g} s measured after {cfg.warmup:g} s warm-up"
            )
            tables.append(table(header, results, COLUMNS, summary))
    return {
        "config": {**asdict(cfg), "runs": runs},
        "runs": [r.as_dict() for r in all_results],
        "ratio": summaries,
        "warnings": warnings_of(all_results),
        "table": "\n\n".join(tables),
    }


FULL: dict[str, Any] = {
    **{"small": 10, "large": 50, "rooms": 2, "small_rate": 1000.0, "large_rate": 300.0},
    **{"duration": 10.0, "warmup": 1.0, "drain": 10.0},
}
QUICK: dict[str, Any] = {
    **{"small": 10, "large": 50, "rooms": 1, "small_rate": 200.0, "large_rate": 60.0},
    **{"duration": 2.0, "warmup": 0.5, "drain": 5.0},
}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--json", type=Path, help="also write every figure as JSON here")
    for key in FULL:
        parser.add_argument("--" + key.replace("_", "-"), type=type(FULL[key]))
    args = parser.parse_args()
    preset = QUICK if args.quick else FULL
    values = {k: getattr(args, k) if getattr(args, k) is not None else v for k, v in preset.items()}
    n = args.runs or (1 if args.quick else 5)
    show(asyncio.run(workload(FanoutConfig(**values), n)), args.json)
