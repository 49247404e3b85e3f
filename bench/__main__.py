"""python -m bench [--quick] [--json PATH]: Parley against a bare python-socketio relay,
interleaved A B A B ..., reported as ratios Parley/bare (see docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.relay import RelayConfig, RelayResult, run_relay
from bench.servers import Server, prepare_parley, spawn_bare, spawn_parley, wait_healthy

FULL = {"pairs": 50, "rate": 2000.0, "duration": 10.0, "warmup": 1.0, "drain": 10.0, "runs": 5}
QUICK = {"pairs": 5, "rate": 200.0, "duration": 2.0, "warmup": 0.5, "drain": 5.0, "runs": 1}
RUN_SLACK = 120.0  # seconds a run may take beyond its sending and draining (setup, start)

# (label, key, format) of the per-run table; ratios are taken of the keys in RATIOS
COLUMNS = [
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
    ("load", "load_avg", "{:.1f}"),
    ("kept up", "kept_up", "{}"),  # a bool, shown as yes/no
]
# (label, key, only over run pairs in which both servers kept up with the offered rate)
RATIOS = [
    ("throughput", "throughput", False),
    ("p50 latency", "p50_ms", False),
    ("p99 latency", "p99_ms", False),
    ("p99 latency, both kept up", "p99_ms", True),
    ("server CPU per message", "server_us_per_msg", False),
]


async def one_run(
    name: str, cfg: RelayConfig, run: int, tmp: Path, account: dict[str, str]
) -> RelayResult:
    log = tmp / f"{name}-{run}.log"
    server: Server = spawn_parley(tmp / "parley-data", log) if name == "parley" else spawn_bare(log)
    try:
        async with asyncio.timeout(cfg.warmup + cfg.duration + cfg.drain + RUN_SLACK):
            await wait_healthy(server)
            return await run_relay(server, account if name == "parley" else None, cfg, run)
    except BaseException:
        print(f"\n{name} run {run} failed; server log tail:\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        server.stop()


def summarise(results: list[RelayResult], runs: int) -> dict[str, Any]:
    by = {(r.server, r.run): r for r in results}
    summary: dict[str, Any] = {}
    both_kept_up = [by[("parley", n)].kept_up and by[("bare", n)].kept_up for n in range(runs)]
    for label, key, only_kept_up in RATIOS:
        ratios: list[float | None] = []
        for run in range(runs):
            mine, base = getattr(by[("parley", run)], key), getattr(by[("bare", run)], key)
            usable = base and (both_kept_up[run] or not only_kept_up)
            ratios.append(mine / base if usable else None)
        finite = [r for r in ratios if r is not None]
        summary[key + ("_kept_up" if only_kept_up else "")] = {
            "label": label,
            "n": len(finite),
            "per_run": ratios,
            "median": statistics.median(finite) if finite else None,
            "min": min(finite) if finite else None,
            "max": max(finite) if finite else None,
        }
    return summary


def cell(value: Any, fmt: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return fmt.format(value)


def table(results: list[RelayResult], summary: dict[str, Any], cfg: RelayConfig) -> str:
    head = ["run", "server", *(label for label, _, _ in COLUMNS)]
    rows = [
        [str(r.run + 1), r.server, *(cell(getattr(r, key), fmt) for _, key, fmt in COLUMNS)]
        for r in results
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    line = "  ".join
    out = [
        f"relay: {cfg.pairs} pairs ({2 * cfg.pairs} senders), {cfg.rate:.0f} msg/s offered, "
        f"{cfg.duration:g} s measured after {cfg.warmup:g} s warm-up, "
        f"{cfg.per_sender} messages per sender",
        line(h.rjust(w) for h, w in zip(head, widths, strict=True)),
    ]
    out += [line(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    out.append("")
    out.append("Parley/bare, median [min-max] over n interleaved run pairs:")
    for item in summary.values():
        if item["median"] is None:
            out.append(f"  {item['label']:<24} n/a")
        else:
            out.append(
                f"  {item['label']:<24} {item['median']:.2f}  [{item['min']:.2f}-{item['max']:.2f}]"
            )
    return "\n".join(out)


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


async def relay_workload(cfg: RelayConfig, runs: int) -> dict[str, Any]:
    results: list[RelayResult] = []
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp_name:
        tmp = Path(tmp_name)
        account = await asyncio.to_thread(prepare_parley, tmp / "parley-data")
        for run in range(runs):
            for name in ("parley", "bare"):
                result = await one_run(name, cfg, run, tmp, account)
                results.append(result)
                print(
                    f"  {name:<6} run {run + 1}/{runs}: {result.throughput:.0f} msg/s, "
                    f"p99 {result.p99_ms:.1f} ms, lost {result.lost}",
                    file=sys.stderr,
                    flush=True,
                )
    summary = summarise(results, runs)
    return {
        "config": {**vars(cfg), "runs": runs, "per_sender": cfg.per_sender},
        "runs": [r.as_dict() for r in results],
        "ratio": summary,
        "warnings": warnings_of(results),
        "table": table(results, summary, cfg),
    }


WORKLOADS = {"relay": relay_workload}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run of each workload")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--workload", choices=sorted(WORKLOADS), action="append")
    parser.add_argument("--runs", type=int, help="run pairs (A B) per workload")
    parser.add_argument("--pairs", type=int, help="relay: advisor/customer pairs")
    parser.add_argument("--rate", type=float, help="relay: offered messages per second, total")
    parser.add_argument("--duration", type=float, help="relay: measured seconds")
    args = parser.parse_args(argv)

    base = dict(QUICK if args.quick else FULL)
    for key in ("runs", "pairs", "rate", "duration"):
        if getattr(args, key) is not None:
            base[key] = getattr(args, key)
    if base["runs"] < 1 or base["pairs"] < 1 or base["rate"] <= 0 or base["duration"] <= 0:
        parser.error("runs, pairs, rate and duration must be positive")
    runs = int(base.pop("runs"))
    cfg = RelayConfig(**base)

    started = time.monotonic()
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "workloads": {},
    }
    for name in args.workload or sorted(WORKLOADS):
        print(f"workload {name}: {runs} x (parley, bare)", file=sys.stderr, flush=True)
        result = asyncio.run(WORKLOADS[name](cfg, runs))
        report["workloads"][name] = result
        print()
        print(result["table"])
        for note in result["warnings"]:
            print(f"  note: {note}")
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    print(f"\n{report['elapsed_s']} s in all")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
