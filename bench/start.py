"""A diagnostic, not a workload: how long `parley serve` takes to be ready. The first start
makes a fresh data directory (keys, database, schema); then `--starts` restarts on it, as
a node comes back after a crash or a deploy, and as the SIGKILL tests restart theirs some
150 times a suite run. Each start is timed from the spawn until GET /readyz answers 200
(polled every 10 ms), with the CPU the process had spent by then; then it is killed, as the
SIGKILL tests do. Reports the median restart and the first start.

Run: python -m bench.start [--starts N] [--json PATH]"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.servers import Server, cpu_seconds, spawn_parley

POLL_SECONDS = 0.01
START_LIMIT = 60.0


def start_once(data_dir: Path, log_path: Path) -> tuple[float, float]:
    """Spawn, wait for /readyz, SIGKILL: (seconds to ready, CPU seconds of the node by then)."""
    began = time.perf_counter()
    server = spawn_parley(data_dir, log_path)
    try:
        ready = wait_ready(server) - began
        cpu = cpu_seconds(server.pid)
    finally:
        server.proc.kill()
        server.proc.wait()
        server.stop()  # closes its log
    return ready, cpu


def wait_ready(server: Server) -> float:
    """When /readyz first answered 200, polled more often than `wait_healthy` does."""
    deadline = time.perf_counter() + START_LIMIT
    while time.perf_counter() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"parley serve exited:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/readyz", timeout=1) as r:  # noqa: S310
                if r.status == 200:
                    return time.perf_counter()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"parley serve not ready in {START_LIMIT:.0f} s")


def measure(starts: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="parley-start-") as tmp:
        data_dir, log_path = Path(tmp) / "data", Path(tmp) / "serve.log"
        first_s, first_cpu = start_once(data_dir, log_path)
        restarts = [start_once(data_dir, log_path) for _ in range(starts)]
    return {
        "starts": starts,
        "first_s": first_s,
        "first_cpu_s": first_cpu,
        "restart_s": [s for s, _ in restarts],
        "restart_cpu_s": [c for _, c in restarts],
        "restart_median_s": statistics.median(s for s, _ in restarts),
        "restart_cpu_median_s": statistics.median(c for _, c in restarts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.starts < 1:
        parser.error("--starts: at least 1")
    result = measure(args.starts)
    print(
        f"start: restart median {result['restart_median_s']:.3f} s to ready "
        f"({result['restart_cpu_median_s']:.3f} s CPU) over {args.starts}; "
        f"first start {result['first_s']:.3f} s ({result['first_cpu_s']:.3f} s CPU)"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
