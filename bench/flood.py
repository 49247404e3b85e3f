"""python -m bench.flood [--rounds N] [--trips N] [--rate N]: a quiet consultation's chat
round trips while another client floods the server, against the same consultation's round
trips without the flood, measured in the same run (baseline and flood interleaved).

The flood: a customer sending `rate` events a second (chat_send, rtc_signal and
board_update in turn) until Parley closes its connection as a flood; then (default, "one
client") the same customer connects again at once and goes on, so the flood lasts as long
as the measurement. With --fresh the next of `flooders` admitted customers takes over
instead: many identities, each with its own allowance (a pessimistic case: each needs an
advisor to admit them). A round trip is a
chat_send by the quiet customer until its advisor receives the message. The goal (issue 9):
the median and p90 ratio flood/baseline at most 2. Figures go to docs/security.md."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import socketio
from pycrdt import Doc, Map

from bench.relay import Peer, connect, new_socket, parley_login, parley_pair, teardown
from bench.servers import Server, cpu_seconds, prepare_parley, spawn_parley, wait_healthy

GOAL = 2.0


def board_update() -> bytes:
    doc: Doc[Any] = Doc()
    doc["elements"] = elements = Map()
    elements["e"] = {"id": "e", "kind": "rect"}
    return doc.get_update()


async def round_trips(customer: Peer, advisor: Peer, trips: int) -> list[float]:
    arrived: dict[str, asyncio.Future[float]] = {}

    def on_message(data: Any) -> None:
        fut = arrived.get(data.get("client_id", "")) if isinstance(data, dict) else None
        if fut is not None and not fut.done():
            fut.set_result(time.perf_counter())

    advisor.sio.on("chat_message", on_message)
    times = []
    loop = asyncio.get_running_loop()
    for _ in range(trips):
        key = uuid.uuid4().hex
        arrived[key] = loop.create_future()
        started = time.perf_counter()
        payload = {"consultation_id": customer.consultation_id, "client_id": key, "body": "q"}
        await customer.sio.call("chat_send", payload, timeout=30)
        times.append(await asyncio.wait_for(arrived.pop(key), 30) - started)
        await asyncio.sleep(0.02)  # a person typing, not a load generator
    return times


async def reconnect(peer: Peer, base: str) -> bool:
    """The flooding customer's browser, connecting again with its cookie."""
    peer.sio = new_socket()
    try:
        await connect(peer.sio, base, {"Cookie": peer.cookie, "Origin": base})
    except socketio.exceptions.ConnectionError:
        return False
    return True


