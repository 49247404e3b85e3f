"""python -m bench [--quick] [--json PATH] [--workload NAME ...]: Parley against a bare
baseline for each workload (relay, chat, files, board, fanout, callsetup), interleaved A B A B ...,
reported as ratios Parley/bare; and named workloads not run by default: `nodes` (it needs
PostgreSQL and redis-server: two Parley nodes against one), `persist` (chat persistence against
SQLAlchemy Core, on SQLite and PostgreSQL), `idle`, `joins`, `long_queue`, `soak` (ten
minutes; see docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import (
    board,
    callsetup,
    chat,
    fanout,
    files,
    idle,
    joins,
    long_queue,
    nodes,
    persist,
    relay,
    soak,
)
from bench.ab import show

FULL: dict[str, Any] = {
    "runs": 5,
    # S1: 1,000 connected clients, 100 pairs of them exchanging signals
    "relay": {
        **{"pairs": 100, "crowd": 800, "rate": 2000.0},
        **{"duration": 10.0, "warmup": 1.0, "drain": 10.0},
    },
    "chat": {"consultations": 100, "rate": 500.0, "duration": 10.0, "warmup": 1.0, "drain": 10.0},
    "files": {"size_mib": 50.0, "transfers": 3},
    "board": {
        **{"boards": 20, "rate": 120.0, "duration": 10.0, "warmup": 1.0, "drain": 10.0},
        **{"elements": 10_000, "batch": 500, "syncs": 9},
    },
    "fanout": fanout.FULL,
    "callsetup": {k: v for k, v in callsetup.FULL.items() if k != "runs"},
    "idle": asdict(idle.FULL),
    "joins": asdict(joins.FULL),
    "long_queue": asdict(long_queue.FULL),
    "soak": asdict(soak.FULL),
    "persist": asdict(persist.FULL),
    "nodes": {
        **{"relay_pairs": 50, "relay_rate": 500.0, "chat_consultations": 100, "chat_rate": 250.0},
        **{"duration": 10.0, "warmup": 1.0, "drain": 10.0, "customers": 500, "join_rate": 15.0},
    },
}
QUICK: dict[str, Any] = {
    "runs": 1,
    "relay": {
        **{"pairs": 5, "crowd": 10, "rate": 200.0},
        **{"duration": 2.0, "warmup": 0.5, "drain": 5.0},
    },
    "chat": {"consultations": 10, "rate": 100.0, "duration": 2.0, "warmup": 0.5, "drain": 5.0},
    "files": {"size_mib": 5.0, "transfers": 1},
    "board": {
        **{"boards": 2, "rate": 20.0, "duration": 2.0, "warmup": 0.5, "drain": 5.0},
        **{"elements": 100, "batch": 50, "syncs": 2},
    },
    "fanout": fanout.QUICK,
    "callsetup": {k: v for k, v in callsetup.QUICK.items() if k != "runs"},
    "idle": asdict(idle.QUICK),
    "joins": asdict(joins.QUICK),
    "long_queue": asdict(long_queue.QUICK),
    "soak": asdict(soak.QUICK),
    "persist": asdict(persist.QUICK),
    "nodes": {
        **{"relay_pairs": 5, "relay_rate": 200.0, "chat_consultations": 10, "chat_rate": 100.0},
        **{"duration": 2.0, "warmup": 0.5, "drain": 5.0, "customers": 50, "join_rate": 15.0},
    },
}
# command-line option -> (workload, config field)
OPTIONS = {
    "pairs": ("relay", "pairs"),
    "crowd": ("relay", "crowd"),
    "rate": ("relay", "rate"),
    "duration": ("relay", "duration"),
    "consultations": ("chat", "consultations"),
    "chat_rate": ("chat", "rate"),
    "chat_duration": ("chat", "duration"),
    "file_mib": ("files", "size_mib"),
    "transfers": ("files", "transfers"),
    "boards": ("board", "boards"),
    "board_rate": ("board", "rate"),
    "board_duration": ("board", "duration"),
    "elements": ("board", "elements"),
    "nodes_relay_pairs": ("nodes", "relay_pairs"),
    "nodes_relay_rate": ("nodes", "relay_rate"),
    "customers": ("nodes", "customers"),
    "join_rate": ("nodes", "join_rate"),
    "persist_rate": ("persist", "rate"),
}
WORKLOADS: dict[str, tuple[Callable[[Any, int], Awaitable[dict[str, Any]]], type]] = {
    "relay": (relay.workload, relay.RelayConfig),
    "chat": (chat.workload, chat.ChatConfig),
    "files": (files.workload, files.FilesConfig),
    "board": (board.workload, board.BoardConfig),
    "fanout": (fanout.workload, fanout.FanoutConfig),
    "callsetup": (callsetup.workload, callsetup.CallSetupConfig),
    "idle": (idle.workload, idle.IdleConfig),
    "joins": (joins.workload, joins.JoinsConfig),
    "long_queue": (long_queue.workload, long_queue.QueueConfig),
    "soak": (soak.workload, soak.SoakConfig),
    "persist": (persist.workload, persist.PersistConfig),
    "nodes": (nodes.workload, nodes.NodesConfig),
}
DEFAULT = (
    "relay",
    "chat",
    "files",
    "board",
    "fanout",
    "callsetup",
)  # `nodes` needs PostgreSQL and redis-server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run of each workload")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--workload", choices=sorted(WORKLOADS), action="append")
    parser.add_argument("--runs", type=int, help="run pairs (A B) per workload")
    parser.add_argument("--pairs", type=int, help="relay: advisor/customer pairs")
    parser.add_argument("--crowd", type=int, help="relay: idle clients connected besides")
    parser.add_argument("--rate", type=float, help="relay: offered messages per second, total")
    parser.add_argument("--duration", type=float, help="relay: measured seconds")
    parser.add_argument("--consultations", type=int, help="chat: consultations (customers)")
    parser.add_argument("--chat-rate", type=float, help="chat: offered messages per second")
    parser.add_argument("--chat-duration", type=float, help="chat: measured seconds")
    parser.add_argument("--file-mib", type=float, help="files: size of the file in MiB")
    parser.add_argument("--transfers", type=int, help="files: uploads and downloads per run")
    parser.add_argument("--boards", type=int, help="board: boards of 3 participants")
    parser.add_argument("--board-rate", type=float, help="board: offered updates per second")
    parser.add_argument("--board-duration", type=float, help="board: measured seconds")
    parser.add_argument("--elements", type=int, help="board: elements on the late-join board")
    parser.add_argument("--nodes-relay-pairs", type=int, help="nodes: pairs in the relay part")
    parser.add_argument(
        "--nodes-relay-rate", type=float, help="nodes: relay messages per second offered"
    )
    parser.add_argument("--customers", type=int, help="nodes: customers in the join burst")
    parser.add_argument("--join-rate", type=float, help="nodes: joins started per second")
    parser.add_argument(
        "--persist-rate", type=float, help="persist: messages per second offered to Parley"
    )
    args = parser.parse_args(argv)

    preset = QUICK if args.quick else FULL
    runs = int(args.runs if args.runs is not None else preset["runs"])
    configs = {name: dict(preset[name]) for name in WORKLOADS}
    for option, (name, key) in OPTIONS.items():
        if getattr(args, option) is not None:
            configs[name][key] = getattr(args, option)
    if runs < 1 or any(v <= 0 for cfg in configs.values() for v in cfg.values()):
        parser.error(
            "runs, pairs, consultations, rates, durations, sizes, transfers must be positive"
        )

    started = time.monotonic()
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_avg": os.getloadavg(),
        },
        "workloads": {},
    }
    for name in args.workload or DEFAULT:
        run_workload, config_type = WORKLOADS[name]
        layouts = {
            "nodes": "(one node, two nodes)",
            "callsetup": "(parley, bare, sio)",
            "board": "(parley, bare, pycrdt)",
            "persist": "(parley, SQLAlchemy Core) on SQLite, then on PostgreSQL",
        }.get(name, "(parley, bare)")
        print(f"workload {name}: {runs} x {layouts}", file=sys.stderr, flush=True)
        result = asyncio.run(run_workload(config_type(**configs[name]), runs))
        report["workloads"][name] = result
        print()
        show(result)
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    print(f"\n{report['elapsed_s']} s in all")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
