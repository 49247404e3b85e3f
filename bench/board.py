"""Workload "board": the shared whiteboard (a Yjs document per consultation, pycrdt here and
on the server), in two parts per run.

1. Fan-out: B boards (consultations), each with an advisor and two customers admitted and
   in the room, every one with its own pycrdt document. Participants add Excalidraw
   elements on a fixed open-loop schedule, each edit one `board_update`; we time every
   update from its scheduled time to its being applied at each of the two other
   participants of its board.
2. Late join: one more board gets N elements through real `board_update`s (batches under
   the size limit); then a participant with an empty document sends `board_sync` and
   applies the answer, timed from the send to the document applied, a few times.

Three servers take turns in each run (bench/bare_board.py has both baselines):

- "parley": `parley serve`, as above.
- "bare": issue 8's S10 baseline, a bare python-socketio server that applies each update to
  its room's pycrdt document and fans it out; the same clients, sockets and schedule.
  Parley/bare is what Parley's validation, sealing, storage and bookkeeping cost.
- "pycrdt" (diagnostic): no server at all; the same edits on the same schedule, with pycrdt
  encoding each update and applying it to a copy standing for the server's and to the two
  receivers, and the same N-element document encoded as one update and applied to a fresh
  document. Parley/pycrdt is what everything around pycrdt costs, sockets included."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import socketio
from pycrdt import Doc

from bench.ab import Column, Ratio, interleave, ratio_lines, summarise, table
from bench.bare_board import Editor, count, fan_out, late_join
from bench.relay import (
    KEPT_UP_P50_MS,
    SETUP_CONCURRENCY,
    STEP_TIMEOUT,
    TEARDOWN_TIMEOUT,
    Http,
    admitted_event,
    call_ok,
    connect,
    join_invite,
    open_invite,
    parley_login,
    percentile,
)
from bench.servers import Server, cpu_seconds, prepare_parley, spawn_bare, spawn_parley

BARE_BOARD = Path(__file__).resolve().parent / "bare_board.py"
SERVERS = ("parley", "bare", "pycrdt")  # pycrdt: in this process, no server (diagnostic)

PEOPLE = 3  # per fan-out board: the advisor and two customers
# Parley's default limit of a person's events (PARLEY_EVENTS_PER_SECOND): per person, not
# per socket, and the benchmark's one advisor account is on every board
PERSON_EVENTS_PER_S = 100.0
RUN_SLACK = 180.0  # seconds a run may take beyond sending and draining (setup, late join)
# the late joiner's answer is the whole document (several MB): aiohttp's websocket client
# refuses messages over 4 MB by default, a browser has no such limit
MAX_MSG_BYTES = 64 * 1024 * 1024

COLUMNS: list[Column] = [
    ("dlv/s", "deliveries_per_s", "{:.0f}"),
    ("p50 ms", "p50_ms", "{:.3f}"),
    ("p99 ms", "p99_ms", "{:.3f}"),
    ("max ms", "max_ms", "{:.1f}"),
    ("lost", "lost", "{}"),
    ("us/upd", "cpu_us_per_update", "{:.0f}"),
    ("srv CPU", "server_cpu", "{:.0%}"),
    ("gen CPU", "gen_cpu", "{:.0%}"),
    ("gen lag p99", "gen_lag_p99_ms", "{:.1f}"),
    ("join ms", "join_ms", "{:.1f}"),
    ("join max", "join_max_ms", "{:.1f}"),
    ("join MB", "join_mb", "{:.2f}"),
    ("build s", "build_s", "{:.1f}"),
    ("setup s", "setup_s", "{:.1f}"),
    ("load", "load_avg", "{:.1f}"),
    ("kept up", "kept_up", "{}"),
]
RATIOS: list[Ratio] = [
    ("update deliveries/s", "deliveries_per_s", False),
    ("update p50 latency", "p50_ms", False),
    ("update p99 latency", "p99_ms", False),
    ("update p99 latency, both kept up", "p99_ms", True),
    ("CPU per update (server process)", "cpu_us_per_update", False),
    ("late-join sync time (median)", "join_ms", False),
]
PYCRDT_RATIOS: list[Ratio] = [
    ("CPU per update (server process / pycrdt)", "cpu_us_per_update", False),
    ("late-join sync time (median)", "join_ms", False),
]


@dataclass(frozen=True)
class BoardConfig:
    boards: int
    rate: float  # updates per second, all participants together
    duration: float  # measured seconds of sending
    warmup: float  # seconds of sending before that, not measured
    drain: float  # seconds to wait for stragglers after the last scheduled send
    elements: int  # on the late-join board
    batch: int  # elements per update while building it
    syncs: int  # late joins timed per run

    @property
    def total(self) -> int:
        return round(self.rate * (self.warmup + self.duration))

    @property
    def first_measured(self) -> int:
        return round(self.rate * self.warmup)

    @property
    def per_sender(self) -> int:
        return self.total // (PEOPLE * self.boards)


@dataclass
class Participant:
    board: int
    who: int  # 0: the advisor, then the customers
    consultation_id: str
    editor: Editor = field(default_factory=Editor)
    sio: socketio.AsyncClient | None = None

    @property
    def index(self) -> int:
        return self.board * PEOPLE + self.who


@dataclass
class Collector:
    """What was sent (by update, since the server relays the bytes unchanged), and what
    came back."""

    first_measured: int
    seq_of: dict[bytes, int] = field(default_factory=dict)
    expected: dict[tuple[int, int], float] = field(default_factory=dict)  # (seq, to) -> time
    latencies: list[float] = field(default_factory=list)  # measured deliveries only
    lags: list[float] = field(default_factory=list)  # how late the generator sent
    update_bytes: int = 0
    delivered: int = 0
    delivered_measured: int = 0
    last_delivery: float = 0.0
    unexpected: int = 0
    misrouted: int = 0
    send_failed: int = 0
    acks: Counter[str] = field(default_factory=Counter)
    error_samples: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: int = 0
    sending: bool = True
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def finished_sending(self) -> None:
        self.sending = False
        self._check()

    def _check(self) -> None:
        if not self.sending and not self.expected and sum(self.acks.values()) >= self.sent:
            self.done.set()

    def deliver(self, seq: int, to: int, now: float, *, right_room: bool = True) -> None:
        scheduled = self.expected.pop((seq, to), None)
        if scheduled is None:
            self.unexpected += 1
            return
        if not right_room:
            self.misrouted += 1
        self.delivered += 1
        if seq >= self.first_measured:
            self.delivered_measured += 1
            self.latencies.append(now - scheduled)
            self.last_delivery = now
        self._check()

    def on_update(self, receiver: Participant, data: Any) -> None:
        """A relayed `board_update` at `receiver`: apply it, then it counts as arrived."""
        try:
            update = data["update"]
            receiver.editor.apply(update)
        except (KeyError, TypeError, ValueError):
            self.unexpected += 1
            return
        now = time.perf_counter()
        seq = self.seq_of.get(update, -1)
        right_room = data.get("consultation_id") == receiver.consultation_id
        self.deliver(seq, receiver.index, now, right_room=right_room)

    def on_ack(self, seq: int, answer: Any = None) -> None:
        if isinstance(answer, dict) and answer.get("ok") is True:
            code = "ok"
        elif isinstance(answer, dict) and isinstance(answer.get("error"), dict):
            code = str(answer["error"].get("code"))
        else:
            code = "malformed"
        self.acks[code] += 1
        if code != "ok" and code not in self.error_samples:
            self.error_samples[code] = {"event": "board_update", "seq": seq, "ack": answer}
        self._check()


@dataclass
class BoardResult:
    server: str
    run: int
    sent: int
    measured: int
    delivered: int
    delivered_measured: int
    lost: int  # deliveries that did not arrive within the drain
    misrouted: int
    unexpected: int
    send_failed: int
    acks: dict[str, int]
    error_samples: dict[str, dict[str, Any]]
    update_bytes_mean: float
    deliveries_per_s: float  # measured deliveries per second
    p50_ms: float
    p99_ms: float
    max_ms: float
    cpu_us_per_update: float  # parley, bare: server process CPU; pycrdt: the pycrdt work
    server_cpu: float  # share of one core during the measured window (0 for pycrdt)
    gen_cpu: float
    gen_lag_p99_ms: float
    join_ms: float  # median over the syncs
    join_max_ms: float
    join_times_ms: list[float]
    join_mb: float  # the late joiner's update
    join_elements: int  # in the late joiner's document (must be `elements`)
    build_s: float  # building the late-join board
    setup_s: float
    load_avg: float
    kept_up: bool  # nothing lost, no error acknowledgements, p50 <= KEPT_UP_P50_MS

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- Parley: setting the boards up -----------------------------------------------------------


def new_socket() -> socketio.AsyncClient:
    return socketio.AsyncClient(
        reconnection=False,
        request_timeout=STEP_TIMEOUT,
        websocket_extra_options={"max_msg_size": MAX_MSG_BYTES},
    )


async def disconnect(people: list[Participant]) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(TEARDOWN_TIMEOUT):
            await asyncio.gather(
                *(p.sio.disconnect() for p in people if p.sio is not None),
                return_exceptions=True,
            )


async def parley_board(base: str, adv_http: Http, i: int, customers: int) -> list[Participant]:
    """One invite consultation with the advisor and `customers` customers (each joins with
    the same invite link, as two people in one household would) admitted, in the room and
    synced (`board_sync` with an empty document, as the browser does after `room_join`)."""
    https = [Http(base) for _ in range(customers)]
    people: list[Participant] = []
    try:
        cid, token = await open_invite(adv_http, f"board {i}")
        pids = []
        for k, http in enumerate(https):
            last_name = f"Kunde {chr(ord('A') + i % 26)}-{chr(ord('A') + k)}"
            pids.append(await join_invite(http, token, last_name))
        people = [Participant(i, who, cid, sio=new_socket()) for who in range(customers + 1)]
        admitted = []
        for k, person in enumerate(people[1:]):
            assert person.sio is not None
            admitted.append(admitted_event(person.sio))
            await connect(person.sio, base, {"Cookie": https[k].cookie_header(), "Origin": base})
        advisor = people[0].sio
        assert advisor is not None
        await connect(advisor, base, {"Cookie": adv_http.cookie_header(), "Origin": base})
        for pid in pids:
            await call_ok(advisor, "lobby_admit", {"consultation_id": cid, "participant_id": pid})
        async with asyncio.timeout(STEP_TIMEOUT):
            await asyncio.gather(*(event.wait() for event in admitted))
        for person in people:
            assert person.sio is not None
            await call_ok(person.sio, "room_join", {"consultation_id": cid})
            answer = await call_ok(
                person.sio,
                "board_sync",
                {"consultation_id": cid, "state_vector": person.editor.doc.get_state()},
            )
            person.editor.apply(answer["update"])
        return people
    except BaseException:
        await disconnect(people)
        raise
    finally:
        for http in https:
            await http.close()


async def set_up(
    made: list[list[Participant] | BaseException], boards: int
) -> tuple[list[list[Participant]], list[Participant]]:
    """The fan-out boards and the late-join board, from `gather(..., return_exceptions=True)`
    over all of them; if any failed, the others are disconnected and the run fails."""
    ok = [people for people in made if isinstance(people, list)]
    failed = [exc for exc in made if isinstance(exc, BaseException)]
    if failed:
        await disconnect([p for people in ok for p in people])
        raise RuntimeError(f"{len(failed)} of {boards + 1} boards failed to set up: {failed[0]!r}")
    return ok[:boards], ok[boards]


async def setup_parley(
    server: Server, account: dict[str, str], boards: int
) -> tuple[list[list[Participant]], list[Participant]]:
    """The fan-out boards and the late-join board (the advisor and one customer)."""
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)
    adv_http = await parley_login(server.url, account)

    async def one(i: int, customers: int) -> list[Participant]:
        async with gate:
            return await parley_board(server.url, adv_http, i, customers)

    try:
        made = await asyncio.gather(
            *(one(i, PEOPLE - 1) for i in range(boards)), one(boards, 1), return_exceptions=True
        )
    finally:
        await adv_http.close()
    return await set_up(made, boards)


async def setup_bare(
    server: Server, boards: int
) -> tuple[list[list[Participant]], list[Participant]]:
    """The same boards on the bare server: each socket `join`s its board's room and syncs."""
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(i: int, size: int) -> list[Participant]:
        people = [Participant(i, who, f"board-{i}", sio=new_socket()) for who in range(size)]
        async with gate:
            for person in people:
                assert person.sio is not None
                await connect(person.sio, server.url, {})
                await call_ok(person.sio, "join", {"consultation_id": person.consultation_id})
                answer = await call_ok(
                    person.sio,
                    "board_sync",
                    {
                        "consultation_id": person.consultation_id,
                        "state_vector": person.editor.doc.get_state(),
                    },
                )
                person.editor.apply(answer["update"])
        return people

    made = await asyncio.gather(
        *(one(i, PEOPLE) for i in range(boards)), one(boards, 2), return_exceptions=True
    )
    return await set_up(made, boards)


