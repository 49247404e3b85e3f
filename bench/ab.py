"""What every workload shares: runs interleaved Parley, bare, Parley, bare, ... (a fresh
server process for each), and the report: one row per run, and for each compared figure
the median of the per-pair ratios Parley/bare with their spread (min-max). The `nodes`
workload compares two layouts of Parley instead ("one", "two": one node, two nodes)."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bench.servers import Nodes, Server, members, wait_healthy

SERVERS = ("parley", "bare")


class Result(Protocol):
    server: str
    run: int


R = TypeVar("R", bound=Result)
S = TypeVar("S", bound="Server | Nodes | None")  # None: an in-process baseline

# (label, key, format) of a per-run table column
Column = tuple[str, str, str]
# (label, key, only over run pairs in which both servers kept up with the offered rate)
Ratio = tuple[str, str, bool]


async def interleave(
    runs: int,
    spawn: Callable[[str, int], S],
    drive: Callable[[S, int], Awaitable[R]],
    limit: float,
    progress: Callable[[R], str],
    servers: Sequence[str] = SERVERS,
) -> list[R]:
    """`runs` run pairs, `servers[0]` (Parley) first in each; `spawn(name, run)` starts a
    server or a layout of nodes (or returns None for a baseline that runs in this process,
    with no server), `drive` measures it. Each run is bounded by `limit` seconds and its
    server always stopped."""
    results: list[R] = []
    for run in range(runs):
        for name in servers:
            server = spawn(name, run)
            try:
                async with asyncio.timeout(limit):
                    if isinstance(server, Nodes):  # nodes must hear Redis: /readyz
                        await asyncio.gather(
                            *(wait_healthy(n, path="/readyz") for n in members(server))
                        )
                    elif server is not None:
                        await wait_healthy(server)
                    result = await drive(server, run)
            except BaseException:
                tail = server.log_tail() if server is not None else "(in process, no server)"
                print(f"\n{name} run {run + 1} failed; server log tail:\n{tail}", file=sys.stderr)
                raise
            finally:
                if server is not None:
                    server.stop()
            results.append(result)
            print(
                f"  {name:<6} run {run + 1}/{runs}: {progress(result)}", file=sys.stderr, flush=True
            )
    return results


def summarise(
    results: Sequence[Result], runs: int, ratios: list[Ratio], pair: tuple[str, str] = SERVERS
) -> dict[str, Any]:
    """Per figure the ratios `pair[0]`/`pair[1]` (Parley/bare) of each run pair."""
    top, bottom = pair
    by = {(r.server, r.run): r for r in results}
    both_kept_up = [
        getattr(by[(top, n)], "kept_up", True) and getattr(by[(bottom, n)], "kept_up", True)
        for n in range(runs)
    ]
    summary: dict[str, Any] = {}
    for label, key, only_kept_up in ratios:
        per_run: list[float | None] = []
        for run in range(runs):
            mine, base = getattr(by[(top, run)], key), getattr(by[(bottom, run)], key)
            usable = base and (both_kept_up[run] or not only_kept_up)
            per_run.append(mine / base if usable else None)
        finite = [r for r in per_run if r is not None]
        summary[key + ("_kept_up" if only_kept_up else "")] = {
            "label": label,
            "n": len(finite),
            "per_run": per_run,
            "median": statistics.median(finite) if finite else None,
            "min": min(finite) if finite else None,
            "max": max(finite) if finite else None,
        }
    return summary


def cell(value: Any, fmt: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return fmt.format(value)


def ratio_lines(summary: dict[str, Any], ratio_name: str = "Parley/bare") -> list[str]:
    """A summary's ratios, one line each (median and spread)."""
    out = [f"{ratio_name}, median [min-max] over n interleaved run pairs:"]
    width = max(len(item["label"]) for item in summary.values())
    for item in summary.values():
        if item["median"] is None:
            out.append(f"  {item['label']:<{width}} n/a")
        else:
            out.append(
                f"  {item['label']:<{width}} {item['median']:.2f}  "
                f"[{item['min']:.2f}-{item['max']:.2f}]"
            )
    return out


def table(
    header: str,
    results: Sequence[Result],
    columns: list[Column],
    summary: dict[str, Any],
    ratio_name: str = "Parley/bare",
) -> str:
    head = ["run", "server", *(label for label, _, _ in columns)]
    rows = [
        [str(r.run + 1), r.server, *(cell(getattr(r, key), fmt) for _, key, fmt in columns)]
        for r in results
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    line = "  ".join
    out = [header, line(h.rjust(w) for h, w in zip(head, widths, strict=True))]
    out += [line(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    out.append("")
    out += ratio_lines(summary, ratio_name)
    return "\n".join(out)


def show(result: dict[str, Any], json_path: Path | None = None) -> None:
    """A workload's command-line ending: its table and notes, and the whole result as JSON
    when a path is given."""
    print(result["table"])
    for note in result["warnings"]:
        print(f"  note: {note}")
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=2) + "\n")
