"""Workload "files": one file uploaded as a raw streamed body and downloaded back, checked
byte for byte (sha256), timed in each direction, while the server's resident memory is
watched.

Parley gets the upload through its authenticated, chunk-sealed endpoint
(`POST /api/consultations/{id}/files?name=bench.pdf` by the advisor, who is in the room of a
consultation with an admitted customer; `GET /api/files/{id}` back). The bare baseline
(bench/bare_files.py) has the same two routes and just streams to and from a file on disk.
The client code is the same for both; only the session cookies differ."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import statistics
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.ab import Column, Ratio, interleave, summarise, table
from bench.relay import Http, parley_login, parley_pair, teardown
from bench.servers import (
    BARE_FILES,
    Server,
    cpu_seconds,
    memory_kib,
    prepare_parley,
    reset_peak_rss,
    spawn_bare,
    spawn_parley,
)

MIB = 1024 * 1024
CHUNK = 256 * 1024  # what the client hands to aiohttp at a time, and reads back
PDF_HEAD = b"%PDF-1.4\n"  # Parley checks content and extension; the rest is random bytes
TRANSFER_TIMEOUT = 300.0  # seconds for one upload or one download
SAMPLE_INTERVAL = 0.005  # seconds between two reads of the server's VmRSS
RUN_SLACK = 120.0  # seconds a run may take beyond its transfers (start, setup)
DEFAULT_UPLOAD_MAX = 25 * MIB  # Parley's default PARLEY_UPLOAD_MAX_BYTES

COLUMNS: list[Column] = [
    ("up MiB/s", "up_mibs", "{:.1f}"),
    ("down MiB/s", "down_mibs", "{:.1f}"),
    ("up s", "up_s", "{:.2f}"),
    ("down s", "down_s", "{:.2f}"),
    ("srv ms/MiB up", "server_ms_per_mib_up", "{:.1f}"),
    ("srv ms/MiB down", "server_ms_per_mib_down", "{:.1f}"),
    ("RSS MiB", "rss_before_mib", "{:.1f}"),
    ("peak +MiB up", "up_peak_growth_mib", "{:.1f}"),
    ("peak +MiB down", "down_peak_growth_mib", "{:.1f}"),
    ("after +MiB", "after_growth_mib", "{:.1f}"),
    ("setup s", "setup_s", "{:.1f}"),
    ("load", "load_avg", "{:.1f}"),
    ("sha256 ok", "verified", "{}"),
]
RATIOS: list[Ratio] = [
    ("upload throughput", "up_mibs", False),
    ("download throughput", "down_mibs", False),
    ("server CPU per MiB, upload", "server_ms_per_mib_up", False),
    ("server CPU per MiB, download", "server_ms_per_mib_down", False),
    ("peak RSS growth, upload", "up_peak_growth_mib", False),
    ("peak RSS growth, download", "down_peak_growth_mib", False),
]


@dataclass(frozen=True)
class FilesConfig:
    size_mib: float
    transfers: int  # uploads and downloads per run; the run reports the median

    @property
    def size(self) -> int:
        return round(self.size_mib * MIB)


def make_file(size: int) -> bytes:
    return PDF_HEAD + os.urandom(max(size - len(PDF_HEAD), 0))


class PeakRss:
    """The server's peak resident set while a block runs: VmHWM, reset at the start where
    the kernel allows (/proc/<pid>/clear_refs), and VmRSS sampled from a thread every few ms
    as a cross-check and fallback. Bounded: the thread stops after `limit` seconds."""

    def __init__(self, pid: int, limit: float = TRANSFER_TIMEOUT) -> None:
        self.pid, self.limit = pid, limit
        self.peak_kib = 0
        self.hwm_reset = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        deadline = time.monotonic() + self.limit
        while not self._stop.is_set() and time.monotonic() < deadline:
            self.peak_kib = max(self.peak_kib, memory_kib(self.pid).get("VmRSS", 0))
            self._stop.wait(SAMPLE_INTERVAL)

    def __enter__(self) -> PeakRss:
        self.hwm_reset = reset_peak_rss(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(SAMPLE_INTERVAL * 10 + 1)
        now = memory_kib(self.pid)
        self.peak_kib = max(self.peak_kib, now.get("VmRSS", 0))
        if self.hwm_reset:
            self.peak_kib = max(self.peak_kib, now.get("VmHWM", 0))


# -- the client: the same for Parley and the bare server ------------------------------------


def write_headers(http: Http) -> dict[str, str]:
    """What a browser sends with a write: its Origin, and Parley's CSRF token if it has one."""
    headers = {"Origin": http.base}
    csrf = http.cookie("parley_csrf")
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return headers


