"""A Redis server of the test's own on a free port (not the machine's shared one), so a test
can restart it in the middle of a consultation without disturbing anything else."""

from __future__ import annotations

import asyncio
import contextlib
import shutil

import redis.asyncio as redis
from redis.exceptions import RedisError

from tests.processes import free_port

START_SECONDS = 10.0


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = await asyncio.create_subprocess_exec(
            binary,
            *("--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        client = redis.from_url(self.url)
        try:
            async with asyncio.timeout(START_SECONDS):
                while True:
                    with contextlib.suppress(RedisError, OSError):
                        if await client.ping():
                            return
                    await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.kill()
        await asyncio.wait_for(self.proc.wait(), START_SECONDS)

    async def restart(self, down_seconds: float = 0.0) -> None:
        await self.stop()
        await asyncio.sleep(down_seconds)
        await self.start()
