"""A diagnostic for issue 8's S11 question: what the cluster's traffic costs a node that
serves none of it. Three Parley nodes on one PostgreSQL database and a private Redis: the
relay workload (bench/relay.py) between advisors on node 1 and customers on node 2, and
node 3, the bystander, whose only socket is one advisor's idle dashboard (a node with no
socket at all never starts listening to Redis).

Two layouts, interleaved A B A B with fresh nodes each run: "room", every node with
`PARLEY_REDIS_FANOUT=consultation` (the default: a consultation's emits on its room's own
channel), and "cluster", every emit on the one channel as python-socketio's Redis manager
does. Reports per run the bystander's CPU (share of a core over the relay, from its spawn's
rusage, and µs per message sent), the two serving nodes' CPU per message, throughput and
p99, and the median ratio room/cluster of each over the run pairs.

`--together` puts both sides of every pair on node 1 (and leaves out node 2): each signal
then goes to a room that node 1 listens to itself, so Redis sends it back to its sender,
as for every consultation whose people are on the same node.

Run: python -m bench.bystander [--runs 5] [--pairs 100] [--rate 2000] [--duration 10]
[--together]"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.ab import interleave
from bench.nodes import services
from bench.relay import RelayConfig, RelayResult, connect, new_socket, parley_login, run_relay
from bench.servers import (
    Nodes,
    Server,
    cpu_seconds,
    prepare_parley,
    spawn_parley,
    wait_healthy,
)

LAYOUTS = ("room", "cluster")
FANOUT = {"room": "consultation", "cluster": "cluster"}
RUN_SLACK = 180.0


@dataclass
class Trio(Nodes):
    """The two serving nodes (`nodes`, as the relay uses them) and the bystander."""

    bystander: Server | None = None

    def stop(self) -> None:
        super().stop()
        if self.bystander is not None:
            self.bystander.stop()


@dataclass
class Run:
    layout: str
    run: int
    relay: RelayResult
    bystander_cpu: float  # share of one core from before the pairs' setup to their teardown
    bystander_us_per_msg: float
    wall_s: float


async def drive(trio: Trio, account: dict[str, str], cfg: RelayConfig, run: int) -> Run:
    assert trio.bystander is not None
    await wait_healthy(trio.bystander, path="/readyz")
    http = await parley_login(trio.bystander.url, account)
    watcher = new_socket()
    try:
        headers = {"Cookie": http.cookie_header(), "Origin": trio.bystander.url}
        await connect(watcher, trio.bystander.url, headers)
        loop = asyncio.get_running_loop()
        cpu0, t0 = cpu_seconds(trio.bystander.pid), loop.time()
        relay = await run_relay(trio, account, cfg, run)
        cpu, wall = cpu_seconds(trio.bystander.pid) - cpu0, loop.time() - t0
    finally:
        await watcher.disconnect()
        await http.close()
    return Run(trio.name, run, relay, cpu / wall, cpu / max(relay.sent, 1) * 1e6, wall)


def figures(r: Run) -> dict[str, float]:
    return {
        "bystander CPU (share of a core)": r.bystander_cpu,
        "bystander µs per message": r.bystander_us_per_msg,
        "serving nodes µs per message": r.relay.server_us_per_msg,
        "throughput msg/s": r.relay.throughput,
        "p99 ms": r.relay.p99_ms,
    }


def report(runs: list[Run]) -> dict[str, Any]:
    rows = [
        {"layout": r.layout, "run": r.run + 1, **figures(r), "lost": r.relay.lost} for r in runs
    ]
    pairs = [
        (a, b)
        for a in runs
        for b in runs
        if a.run == b.run and (a.layout, b.layout) == ("room", "cluster")
    ]
    ratios = {}
    for name in figures(runs[0]):
        values = [figures(a)[name] / figures(b)[name] for a, b in pairs if figures(b)[name]]
        if values:
            ratios[name] = {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
            }
    return {"runs": rows, "ratio room/cluster": ratios}


def table(result: dict[str, Any]) -> str:
    names = [*result["ratio room/cluster"], "lost"]
    lines = ["layout  run  " + " | ".join(names)]
    for row in result["runs"]:
        cells = [f"{row[n]:.3g}" for n in names]
        lines.append(f"{row['layout']:<7} {row['run']:>3}  " + " | ".join(cells))
    lines.append("")
    for name, r in result["ratio room/cluster"].items():
        lines.append(f"room/cluster {name}: {r['median']:.2f} [{r['min']:.2f}-{r['max']:.2f}]")
    return "\n".join(lines)


async def measure(runs: int, cfg: RelayConfig, together: bool = False) -> dict[str, Any]:
    async with services("parley-bench-bystander-") as (tmp, env):
        dirs = [tmp / f"node-{i + 1}" for i in range(2 if together else 3)]
        account = await asyncio.to_thread(prepare_parley, dirs[0], env)

        def spawn(layout: str, run: int) -> Trio:
            started: list[Server] = []
            try:
                for i, data_dir in enumerate(dirs):
                    node_env = {
                        **env,
                        "PARLEY_REDIS_FANOUT": FANOUT[layout],
                        "PARLEY_NODE_ID": f"{layout}-{run + 1}-n{i + 1}",
                    }
                    log = tmp / f"{layout}-{run}-node{i + 1}.log"
                    started.append(spawn_parley(data_dir, log, node_env))
            except BaseException:
                for node in started:
                    node.stop()
                raise
            return Trio(layout, started[:-1], bystander=started[-1])

        results = await interleave(
            runs,
            spawn,
            lambda trio, run: drive(trio, account, cfg, run),
            cfg.warmup + cfg.duration + cfg.drain + RUN_SLACK,
            lambda r: (
                f"bystander {r.bystander_cpu:.0%} of a core, "
                f"{r.relay.throughput:.0f} msg/s, p99 {r.relay.p99_ms:.1f} ms"
            ),
            LAYOUTS,
        )
    config = asdict(cfg) | {"runs": runs, "together": together}
    return {"config": config, **report(results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--drain", type=float, default=3.0)
    parser.add_argument("--together", action="store_true", help="both sides on node 1")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.runs < 1 or args.pairs < 1 or args.rate <= 0 or args.duration <= 0:
        parser.error("--runs and --pairs at least 1, --rate and --duration above 0")
    cfg = RelayConfig(args.pairs, args.rate, args.duration, args.warmup, args.drain)
    result = asyncio.run(measure(args.runs, cfg, args.together))
    print(table(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))
    sys.exit(0)


if __name__ == "__main__":
    main()
