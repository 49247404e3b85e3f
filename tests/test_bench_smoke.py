"""The benchmark still runs: `python -m bench --quick` against real Parley and the bare
baseline. Asserts that messages went through both and a ratio came out, never any timing
(the machines are shared; figures are in docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.e2e
@pytest.mark.timeout(200)
def test_quick_benchmark_relays_through_parley_and_baseline(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    relay = json.loads(out.read_text())["workloads"]["relay"]
    runs = relay["runs"]
    for server in ("parley", "bare"):
        mine = [r for r in runs if r["server"] == server]
        assert mine, f"no {server} run"
        assert all(r["delivered_measured"] > 0 for r in mine), mine
    for key in ("throughput", "p99_ms"):
        assert relay["ratio"][key]["median"] is not None, relay["ratio"]
        assert relay["ratio"][key]["median"] > 0, relay["ratio"]
