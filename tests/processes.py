"""Parley as real `parley serve` processes, for what an in-process server cannot show: a
node killed with SIGKILL at a random moment, a node that drains on SIGTERM, several nodes
sharing one database (and Redis). Every wait is bounded; a node that does not come up says
why with the tail of its own log."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import socket
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from server import admin
from server.config import Settings
from storage.clock import utcnow
from storage.crypto import new_key
from storage.db import Database
from storage.models import Role
from tests.clients import Http, Socket
from tests.conftest import PASSWORD

PARLEY = Path(sys.executable).parent / "parley"
START_SECONDS = 30.0
STOP_SECONDS = 10.0


def free_port() -> int:
    """A port nobody listens on right now (the kernel's pick for port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shared_keks() -> str:
    """One key-encryption key for every node of a test (`PARLEY_KEKS`), as an operator
    configures several nodes."""
    return f"k1:{base64.urlsafe_b64encode(new_key()).decode().rstrip('=')}"


@dataclass
class Node:
    """One `parley serve` process. `env` holds PARLEY_* settings on top of the data
    directory, database and port; nodes of one test share the database URL (and KEKs)."""

    data_dir: Path
    database_url: str
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: asyncio.subprocess.Process | None = None
    _closers: list[Http | Socket] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def settings(self) -> Settings:
        """The node's settings as far as clients need them (`tests.flows` reads the
        privacy notice's version)."""
        return Settings(data_dir=self.data_dir, database_url=self.database_url)

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"node-{self.port}.log"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "PARLEY_DATA_DIR": str(self.data_dir),
            "PARLEY_DATABASE_URL": self.database_url,
            "PARLEY_HOST": "127.0.0.1",
            "PARLEY_PORT": str(self.port),
            **self.env,
        }
        log = self.log_path.open("ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                str(PARLEY), "serve", env=env, stdout=log, stderr=log, start_new_session=True
            )
        finally:
            log.close()
        await self._wait_healthy()

    async def _wait_healthy(self) -> None:
        assert self.proc is not None
        deadline = asyncio.get_running_loop().time() + START_SECONDS
        async with aiohttp.ClientSession() as http:
            while asyncio.get_running_loop().time() < deadline:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"node {self.port} exited:\n{self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(f"{self.url}/readyz") as r:
                        if r.status == 200:
                            return
                await asyncio.sleep(0.1)
        await self.kill()
        raise RuntimeError(f"node {self.port} not ready in {START_SECONDS} s:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or closed by Parley; the clients
        find their connections dead (and are closed afterwards)."""
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGKILL)
            await asyncio.wait_for(self.proc.wait(), STOP_SECONDS)
        await self.close_clients()

    def crash(self) -> None:
        """SIGKILL now, without closing this node's clients first as `kill` does: whatever
        they have in flight is in flight when the process dies. `kill` reaps it after."""
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit code."""
        if self.proc is None or self.proc.returncode is not None:
            await self.close_clients()
            return None if self.proc is None else self.proc.returncode
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), STOP_SECONDS)
        except TimeoutError:
            await self.dump_stacks()  # into its log: why it did not stop
            await self.kill()
        await self.close_clients()
        return self.proc.returncode

    async def dump_stacks(self) -> None:
        """Ask the node for its threads' and tasks' stacks (server/stacks.py), written to
        its log."""
        assert self.proc is not None
        for sig in (signal.SIGUSR1, signal.SIGUSR2):
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
        await asyncio.sleep(1.0)

    async def restart(self) -> None:
        await self.kill()
        await self.start()

    def http(self) -> Http:
        client = Http(self.url)
        self._closers.append(client)
        return client

    async def socket(self, http: Http) -> Socket:
        sock = Socket()
        await sock.connect(self.url, http.cookie_header(), self.url)
        self._closers.append(sock)
        return sock

    async def close_clients(self) -> None:
        for client in reversed(self._closers):
            with contextlib.suppress(Exception):  # already closed, or its server is gone
                await asyncio.wait_for(client.close(), 5)
        self._closers.clear()


async def seed_advisor(database_url: str, team_slug: str | None = None) -> dict[str, str]:
    """A team and an advisor in it, written straight to the nodes' database (as the
    `parley` command on the host would); returns team_slug, username and password."""
    slug = team_slug or f"team-{uuid.uuid4().hex[:8]}"
    username = f"adv-{uuid.uuid4().hex[:8]}"
    async with Database(database_url) as db:
        await db.upgrade()
        await admin.add_team(db, utcnow, slug, "Beratung Nord")
        await admin.add_account(
            db,
            utcnow,
            username=username,
            display_name="Anna Advisor",
            password=PASSWORD,
            role=Role.advisor,
            team_slug=slug,
        )
    return {"team_slug": slug, "username": username, "password": PASSWORD}