async def upload(http: Http, consultation_id: str, data: bytes) -> str:
    """Stream `data` as the raw request body (Content-Length known, as with a browser's
    File); return the new file's id."""

    async def body() -> AsyncIterator[bytes]:
        view = memoryview(data)
        for start in range(0, len(data), CHUNK):
            yield bytes(view[start : start + CHUNK])

    headers = write_headers(http) | {
        "Content-Type": "application/pdf",
        "Content-Length": str(len(data)),
    }
    async with http.session.post(
        f"{http.base}/api/consultations/{consultation_id}/files",
        params={"name": "bench.pdf"},
        data=body(),
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=TRANSFER_TIMEOUT),
    ) as resp:
        answer = await resp.json(content_type=None)
        if resp.status != 201 or not answer.get("ok"):
            raise RuntimeError(f"POST files -> {resp.status} {answer}")
        return str(answer["data"]["file"]["id"])


async def download(http: Http, file_id: str) -> list[bytes]:
    """The file's bytes as they arrived (hashed afterwards, outside the timing)."""
    pieces: list[bytes] = []
    async with http.session.get(
        f"{http.base}/api/files/{file_id}",
        headers={"Origin": http.base},
        timeout=aiohttp.ClientTimeout(total=TRANSFER_TIMEOUT),
    ) as resp:
        if resp.status != 200:
            raise RuntimeError(f"GET file -> {resp.status} {(await resp.read())[:500]!r}")
        async for piece in resp.content.iter_chunked(CHUNK):
            pieces.append(piece)
    return pieces


# -- the run ---------------------------------------------------------------------------------


@dataclass
class FilesResult:
    server: str
    run: int
    size: int
    transfers: int  # uploads and downloads of the file in this run, one after the other
    verified: bool  # every download had the upload's sha256
    up_s: float  # the median transfer
    down_s: float
    up_mibs: float  # of the median transfer
    down_mibs: float
    server_ms_per_mib_up: float  # server CPU over all transfers of the run
    server_ms_per_mib_down: float
    rss_before_mib: float  # VmRSS right before the first upload
    up_peak_growth_mib: float  # peak VmRSS during any upload, above rss_before
    down_peak_growth_mib: float  # the same during any download
    after_growth_mib: float  # VmRSS after the last transfer, above rss_before: what stayed
    hwm_reset: bool  # VmHWM could be reset: the peaks are the kernel's, not only sampled
    setup_s: float
    load_avg: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sha256_of(pieces: list[bytes]) -> str:
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    return digest.hexdigest()