async def flood(
    flooders: list[Peer],
    rate: float,
    stop: asyncio.Event,
    kinds: str = "crb",
    again: str | None = None,
) -> dict[str, int]:
    """`again`: the server's URL, to connect the one flooder again whenever it is closed;
    None: go on with the next flooder."""
    counts = {"sent": 0, "closed": 0}
    update = board_update()
    started, due = time.perf_counter(), 0
    queue = list(flooders)
    while queue:
        peer = queue.pop(0)
        n = 0
        while not stop.is_set() and peer.sio.connected:
            # catch up with the schedule: `rate` events a second however slow a send is
            due_now = int((time.perf_counter() - started) * rate)
            for _ in range(min(due_now - due, 50)):
                event, data = {
                    "c": ("chat_send", {"client_id": f"flood-{uuid.uuid4().hex}", "body": "x"}),
                    "r": ("rtc_signal", {"to": peer.to, "end_of_candidates": True}),
                    "b": ("board_update", {"update": update}),
                }[kinds[n % len(kinds)]]
                n += 1
                try:
                    await peer.sio.emit(event, {"consultation_id": peer.consultation_id, **data})
                except socketio.exceptions.SocketIOError:
                    break
                counts["sent"] += 1
            due = due_now
            await asyncio.sleep(0.002)
        if stop.is_set():
            break
        counts["closed"] += 1
        if again is not None:
            with contextlib.suppress(socketio.exceptions.SocketIOError):
                await peer.sio.disconnect()
            if not await reconnect(peer, again):
                await asyncio.sleep(0.01)  # refused (e.g. sockets per address): try again
            queue.insert(0, peer)
    return counts


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def measure(server: Server, account: dict[str, str], args: argparse.Namespace) -> dict:
    advisor = await parley_login(server.url, account)
    try:
        quiet = await parley_pair(server.url, advisor, 0)
        count = args.flooders if args.fresh else 1
        flooders = [await parley_pair(server.url, advisor, i + 1) for i in range(count)]
    finally:
        await advisor.close()
    peers = [*quiet, *(p for pair in flooders for p in pair)]
    base: list[float] = []
    during: list[float] = []
    counts = {"sent": 0, "closed": 0}
    cpu = {"server_base": 0.0, "server_flood": 0.0, "client_flood": 0.0, "flood_s": 0.0}
    spare = [customer for _, customer in flooders]
    again = None if args.fresh else server.url
    try:
        await round_trips(quiet[1], quiet[0], 10)  # warm-up
        for _ in range(args.rounds):
            mark = cpu_seconds(server.pid)
            base += await round_trips(quiet[1], quiet[0], args.trips)
            cpu["server_base"] += cpu_seconds(server.pid) - mark
            mark, mark_client, wall = cpu_seconds(server.pid), time.process_time(), time.time()
            stop = asyncio.Event()
            flooding = asyncio.create_task(flood(spare, args.rate, stop, args.kinds, again))
            await asyncio.sleep(0.2)
            during += await round_trips(quiet[1], quiet[0], args.trips)
            stop.set()
            got = await flooding
            cpu["server_flood"] += cpu_seconds(server.pid) - mark
            cpu["client_flood"] += time.process_time() - mark_client
            cpu["flood_s"] += time.time() - wall
            counts = {k: counts[k] + got[k] for k in counts}
            if again is None:
                spare = [p for p in spare if p.sio.connected]
            if not spare:
                break
    finally:
        await teardown(peers)
    return {"baseline": base, "flood": during, **counts, "cpu": cpu}


async def main_async(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp_name:
        tmp = Path(tmp_name)
        account = await asyncio.to_thread(prepare_parley, tmp / "parley-data")
        server = spawn_parley(tmp / "parley-data", tmp / "flood.log")
        try:
            await wait_healthy(server)
            result = await measure(server, account, args)
        finally:
            server.stop()
            if args.log:
                print(server.log_tail(args.log))
    base, during = result["baseline"], result["flood"]
    rows = []
    for label, q in (("p50", 50), ("p90", 90)):
        b, f = quantile(base, q) * 1000, quantile(during, q) * 1000
        rows.append((label, b, f, f / b))
    who = f"{args.flooders} fresh customers" if args.fresh else "one customer, reconnecting"
    print(f"flooding: {who}")
    print(
        f"flood: {len(base)} quiet round trips without, {len(during)} during a flood of "
        f"{args.rate:.0f} events/s offered ({result['sent']} sent, "
        f"{result['sent'] / max(result['cpu']['flood_s'], 1e-9):.0f}/s achieved; "
        f"{result['closed']} flooding connections closed by the server)"
    )
    print(f"{'':5} {'baseline ms':>12} {'flood ms':>10} {'ratio':>7}")
    for label, b, f, ratio in rows:
        print(f"{label:5} {b:12.2f} {f:10.2f} {ratio:7.2f}")
    cpu = result["cpu"]
    seconds = max(cpu["flood_s"], 1e-9)
    print(
        f"during the flood ({seconds:.1f} s): server {cpu['server_flood'] / seconds:.0%} of a "
        f"core, this load generator {cpu['client_flood'] / seconds:.0%}"
    )
    worst = max(ratio for *_, ratio in rows)
    print(f"goal: ratio <= {GOAL:g}: {'met' if worst <= GOAL else 'NOT met'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flood", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="baseline/flood alternations")
    parser.add_argument("--trips", type=int, default=40, help="round trips per half round")
    parser.add_argument("--rate", type=float, default=1000.0, help="flood events per second")
    parser.add_argument(
        "--kinds", default="crb", help="events of the flood: c chat, r rtc_signal, b board"
    )
    parser.add_argument("--log", type=int, default=0, help="show this many server log lines")
    parser.add_argument(
        "--fresh", action="store_true", help="a new flooding customer after each close"
    )
    parser.add_argument(
        "--flooders", type=int, default=60, help="--fresh: flooding customers in reserve"
    )
    args = parser.parse_args(argv)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
