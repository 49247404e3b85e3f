"""The benchmark still runs: `python -m bench --quick` against real Parley and the bare
baselines, every default workload (relay, chat, files, board, fanout, callsetup), and
`--workload nodes` (two Parley nodes on PostgreSQL and Redis against one) with `--workload
persist` (Parley's chat against SQLAlchemy Core inserts, SQLite and PostgreSQL), and
`--workload soak` (the relay with healthz probes and RSS samples), `--workload
long_queue` (customers joining a queue nobody picks up from), and `--workload joins`
with `--workload idle` (the join storm; idle connections' memory). Asserts that
traffic went through both servers of each (`board` also through pycrdt alone in the
benchmark's own process; for `nodes`, both layouts; `callsetup` also through a bare
relay) and that ratios came out, never any timing (the machines are shared; figures are
in docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import board_txn

ROOT = Path(__file__).resolve().parents[1]
SERVERS = ("parley", "bare")


def runs_of(workload: dict[str, Any], server: str) -> list[dict[str, Any]]:
    mine = [r for r in workload["runs"] if r["server"] == server]
    assert mine, f"no {server} run"
    return mine


def assert_ratios(workload: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        assert workload["ratio"][key]["median"] is not None, workload["ratio"]
        assert workload["ratio"][key]["median"] > 0, workload["ratio"]


def run_json(module: str, out: Path, *args: str) -> dict[str, Any]:
    """`python -m module --json out args...`; the JSON it wrote."""
    done = subprocess.run(
        [sys.executable, "-m", module, "--json", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return dict(json.loads(out.read_text()))


def run_quick(tmp_path: Path, *args: str) -> dict[str, Any]:
    return dict(run_json("bench", tmp_path / "bench.json", "--quick", *args)["workloads"])


@pytest.mark.e2e
@pytest.mark.timeout(330)
def test_quick_benchmark_runs_every_workload_through_parley_and_baseline(
    tmp_path: Path,
) -> None:
    workloads = run_quick(tmp_path)
    assert set(workloads) == {"relay", "chat", "files", "board", "fanout", "callsetup"}

    calls = workloads["callsetup"]
    for server in ("parley", "bare", "sio"):
        for r in runs_of(calls, server):
            assert r["calls"] > 0 and r["failed"] == 0 and r["errors"] == [], r
            assert r["ready_p50_ms"] > 0 and r["messages_per_call"] > 0, r
    assert_ratios(calls, ("ready_p50_ms", "frame_p50_ms"))

    fanout = workloads["fanout"]
    for server in SERVERS:
        for r in runs_of(fanout, server):
            assert r["delivered_measured"] > 0 and r["deliveries_per_s"] > 0, r
            assert r["misrouted"] == 0 and r["unexpected"] == 0 and r["send_failed"] == 0, r
    assert {r["size"] for r in fanout["runs"]} == {10, 50}
    for size in ("rooms_of_10", "rooms_of_50"):
        assert fanout["ratio"][size]["deliveries_per_s"]["median"] > 0, fanout["ratio"]

    relay = workloads["relay"]
    for server in SERVERS:
        for r in runs_of(relay, server):
            assert r["delivered_measured"] > 0, r
            # the idle clients (S1's crowd) were connected from start to end
            assert r["crowd"] == relay["config"]["crowd"] > 0, r
    assert_ratios(relay, ("throughput", "p99_ms"))

    chat = workloads["chat"]
    for server in SERVERS:
        for r in runs_of(chat, server):
            assert r["completed_measured"] > 0, r
            assert r["acks"].get("ok", 0) > 0, r
            assert r["unexpected"] == 0 and r["misrouted"] == 0, r
            assert r["throughput"] > 0 and r["delivery_p99_ms"] > 0 and r["ack_p99_ms"] > 0, r
    assert_ratios(chat, ("throughput", "ack_p99_ms", "delivery_p99_ms"))

    files = workloads["files"]
    for server in SERVERS:
        for r in runs_of(files, server):
            assert r["verified"], r
            assert r["up_mibs"] > 0 and r["down_mibs"] > 0, r
            assert r["rss_before_mib"] > 0, r
    assert_ratios(files, ("up_mibs", "down_mibs"))

    board = workloads["board"]
    elements = board["config"]["elements"]
    for server in (*SERVERS, "pycrdt"):
        for r in runs_of(board, server):
            assert r["delivered_measured"] > 0 and r["lost"] == 0, r
            assert r["acks"].get("ok", 0) == r["sent"], r
            assert r["misrouted"] == 0 and r["unexpected"] == 0, r
            assert r["p50_ms"] > 0 and r["p99_ms"] > 0 and r["deliveries_per_s"] > 0, r
            assert r["join_elements"] == elements and r["join_mb"] > 0, r
            assert len(r["join_times_ms"]) == board["config"]["syncs"], r
    assert_ratios(board, ("deliveries_per_s", "p50_ms", "p99_ms", "join_ms"))
    assert_ratios({"ratio": board["diagnostic_ratio"]["parley/pycrdt"]}, ("cpu_us_per_update",))


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.timeout(330)
def test_quick_database_benchmarks_run_nodes_and_persistence(tmp_path: Path) -> None:
    """The named workloads on PostgreSQL: `nodes` and `persist` (SQLite, then PostgreSQL)."""
    workloads = run_quick(tmp_path, "--workload", "nodes", "--workload", "persist")
    assert set(workloads) == {"nodes", "persist"}

    persist = workloads["persist"]
    for database in ("sqlite", "postgres"):
        part = persist[database]
        for server in SERVERS:
            for r in runs_of(part, server):
                assert r["database"] == database and r["messages"] > 0, r
                assert r["throughput"] > 0 and r["cpu_us_per_msg"] > 0 and r["lost"] == 0, r
        for r in runs_of(part, "parley"):
            assert r["chat"]["acks"] == {"ok": r["chat"]["sent"]}, r
            assert r["ack_p99_ms"] > 0, r
        assert_ratios(part, ("throughput", "cpu_us_per_msg"))

    nodes = workloads["nodes"]
    layouts = ("one", "two")

    relay = nodes["relay"]
    for layout in (*layouts, "bare"):  # "bare": two python-socketio relays on Redis (S11)
        for r in runs_of(relay, layout):
            assert r["delivered_measured"] > 0 and r["lost"] == 0, r
            assert r["acks"] == {"ok": r["sent"]}, r
            assert r["misrouted"] == 0 and r["unexpected"] == 0, r
    assert_ratios(relay, ("throughput", "p50_ms", "p99_ms", "server_us_per_msg"))
    assert_ratios({"ratio": relay["ratio_bare"]}, ("throughput", "p99_ms", "server_us_per_msg"))

    chat = nodes["chat"]
    for layout in layouts:
        for r in runs_of(chat, layout):
            assert r["completed_measured"] > 0 and r["lost"] == 0 and r["unacked"] == 0, r
            assert r["acks"] == {"ok": r["sent"]}, r
            assert r["misrouted"] == 0 and r["unexpected"] == 0, r
    assert_ratios(chat, ("throughput", "delivery_p50_ms", "delivery_p99_ms", "server_us_per_msg"))

    join = nodes["join"]
    for layout in layouts:
        for r in runs_of(join, layout):
            assert r["joined"] == r["customers"] == nodes["config"]["customers"], r
            assert r["failed"] == 0 and r["p99_ms"] > 0 and r["throughput"] > 0, r
    assert_ratios(join, ("throughput", "p50_ms", "p99_ms", "server_ms_per_join"))


def test_quick_soak_probes_the_server_and_samples_its_memory(tmp_path: Path) -> None:
    """`--workload soak` (S12) in a few seconds: the relay among its crowd, with healthz
    probes and RSS samples inside the measured time, for Parley and the bare relay."""
    soak = run_quick(tmp_path, "--workload", "soak")["soak"]
    for server in SERVERS:
        for r in runs_of(soak, server):
            assert r["probes"] > 0 and r["probe_p99_ms"] > 0, r
            assert r["rss_early_mib"] > 0 and r["rss_end_mib"] > 0 and r["rss_growth"] > 0, r
            assert r["lost"] == 0 and r["crowd"] == soak["config"]["crowd"] > 0, r
            assert r["relay"]["acks"] == {"ok": r["relay"]["sent"]}, r
    assert_ratios(soak, ("probe_p99_ms", "rss_growth", "server_us_per_msg"))


@pytest.mark.e2e
@pytest.mark.timeout(330)
def test_quick_long_queue_joins_everyone_into_both_servers(tmp_path: Path) -> None:
    """`--workload long_queue` in a few seconds: every customer joined through Parley and
    the bare join server, and the CPU per join came out at both ends of the queue."""
    queue = run_quick(tmp_path, "--workload", "long_queue")["long_queue"]
    for server in SERVERS:
        for r in runs_of(queue, server):
            assert r["joined"] == queue["config"]["customers"] > 0 and r["failed"] == 0, r
            assert r["short_ms"] > 0 and r["long_ms"] > 0, r
    assert_ratios(queue, ("short_ms", "long_ms"))


@pytest.mark.e2e
def test_quick_joins_and_idle_connections_run_through_both_servers(tmp_path: Path) -> None:
    """`--workload joins` (S5's join storm: every customer joined, waited and was picked
    up) and `--workload idle` (S4: every connection made and held while the RSS was
    read), each through Parley and its bare server, in about 25 s."""
    workloads = run_quick(tmp_path, "--workload", "joins", "--workload", "idle")
    assert set(workloads) == {"joins", "idle"}
    joins = workloads["joins"]
    for server in SERVERS:
        for r in runs_of(joins, server):
            assert r["joined"] == joins["config"]["customers"] > 0 and r["failed"] == 0, r
            assert r["server_ms_per_join"] > 0, r
    assert_ratios(joins, ("throughput", "server_ms_per_join"))
    idle = workloads["idle"]
    for server in SERVERS:
        for r in runs_of(idle, server):
            assert r["connected"] == idle["config"]["connections"] > 0, r
            assert r["failed"] == 0 and r["dropped"] == 0, r
            assert r["rss_held_mib"] > r["rss_before_mib"], r
    assert_ratios(idle, ("kib_per_conn", "server_ms_per_conn"))


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_board_txn_stores_updates_and_reports_their_cost(tmp_path: Path, database: str) -> None:
    """`python -m bench.board_txn` (the storage cost of one whiteboard update, S10's
    diagnostic) stores its updates on both databases and reports figures."""
    args = ["--updates", "30"] + (["--postgres"] if database == "postgres" else [])
    result = run_json("bench.board_txn", tmp_path / "board_txn.json", *args)
    assert result["database"] == database and result["updates"] == 30, result
    assert result["last_number"] == board_txn.WARMUP + 30, result  # each one stored
    assert result["cpu_us_per_update"] > 0 and result["wall_us_per_update"] > 0, result


def test_start_times_a_first_start_and_restarts(tmp_path: Path) -> None:
    """`python -m bench.start` (how long `parley serve` takes to be ready) starts a node on a
    fresh data directory, restarts it and reports figures."""
    result = run_json("bench.start", tmp_path / "start.json", "--starts", "1")
    assert result["starts"] == 1 and len(result["restart_s"]) == 1, result
    assert result["first_s"] > 0 and result["restart_median_s"] > 0, result
    assert result["first_cpu_s"] > 0 and result["restart_cpu_median_s"] > 0, result


@pytest.mark.e2e
@pytest.mark.postgres
def test_bystander_runs_both_layouts(tmp_path: Path) -> None:
    """`python -m bench.bystander` (what a consultation's traffic costs a node that serves
    none of it) runs its three nodes in both fan-out layouts and reports figures."""
    result = run_json(
        "bench.bystander",
        tmp_path / "bystander.json",
        *("--runs", "1", "--pairs", "4", "--rate", "100", "--duration", "1"),
        *("--warmup", "0.5", "--drain", "1"),
    )
    assert [r["layout"] for r in result["runs"]] == ["room", "cluster"], result
    for run in result["runs"]:
        assert run["throughput msg/s"] > 0 and run["bystander µs per message"] > 0, run
    assert set(result["ratio room/cluster"]) >= {"bystander µs per message"}, result
