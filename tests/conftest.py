"""Shared fixtures: a real Parley on an ephemeral port (SQLite or PostgreSQL), real clients,
an injectable clock, and a leak check on tasks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from server import admin
from server.access import runner as access_runner
from server.app import create_app
from server.config import Settings
from server.state import CORE
from storage.clock import utcnow
from storage.models import Role
from tests.clients import Http, Socket

SOAK_TEST = "tests/integration/test_soak.py::test_soak"


@dataclass
class SoakRun:
    """The soak program running in the background (tests/soak.py)."""

    proc: subprocess.Popen[bytes]
    result: Path
    log: Path


SOAK = pytest.StashKey[SoakRun]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The soak's test goes last: it waits for the soak, which runs meanwhile."""
    items.sort(key=lambda item: item.nodeid == SOAK_TEST)


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    if not any(item.nodeid == SOAK_TEST for item in session.items):
        return
    directory = Path(tempfile.mkdtemp(prefix="parley-soak-"))
    log, result = directory / "soak.log", directory / "result.json"
    with log.open("wb") as out:
        # niced: the soak is background load, and the tests with a browser or media to wait
        # for must not time out because of it (its node inherits the niceness)
        proc = subprocess.Popen(
            [
                *("nice", "-n", "5"),
                *(sys.executable, "-m", "tests.soak"),
                *("--dir", str(directory), "--json", str(result)),
            ],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    session.config.stash[SOAK] = SoakRun(proc, result, log)


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(SOAK, None)
    if run is not None and run.proc.poll() is None:
        run.proc.send_signal(signal.SIGTERM)  # the soak kills its node on the way out
        with contextlib.suppress(subprocess.TimeoutExpired):
            run.proc.wait(10)


@pytest.fixture
def soak_run(request: pytest.FixtureRequest) -> SoakRun:
    run = request.config.stash.get(SOAK, None)
    assert run is not None, "the soak starts only when its test is collected (conftest.py)"
    return run


PG_ADMIN_DSN = os.environ.get("PARLEY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "correct horse battery staple"


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/parley.db"
        return
    name = f"parley_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class RunningServer:
    url: str
    app: web.Application
    settings: Settings
    clock: FakeClock | None
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    _runner: web.AppRunner | None = None

    @property
    def origin(self) -> str:
        return self.url

    async def app_stop(self) -> None:
        """Stop the server now (clients first), e.g. to inspect its files at rest."""
        await self.close_clients()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def close_clients(self) -> None:
        for close in reversed(self._closers):
            with contextlib.suppress(Exception):  # a client the test closed already
                await asyncio.wait_for(close(), 5)
        self._closers.clear()

    def http(self) -> Http:
        client = Http(self.url)
        self._closers.append(client.close)
        return client

    async def socket(self, http: Http, origin: str | None = "same") -> Socket:
        sock = Socket()
        await sock.connect(self.url, http.cookie_header(), self.url if origin == "same" else origin)
        self._closers.append(sock.close)
        return sock


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change settings."""
    return {}


@pytest.fixture
def server_clock() -> FakeClock | None:
    """Override with the `clock` fixture to let a test move the server's time."""
    return None


@pytest.fixture
async def server(
    tmp_path: Path,
    database_url: str,
    settings_overrides: dict[str, Any],
    server_clock: FakeClock | None,
) -> AsyncIterator[RunningServer]:
    settings = Settings(
        **{
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "port": 0,
            "grace_seconds": 2.0,
            **settings_overrides,
        }
    )
    app = create_app(settings, clock=server_clock or utcnow)
    runner = access_runner(app, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    running = RunningServer(f"http://127.0.0.1:{port}", app, settings, server_clock)
    running._runner = runner
    before = {t for t in asyncio.all_tasks()}
    try:
        yield running
    finally:
        await running.app_stop()
    await asyncio.sleep(0.05)
    leaked = [
        t
        for t in asyncio.all_tasks() - before
        if not t.done()
        and t is not asyncio.current_task()
        # engineio's ping loop notices a closed socket only at its next interval
        and t.get_coro().__qualname__ != "AsyncSocket._send_ping"  # type: ignore[union-attr]
    ]
    assert not leaked, f"tasks leaked: {leaked}"


Seed = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def seed_advisor(server: RunningServer) -> Seed:
    """Create a team (if new) and an advisor in it; returns team_slug, username, password."""

    async def seed(
        team_slug: str | None = None, role: Role = Role.advisor, **kw: str
    ) -> dict[str, str]:
        db, clock = server.app[CORE].db, server.app[CORE].clock
        slug = team_slug or f"team-{uuid.uuid4().hex[:8]}"
        if team_slug is None or not await _team_exists(server, slug):
            await admin.add_team(db, clock, slug, kw.get("team_name", "Beratung Nord"))
        username = kw.get("username", f"adv-{uuid.uuid4().hex[:8]}")
        await admin.add_account(
            db,
            clock,
            username=username,
            display_name=kw.get("display_name", "Anna Advisor"),
            password=PASSWORD,
            role=role,
            team_slug=slug if role == Role.advisor else None,
        )
        return {"team_slug": slug, "username": username, "password": PASSWORD}

    return seed


async def _team_exists(server: RunningServer, slug: str) -> bool:
    from storage.repositories import TeamRepository

    async with server.app[CORE].db.session() as s:
        return await TeamRepository(s).by_slug(slug) is not None
