"""Workload "chat": C consultations, each an advisor socket and a customer socket admitted
and in the room; every customer sends chat messages on a fixed open-loop schedule, with an
acknowledgement requested, and we time each one from its scheduled send time to its
acknowledgement (Parley answers only once the message is sealed and stored) and to its
`chat_message` at the advisor.

The same traffic goes to Parley (`chat_send` after login, invite, join, admit, room_join)
and to the bare baseline (`chat_send` after `join`, bench/bare_chat.py): the same payload
dicts, the same rate, the same consultations."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import socketio

from bench.ab import Column, Ratio, interleave, summarise, table
from bench.relay import KEPT_UP_P50_MS, percentile, setup_pairs, teardown
from bench.servers import (
    BARE_CHAT,
    Nodes,
    Server,
    prepare_parley,
    server_cpu_seconds,
    spawn_bare,
    spawn_parley,
)

RUN_SLACK = 180.0  # seconds a run may take beyond its sending and draining (setup, start)
BODY = "Guten Tag, hier ist Nachricht {seq} aus dem Lasttest. Bitte nicht beantworten, danke!"

COLUMNS: list[Column] = [
    ("msg/s", "throughput", "{:.0f}"),
    ("ack p50", "ack_p50_ms", "{:.1f}"),
    ("ack p99", "ack_p99_ms", "{:.1f}"),
    ("dlv p50", "delivery_p50_ms", "{:.1f}"),
    ("dlv p99", "delivery_p99_ms", "{:.1f}"),
    ("max ms", "max_ms", "{:.1f}"),
    ("lost", "lost", "{}"),
    ("srv CPU", "server_cpu", "{:.0%}"),
    ("srv us/msg", "server_us_per_msg", "{:.0f}"),
    ("gen CPU", "gen_cpu", "{:.0%}"),
    ("gen lag p99", "gen_lag_p99_ms", "{:.1f}"),
    ("setup s", "setup_s", "{:.1f}"),
    ("load", "load_avg", "{:.1f}"),
    ("kept up", "kept_up", "{}"),
]
RATIOS: list[Ratio] = [
    ("throughput (acked and delivered)", "throughput", False),
    ("ack p50 latency", "ack_p50_ms", False),
    ("ack p99 latency", "ack_p99_ms", False),
    ("delivery p50 latency", "delivery_p50_ms", False),
    ("delivery p99 latency", "delivery_p99_ms", False),
    ("delivery p99 latency, both kept up", "delivery_p99_ms", True),
    ("server CPU per message", "server_us_per_msg", False),
]


@dataclass(frozen=True)
class ChatConfig:
    consultations: int
    rate: float  # messages per second, all customers together
    duration: float  # measured seconds of sending
    warmup: float  # seconds of sending before that, not measured
    drain: float  # seconds to wait for stragglers after the last scheduled send

    @property
    def total(self) -> int:
        return round(self.rate * (self.warmup + self.duration))

    @property
    def first_measured(self) -> int:
        return round(self.rate * self.warmup)

    @property
    def per_sender(self) -> int:
        return self.total // self.consultations


@dataclass
class Collector:
    """Send times by sequence number; a message is done once acknowledged and delivered."""

    first_measured: int
    prefix: str  # of every client id in this run
    awaiting_ack: dict[int, float] = field(default_factory=dict)  # seq -> scheduled time
    awaiting_delivery: dict[int, tuple[float, str]] = field(default_factory=dict)  # + room
    payloads: dict[int, dict[str, str]] = field(default_factory=dict)  # until acknowledged
    error_samples: dict[str, dict[str, Any]] = field(default_factory=dict)  # first per code
    ack_latencies: list[float] = field(default_factory=list)  # measured messages only
    delivery_latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)  # how late the generator sent
    acks: Counter[str] = field(default_factory=Counter)
    acked_ok: set[int] = field(default_factory=set)
    delivered: set[int] = field(default_factory=set)
    completed_measured: int = 0  # acknowledged ok and delivered to the advisor
    last_completion: float = 0.0
    unexpected: int = 0
    misrouted: int = 0
    send_failed: int = 0
    sending: bool = True
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def client_id(self, seq: int) -> str:
        return f"{self.prefix}-{seq}"

    def sent(self, seq: int, scheduled: float, payload: dict[str, str]) -> None:
        self.awaiting_ack[seq] = scheduled
        self.awaiting_delivery[seq] = (scheduled, payload["consultation_id"])
        self.payloads[seq] = payload

    def failed(self, seq: int) -> None:
        self.payloads.pop(seq, None)
        self.awaiting_ack.pop(seq, None)
        self.awaiting_delivery.pop(seq, None)
        self.send_failed += 1

    def finished_sending(self) -> None:
        self.sending = False
        self._check()

    def _check(self) -> None:
        if not self.sending and not self.awaiting_ack and not self.awaiting_delivery:
            self.done.set()

    def _complete(self, seq: int, now: float) -> None:
        if seq in self.acked_ok and seq in self.delivered and seq >= self.first_measured:
            self.completed_measured += 1
            self.last_completion = now

    def on_ack(self, seq: int, answer: Any = None) -> None:
        now = time.perf_counter()
        scheduled = self.awaiting_ack.pop(seq, None)
        payload = self.payloads.pop(seq, None)
        if scheduled is None:
            self.unexpected += 1
            return
        if isinstance(answer, dict) and answer.get("ok") is True:
            code = "ok"
            self.acked_ok.add(seq)
        elif isinstance(answer, dict) and isinstance(answer.get("error"), dict):
            code = str(answer["error"].get("code"))
        else:
            code = "malformed"
        self.acks[code] += 1
        if code != "ok" and code not in self.error_samples:  # what to show in a bug report
            after_ms = round((now - scheduled) * 1000, 1)
            sample = {"event": "chat_send", "payload": payload, "ack": answer, "after_ms": after_ms}
            self.error_samples[code] = sample
        if seq >= self.first_measured:
            self.ack_latencies.append(now - scheduled)
        self._complete(seq, now)
        self._check()

    def on_message(self, room: str, data: Any) -> None:
        """A `chat_message` at the advisor socket of `room`."""
        now = time.perf_counter()
        try:
            prefix, _, number = data["client_id"].rpartition("-")
            seq = int(number) if prefix == self.prefix else -1
        except (KeyError, TypeError, ValueError, AttributeError):
            seq = -1
        entry = self.awaiting_delivery.pop(seq, None)
        if entry is None:
            self.unexpected += 1
            return
        scheduled, expected_room = entry
        if room != expected_room or data.get("consultation_id") != expected_room:
            self.misrouted += 1
        self.delivered.add(seq)
        if seq >= self.first_measured:
            self.delivery_latencies.append(now - scheduled)
        self._complete(seq, now)
        self._check()


@dataclass
class ChatResult:
    server: str
    run: int
    sent: int
    measured: int
    acked_ok: int
    delivered: int
    completed_measured: int
    lost: int  # not delivered to the advisor within the drain
    unacked: int  # no acknowledgement within the drain
    misrouted: int
    unexpected: int
    send_failed: int
    acks: dict[str, int]
    error_samples: dict[str, dict[str, Any]]  # the first error ack of each code, with its request
    throughput: float  # measured messages acknowledged ok and delivered, per second
    ack_p50_ms: float
    ack_p99_ms: float
    delivery_p50_ms: float
    delivery_p99_ms: float
    max_ms: float  # the slowest measured ack or delivery
    server_cpu: float  # share of one core during the measured window
    server_us_per_msg: float  # server CPU per completed measured message
    gen_cpu: float
    gen_lag_p99_ms: float
    setup_s: float
    load_avg: float
    kept_up: bool  # nothing lost or unacknowledged and p50 delivery <= KEPT_UP_P50_MS

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def run_chat(
    server: Server | Nodes, account: dict[str, str] | None, cfg: ChatConfig, run: int
) -> ChatResult:
    """One run against a started server (or layout of nodes, CPU summed over them): set up
    the consultations, drive, drain, tear down. `account` is Parley's advisor; None means
    the bare baseline."""
    load_avg = os.getloadavg()[0]
    started = time.perf_counter()
    peers = await setup_pairs(server, account, cfg.consultations)
    setup_s = time.perf_counter() - started
    col = Collector(first_measured=cfg.first_measured, prefix=f"b{uuid.uuid4().hex[:12]}")
    advisors, customers = peers[0::2], peers[1::2]  # index 2i is the advisor of pair i
    try:
        for adv in advisors:
            adv.sio.on(
                "chat_message", lambda data, room=adv.consultation_id: col.on_message(room, data)
            )
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
            peer = customers[seq % len(customers)]
            payload = {
                "consultation_id": peer.consultation_id,
                "client_id": col.client_id(seq),
                "body": BODY.format(seq=seq),
            }
            col.sent(seq, scheduled, payload)
            col.lags.append(time.perf_counter() - scheduled)
            try:
                await peer.sio.emit(
                    "chat_send", payload, callback=functools.partial(col.on_ack, seq)
                )
            except socketio.exceptions.SocketIOError:  # e.g. dropped by a ping timeout
                col.failed(seq)
        last_scheduled = t0 + total / rate
        col.finished_sending()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(col.done.wait(), cfg.drain)
        window = max(time.perf_counter() - mark_wall, 1e-9)
        server_cpu = server_cpu_seconds(server) - mark_cpu
        gen_cpu = time.process_time() - mark_gen
    finally:
        await teardown(peers)

    acks, deliveries = sorted(col.ack_latencies), sorted(col.delivery_latencies)
    lags = sorted(col.lags)
    span = max(col.last_completion, last_scheduled) - (t0 + cfg.first_measured / rate)
    delivery_p50_ms = percentile(deliveries, 50) * 1000
    lost, unacked = len(col.awaiting_delivery), len(col.awaiting_ack)
    return ChatResult(
        server=server.name,
        run=run,
        sent=total - col.send_failed,
        measured=total - cfg.first_measured,
        acked_ok=len(col.acked_ok),
        delivered=len(col.delivered),
        completed_measured=col.completed_measured,
        lost=lost,
        unacked=unacked,
        misrouted=col.misrouted,
        unexpected=col.unexpected,
        send_failed=col.send_failed,
        acks=dict(col.acks),
        error_samples=col.error_samples,
        throughput=col.completed_measured / span if span > 0 else 0.0,
        ack_p50_ms=percentile(acks, 50) * 1000,
        ack_p99_ms=percentile(acks, 99) * 1000,
        delivery_p50_ms=delivery_p50_ms,
        delivery_p99_ms=percentile(deliveries, 99) * 1000,
        max_ms=max(acks[-1:] + deliveries[-1:], default=0.0) * 1000,
        server_cpu=server_cpu / window,
        server_us_per_msg=server_cpu / max(col.completed_measured, 1) * 1e6,
        gen_cpu=gen_cpu / window,
        gen_lag_p99_ms=percentile(lags, 99) * 1000,
        setup_s=setup_s,
        load_avg=load_avg,
        kept_up=not lost
        and not unacked
        and not col.send_failed
        and set(col.acks) <= {"ok"}
        and delivery_p50_ms <= KEPT_UP_P50_MS,
    )


# -- the workload: interleaved runs and their report ---------------------------------------


def warnings_of(results: list[ChatResult]) -> list[str]:
    notes = []
    shown: set[str] = set()
    for r in results:
        tag = f"{r.server} run {r.run + 1}"
        if r.lost or r.unacked:
            notes.append(
                f"{tag}: of {r.sent} messages {r.lost} not delivered and {r.unacked} not "
                "acknowledged within the drain"
            )
        if r.send_failed:
            notes.append(f"{tag}: {r.send_failed} sends failed (socket disconnected)")
        if r.misrouted or r.unexpected:
            notes.append(f"{tag}: {r.misrouted} misrouted, {r.unexpected} unexpected messages")
        errors = {code: n for code, n in r.acks.items() if code != "ok"}
        if errors:
            notes.append(f"{tag}: error acknowledgements {errors}")
        for code, sample in r.error_samples.items():
            if code not in shown:  # one example of each error, for the bug report
                shown.add(code)
                notes.append(f"{tag}: first {code}: {json.dumps(sample, ensure_ascii=False)}")
        if r.gen_cpu > 0.8:
            notes.append(f"{tag}: the load generator used {r.gen_cpu:.0%} of a core")
    return notes


async def workload(cfg: ChatConfig, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp_name:
        tmp = Path(tmp_name)
        account = await asyncio.to_thread(prepare_parley, tmp / "parley-data")

        def spawn(name: str, run: int) -> Server:
            log = tmp / f"chat-{name}-{run}.log"
            if name == "parley":
                return spawn_parley(tmp / "parley-data", log)
            return spawn_bare(log, BARE_CHAT)

        async def drive(server: Server, run: int) -> ChatResult:
            return await run_chat(server, account if server.name == "parley" else None, cfg, run)

        results = await interleave(
            runs,
            spawn,
            drive,
            cfg.warmup + cfg.duration + cfg.drain + RUN_SLACK,
            lambda r: (
                f"{r.throughput:.0f} msg/s, ack p99 {r.ack_p99_ms:.1f} ms, "
                f"delivery p99 {r.delivery_p99_ms:.1f} ms, lost {r.lost}"
            ),
        )
    summary = summarise(results, runs, RATIOS)
    header = (
        f"chat: {cfg.consultations} consultations ({cfg.consultations} customers sending), "
        f"{cfg.rate:.0f} msg/s offered, {cfg.duration:g} s measured after {cfg.warmup:g} s "
        f"warm-up, {cfg.per_sender} messages per customer"
    )
    return {
        "config": {**asdict(cfg), "runs": runs, "per_sender": cfg.per_sender},
        "runs": [r.as_dict() for r in results],
        "ratio": summary,
        "warnings": warnings_of(results),
        "table": table(header, results, COLUMNS, summary),
    }