# -- the runs --------------------------------------------------------------------------------


@dataclass
class Phase:
    """What the fan-out phase measured, besides the collector."""

    t0: float = 0.0
    last_scheduled: float = 0.0
    window: float = 1e-9
    server_cpu: float = 0.0
    gen_cpu: float = 0.0
    work: float = 0.0  # bare: seconds of pycrdt work in the measured updates


async def fan_out_phase(
    cfg: BoardConfig,
    boards: list[list[Participant]],
    col: Collector,
    server: Server | None,
    server_docs: list[Doc[Any]],
) -> Phase:
    """Send every update at its scheduled time: through `server` (Parley or the bare one),
    else through pycrdt in this process (`fan_out`, with `server_docs` as the server's
    copies)."""
    phase = Phase()
    total, rate = cfg.total, cfg.rate
    phase.t0 = time.perf_counter() + 0.2
    mark_wall = mark_cpu = mark_gen = 0.0
    for seq in range(total):
        scheduled = phase.t0 + seq / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if seq == cfg.first_measured:
            mark_wall = time.perf_counter()
            mark_cpu = cpu_seconds(server.pid) if server is not None else 0.0
            mark_gen = time.process_time()
        b = seq % len(boards)
        sender = boards[b][(seq // len(boards)) % PEOPLE]
        receivers = [p for p in boards[b] if p is not sender]
        col.lags.append(time.perf_counter() - scheduled)
        col.sent += 1
        if server is None:
            editors = [r.editor for r in receivers]
            done, size = fan_out(sender.editor, seq, sender.index, server_docs[b], editors)
            col.update_bytes += size
            if seq >= cfg.first_measured:
                phase.work += done[-1]
            for receiver, took in zip(receivers, done, strict=True):
                col.expected[(seq, receiver.index)] = scheduled
                col.deliver(seq, receiver.index, scheduled + took)
            col.acks["ok"] += 1
            continue
        update = sender.editor.add(seq, 1, sender.index)
        col.update_bytes += len(update)
        col.seq_of[update] = seq
        for receiver in receivers:
            col.expected[(seq, receiver.index)] = scheduled
        assert sender.sio is not None
        try:
            await sender.sio.emit(
                "board_update",
                {"consultation_id": sender.consultation_id, "update": update},
                callback=functools.partial(col.on_ack, seq),
            )
        except socketio.exceptions.SocketIOError:  # e.g. dropped by a ping timeout
            for receiver in receivers:
                col.expected.pop((seq, receiver.index), None)
            col.sent -= 1
            col.send_failed += 1
    phase.last_scheduled = phase.t0 + total / rate
    col.finished_sending()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(col.done.wait(), cfg.drain)
    phase.window = max(time.perf_counter() - mark_wall, 1e-9)
    if server is not None:
        phase.server_cpu = cpu_seconds(server.pid) - mark_cpu
    phase.gen_cpu = time.process_time() - mark_gen
    return phase


@dataclass
class Join:
    build_s: float = 0.0
    times: list[float] = field(default_factory=list)
    size: int = 0
    elements: int = 0


async def late_join_server(cfg: BoardConfig, late: list[Participant]) -> Join:
    """The advisor builds the board in batches; then the customer's socket, with a fresh
    document each time (a reloaded tab), syncs from nothing."""
    writer, joiner = late[0], late[1]
    assert writer.sio is not None and joiner.sio is not None
    cid = writer.consultation_id
    join = Join()
    started = time.perf_counter()
    for first in range(0, cfg.elements, cfg.batch):
        update = writer.editor.add(first, min(cfg.batch, cfg.elements - first), writer.index)
        await call_ok(writer.sio, "board_update", {"consultation_id": cid, "update": update})
    join.build_s = time.perf_counter() - started
    for _ in range(cfg.syncs):
        fresh: Doc[Any] = Doc()
        started = time.perf_counter()
        answer = await call_ok(
            joiner.sio, "board_sync", {"consultation_id": cid, "state_vector": fresh.get_state()}
        )
        fresh.apply_update(answer["update"])
        join.times.append(time.perf_counter() - started)
        join.size, join.elements = len(answer["update"]), count(fresh)
    return join


def late_join_bare(cfg: BoardConfig) -> Join:
    writer, server = Editor(), Doc[Any]()
    join = Join()
    started = time.perf_counter()
    for first in range(0, cfg.elements, cfg.batch):
        server.apply_update(writer.add(first, min(cfg.batch, cfg.elements - first), 0))
    join.build_s = time.perf_counter() - started
    for _ in range(cfg.syncs):
        took, join.size, join.elements = late_join(server)
        join.times.append(took)
    return join


async def run_board(
    server: Server | None, account: dict[str, str], cfg: BoardConfig, run: int
) -> BoardResult:
    """One run: through `server` (Parley or the bare server), else pycrdt in this process.
    Set up, fan out, drain, build the late-join board, time the late joins, tear down."""
    load_avg = os.getloadavg()[0]
    started = time.perf_counter()
    if server is not None and server.name == "parley":
        boards, late = await setup_parley(server, account, cfg.boards)
    elif server is not None:
        boards, late = await setup_bare(server, cfg.boards)
    else:
        boards = [
            [Participant(b, who, f"board-{b}") for who in range(PEOPLE)] for b in range(cfg.boards)
        ]
        late = []
    server_docs: list[Doc[Any]] = [Doc() for _ in boards] if server is None else []
    setup_s = time.perf_counter() - started
    col = Collector(first_measured=cfg.first_measured)
    try:
        for people in boards:
            for person in people:
                if person.sio is not None:
                    person.sio.on("board_update", functools.partial(col.on_update, person))
        phase = await fan_out_phase(cfg, boards, col, server, server_docs)
        if server is not None:
            join = await late_join_server(cfg, late)
        else:
            join = late_join_bare(cfg)
    finally:
        await disconnect([p for people in [*boards, late] for p in people])

    if join.elements != cfg.elements:
        raise RuntimeError(f"the late joiner got {join.elements} of {cfg.elements} elements")
    measured = cfg.total - cfg.first_measured
    latencies, lags = sorted(col.latencies), sorted(col.lags)
    span = max(col.last_delivery, phase.last_scheduled) - (phase.t0 + cfg.first_measured / cfg.rate)
    p50_ms = percentile(latencies, 50) * 1000
    cpu = phase.server_cpu if server is not None else phase.work
    joins = sorted(join.times)
    errors = set(col.acks) - {"ok"}
    return BoardResult(
        server=server.name if server is not None else "pycrdt",
        run=run,
        sent=col.sent,
        measured=measured,
        delivered=col.delivered,
        delivered_measured=col.delivered_measured,
        lost=len(col.expected),
        misrouted=col.misrouted,
        unexpected=col.unexpected,
        send_failed=col.send_failed,
        acks=dict(col.acks),
        error_samples=col.error_samples,
        update_bytes_mean=col.update_bytes / max(col.sent, 1),
        deliveries_per_s=col.delivered_measured / span if span > 0 else 0.0,
        p50_ms=p50_ms,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=(latencies[-1] if latencies else 0.0) * 1000,
        cpu_us_per_update=cpu / max(measured, 1) * 1e6,
        server_cpu=phase.server_cpu / phase.window,
        gen_cpu=phase.gen_cpu / phase.window,
        gen_lag_p99_ms=percentile(lags, 99) * 1000,
        join_ms=percentile(joins, 50) * 1000,
        join_max_ms=joins[-1] * 1000 if joins else 0.0,
        join_times_ms=[t * 1000 for t in join.times],
        join_mb=join.size / 1e6,
        join_elements=join.elements,
        build_s=join.build_s,
        setup_s=setup_s,
        load_avg=load_avg,
        kept_up=not col.expected
        and not col.send_failed
        and not errors
        and p50_ms <= KEPT_UP_P50_MS,
    )


# -- the workload: interleaved runs and their report ---------------------------------------


def warnings_of(results: list[BoardResult]) -> list[str]:
    notes = []
    shown: set[str] = set()
    for r in results:
        tag = f"{r.server} run {r.run + 1}"
        if r.lost:
            notes.append(f"{tag}: {r.lost} of {2 * r.sent} deliveries not made within the drain")
        if r.send_failed:
            notes.append(f"{tag}: {r.send_failed} sends failed (socket disconnected)")
        if r.misrouted or r.unexpected:
            notes.append(f"{tag}: {r.misrouted} misrouted, {r.unexpected} unexpected updates")
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


async def workload(cfg: BoardConfig, runs: int) -> dict[str, Any]:
    if cfg.rate / (PEOPLE * cfg.boards) > 40:
        raise ValueError("more than 40 updates/s per participant: Parley's limit is 50 a second")
    if cfg.rate / PEOPLE > 0.9 * PERSON_EVENTS_PER_S:
        raise ValueError(
            f"the advisor, one account on every board, would send {cfg.rate / PEOPLE:.0f} "
            f"updates/s: Parley refuses a person's events above {PERSON_EVENTS_PER_S:g}/s"
        )
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp_name:
        tmp = Path(tmp_name)
        account = await asyncio.to_thread(prepare_parley, tmp / "parley-data")

        def spawn(name: str, run: int) -> Server | None:
            log = tmp / f"board-{name}-{run}.log"
            if name == "parley":
                return spawn_parley(tmp / "parley-data", log)
            if name == "bare":
                return spawn_bare(log, BARE_BOARD)
            return None  # pycrdt runs in this process

        async def drive(server: Server | None, run: int) -> BoardResult:
            return await run_board(server, account, cfg, run)

        results = await interleave(
            runs,
            spawn,
            drive,
            cfg.warmup + cfg.duration + cfg.drain + RUN_SLACK,
            lambda r: (
                f"{r.deliveries_per_s:.0f} deliveries/s, p50 {r.p50_ms:.3f} ms, "
                f"p99 {r.p99_ms:.3f} ms, lost {r.lost}; late join {r.join_ms:.1f} ms "
                f"({r.join_mb:.2f} MB)"
            ),
            SERVERS,
        )
    summary = summarise(results, runs, RATIOS)
    diagnostic = summarise(results, runs, PYCRDT_RATIOS, ("parley", "pycrdt"))
    header = (
        f"board: {cfg.boards} boards x {PEOPLE} participants, {cfg.rate:g} updates/s offered "
        f"({cfg.per_sender} per participant), {cfg.duration:g} s measured after "
        f"{cfg.warmup:g} s warm-up; late join: {cfg.elements} elements built in updates of "
        f"{cfg.batch}, {cfg.syncs} syncs per run; bare = a python-socketio server applying "
        f"pycrdt and fanning out (issue 8's S10 baseline); pycrdt = pycrdt alone in this "
        f"process, no server (diagnostic)"
    )
    diagnostic_lines = ["", "", *ratio_lines(diagnostic, "diagnostic, Parley/pycrdt")]
    return {
        "config": {**asdict(cfg), "runs": runs, "per_sender": cfg.per_sender},
        "runs": [r.as_dict() for r in results],
        "ratio": summary,
        "diagnostic_ratio": {"parley/pycrdt": diagnostic},
        "warnings": warnings_of(results),
        "table": table(header, results, COLUMNS, summary) + "\n".join(diagnostic_lines),
    }