async def run_files(
    server: Server,
    account: dict[str, str] | None,
    cfg: FilesConfig,
    data: bytes,
    digest: str,
    run: int,
) -> FilesResult:
    """One run against a started server: (Parley: log in, open an invite consultation with
    an admitted customer, both in the room), then `cfg.transfers` times: upload, download,
    compare."""
    load_avg = os.getloadavg()[0]
    started = time.perf_counter()
    peers = []
    http = await parley_login(server.url, account) if account is not None else Http(server.url)
    up_s, down_s, cpu_up, cpu_down = [], [], 0.0, 0.0
    up_peak = down_peak = 0
    verified, hwm_reset = True, True
    try:
        if account is not None:
            pair = await parley_pair(server.url, http, run)
            peers = list(pair)
            consultation_id = pair[0].consultation_id
        else:
            consultation_id = f"bench{run}"
        setup_s = time.perf_counter() - started

        before = memory_kib(server.pid).get("VmRSS", 0)
        for _ in range(cfg.transfers):
            cpu0, t0 = cpu_seconds(server.pid), time.perf_counter()
            with PeakRss(server.pid) as peak:
                file_id = await upload(http, consultation_id, data)
            cpu1, t1 = cpu_seconds(server.pid), time.perf_counter()
            up_peak, hwm_reset = max(up_peak, peak.peak_kib), hwm_reset and peak.hwm_reset
            with PeakRss(server.pid) as peak:
                pieces = await download(http, file_id)
            cpu2, t2 = cpu_seconds(server.pid), time.perf_counter()
            down_peak, hwm_reset = max(down_peak, peak.peak_kib), hwm_reset and peak.hwm_reset
            up_s.append(t1 - t0)
            down_s.append(t2 - t1)
            cpu_up, cpu_down = cpu_up + cpu1 - cpu0, cpu_down + cpu2 - cpu1
            got = await asyncio.to_thread(sha256_of, pieces)
            verified = verified and got == digest and sum(map(len, pieces)) == len(data)
            del pieces
        after = memory_kib(server.pid).get("VmRSS", 0)
    finally:
        await http.close()
        await teardown(peers)

    size_mib = len(data) / MIB
    all_mib = size_mib * cfg.transfers
    return FilesResult(
        server=server.name,
        run=run,
        size=len(data),
        transfers=cfg.transfers,
        verified=verified,
        up_s=statistics.median(up_s),
        down_s=statistics.median(down_s),
        up_mibs=size_mib / statistics.median(up_s),
        down_mibs=size_mib / statistics.median(down_s),
        server_ms_per_mib_up=cpu_up * 1000 / all_mib,
        server_ms_per_mib_down=cpu_down * 1000 / all_mib,
        rss_before_mib=before / 1024,
        up_peak_growth_mib=max(up_peak - before, 0) / 1024,
        down_peak_growth_mib=max(down_peak - before, 0) / 1024,
        after_growth_mib=(after - before) / 1024,
        hwm_reset=hwm_reset,
        setup_s=setup_s,
        load_avg=load_avg,
    )


# -- the workload: interleaved runs and their report ---------------------------------------


def warnings_of(results: list[FilesResult]) -> list[str]:
    notes = []
    for r in results:
        tag = f"{r.server} run {r.run + 1}"
        if not r.verified:
            notes.append(f"{tag}: the downloaded bytes differ from the uploaded ones")
        if not r.hwm_reset:
            notes.append(f"{tag}: VmHWM could not be reset; peaks are sampled every 5 ms only")
    return notes


async def workload(cfg: FilesConfig, runs: int) -> dict[str, Any]:
    data = await asyncio.to_thread(make_file, cfg.size)
    digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
    # Parley's default limit is 25 MiB; the benchmark raises it for bigger files
    limit = {"PARLEY_UPLOAD_MAX_BYTES": str(max(DEFAULT_UPLOAD_MAX, 2 * cfg.size))}
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp_name:
        tmp = Path(tmp_name)
        account = await asyncio.to_thread(prepare_parley, tmp / "parley-data")

        def spawn(name: str, run: int) -> Server:
            log = tmp / f"files-{name}-{run}.log"
            if name == "parley":
                return spawn_parley(tmp / "parley-data", log, limit)
            store = tmp / f"bare-files-{run}"
            store.mkdir()
            return spawn_bare(log, BARE_FILES, "--dir", str(store))

        async def drive(server: Server, run: int) -> FilesResult:
            parley = server.name == "parley"
            result = await run_files(server, account if parley else None, cfg, data, digest, run)
            if not parley:  # keep the temp dir small: drop bare's copy
                with contextlib.suppress(OSError):
                    for blob in (tmp / f"bare-files-{run}").iterdir():
                        blob.unlink()
            return result

        results = await interleave(
            runs,
            spawn,
            drive,
            2 * TRANSFER_TIMEOUT * cfg.transfers + RUN_SLACK,
            lambda r: (
                f"up {r.up_mibs:.1f} MiB/s, down {r.down_mibs:.1f} MiB/s, "
                f"peak RSS +{max(r.up_peak_growth_mib, r.down_peak_growth_mib):.1f} MiB, "
                f"sha256 {'ok' if r.verified else 'MISMATCH'}"
            ),
        )
    summary = summarise(results, runs, RATIOS)
    header = (
        f"files: one {cfg.size_mib:g} MiB file ({cfg.size} bytes) up and down, "
        f"{cfg.transfers}x per run (the median shown), client chunks of {CHUNK // 1024} KiB"
    )
    return {
        "config": {**asdict(cfg), "runs": runs, "size": cfg.size},
        "runs": [r.as_dict() for r in results],
        "ratio": summary,
        "warnings": warnings_of(results),
        "table": table(header, results, COLUMNS, summary),
    }
