"""The servers under test, each in its own process: Parley (`parley serve`), several Parley
nodes serving as one (`Nodes`), and the bare baselines (`bench/bare_relay.py`,
`bench/bare_chat.py`, `bench/bare_files.py`). Started fresh for every run and always
stopped."""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import ctypes.util
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
BARE_RELAY = Path(__file__).resolve().parent / "bare_relay.py"
BARE_CHAT = Path(__file__).resolve().parent / "bare_chat.py"
BARE_FILES = Path(__file__).resolve().parent / "bare_files.py"
START_TIMEOUT = 30.0  # seconds until /healthz must answer
STOP_TIMEOUT = 5.0  # seconds between SIGTERM and SIGKILL
CLI_TIMEOUT = 60.0
PR_SET_PDEATHSIG = 1

TEAM = "bench"
ADVISOR = "bench-advisor"
PASSWORD = "bench password, not a secret"  # noqa: S105 (a throwaway account in a temp dir)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def parley_executable() -> str:
    beside = Path(sys.executable).with_name("parley")
    return str(beside if beside.exists() else ROOT / ".venv" / "bin" / "parley")


def cpu_seconds(pid: int) -> float:
    """CPU time of a process so far, all its threads, dead ones too; 0.0 where unavailable.
    Read from the process's CPU-time clock, which counts in nanoseconds: /proc's user and
    system times count in ticks of 10 ms, and a quick workload's bare server could spend
    less than one tick on a whole segment (and so "0 ms per join")."""
    try:  # clock_getcpuclockid(pid), which Python does not offer: Linux's encoding of it
        return time.clock_gettime(((~pid) << 3) | 2)
    except OSError:
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # after the ")" of the command name: state is field 3, utime 14 and stime 15 (1-based)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process in KiB (Linux /proc);
    an empty dict where unavailable."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    found = {}
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def reset_peak_rss(pid: int) -> bool:
    """Set a process's VmHWM back to its current VmRSS (Linux >= 4.0, our own child);
    False where that is not possible."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def _cli(steps: list[tuple[list[str], str | None]], env: dict[str, str] | None) -> None:
    for argv, stdin in steps:
        done = subprocess.run(  # noqa: S603 (our own CLI, fixed arguments)
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            env=_env(env),
            cwd=ROOT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[1:3])} failed: {done.stderr.strip()}")


def add_team(data_dir: Path, slug: str, env: dict[str, str] | None = None) -> None:
    """One more team (e.g. an empty instant queue) with Parley's own CLI; `env` adds
    PARLEY_* settings such as the database URL."""
    _cli(
        [
            (
                [
                    parley_executable(),
                    "team",
                    "add",
                    "--slug",
                    slug,
                    "--name",
                    slug,
                    "--data-dir",
                    str(data_dir),
                ],
                None,
            )
        ],
        env,
    )


def prepare_parley(data_dir: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """Create the team and the advisor account with Parley's own CLI; `env` adds PARLEY_*
    settings such as the database URL (default: SQLite in `data_dir`). On the default, the
    CLI runs once per benchmark process and `data_dir` gets a copy of what it made: its
    two calls (a process start each) were a third of every quick workload's time."""
    if env:
        _create_team_and_advisor(data_dir, env)
    else:
        shutil.copytree(_prepared_data_dir(), data_dir, dirs_exist_ok=True)
    return {"username": ADVISOR, "password": PASSWORD, "team": TEAM}


@functools.cache
def _prepared_data_dir() -> Path:
    """A data directory with the team and the advisor, made once; removed at exit."""
    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-prepared-"))
    atexit.register(shutil.rmtree, tmp, True)
    _create_team_and_advisor(tmp / "data", None)
    return tmp / "data"


def _create_team_and_advisor(data_dir: Path, env: dict[str, str] | None) -> None:
    exe = parley_executable()
    common = ["--data-dir", str(data_dir)]
    steps: list[tuple[list[str], str | None]] = [
        ([exe, "team", "add", "--slug", TEAM, "--name", "Bench", *common], None),
        (
            [
                exe,
                "advisor",
                "add",
                "--username",
                ADVISOR,
                "--team",
                TEAM,
                "--password-stdin",
                *common,
            ],
            PASSWORD + "\n",
        ),
    ]
    _cli(steps, env)


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT; safe to call twice."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        self._log.close()


@dataclass
class Nodes:
    """Parley nodes serving as one (one database, one Redis): a layout of the `nodes`
    workload. Advisors use the first node, customers the last (the same with one node)."""

    name: str
    nodes: list[Server]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    @property
    def customer_url(self) -> str:
        return self.nodes[-1].url

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(f"[node {i + 1}]\n{n.log_tail(lines)}" for i, n in enumerate(self.nodes))

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def members(server: Server | Nodes) -> list[Server]:
    return server.nodes if isinstance(server, Nodes) else [server]


def customer_url(server: Server | Nodes) -> str:
    """Where customers connect: the last node of a layout, else the one server."""
    return server.customer_url if isinstance(server, Nodes) else server.url


def server_cpu_seconds(server: Server | Nodes) -> float:
    """CPU time so far of the server process, or the sum over a layout's nodes."""
    return sum(cpu_seconds(s.pid) for s in members(server))


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the benchmark dies, even by SIGKILL (a timeout), so
    no server outlives it. Linux only; elsewhere `Server.stop` in a finally has to do."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _spawn(
    name: str, argv: list[str], log_path: Path, port: int, env: dict[str, str] | None = None
) -> Server:
    log = log_path.open("wb")
    try:
        proc = subprocess.Popen(  # noqa: S603 (fixed arguments)
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_env(env),
            cwd=ROOT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    except BaseException:
        log.close()
        raise
    return Server(name, f"http://127.0.0.1:{port}", proc, log_path, log)


def spawn_parley(data_dir: Path, log_path: Path, env: dict[str, str] | None = None) -> Server:
    """`parley serve` on a free port; `env` adds PARLEY_* settings (the caller's are dropped)."""
    port = free_port()
    argv = [parley_executable(), "serve", "--port", str(port), "--data-dir", str(data_dir)]
    # every benchmark client comes from loopback but stands for a different person
    env = {"PARLEY_CONNECTIONS_PER_ADDRESS": "100000", **(env or {})}
    return _spawn("parley", argv, log_path, port, env)


def spawn_bare(log_path: Path, script: Path = BARE_RELAY, *args: str) -> Server:
    port = free_port()
    argv = [sys.executable, str(script), "--port", str(port), *args]
    return _spawn("bare", argv, log_path, port)


def spawn_redis(log_path: Path) -> Server:
    """A private redis-server on a free port (not the machine's shared one), nothing saved
    to disk; its `url` is the redis:// URL."""
    port = free_port()
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = _spawn("redis", argv, log_path, port)
    server.url = f"redis://127.0.0.1:{port}/0"
    return server


async def wait_healthy(
    server: Server, limit: float = START_TIMEOUT, path: str = "/healthz"
) -> None:
    """Poll GET `path` (/healthz, or /readyz for a node that must hear Redis) until it
    answers 200, the process dies or the time is up."""
    deadline = time.monotonic() + limit
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise RuntimeError(
                    f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}"
                )
            try:
                async with http.get(
                    server.url + path, timeout=aiohttp.ClientTimeout(total=2)
                ) as resp:
                    if resp.status == 200:
                        return
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{server.name} did not answer {path} in {limit:.0f} s")
