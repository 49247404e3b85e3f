"""A TCP proxy on loopback that can cut every connection through it at once (a reset, not
a polite close), delay what it forwards, or go half-open (keep the connections but forward
nothing, as a dead NAT or Wi-Fi does), to test what a bad network does to clients and
server."""

from __future__ import annotations

import asyncio
import contextlib


class CutProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.url = ""
        self.delay = 0.0  # seconds added before each chunk is forwarded
        self._flowing = asyncio.Event()  # cleared: half-open, nothing is forwarded
        self._flowing.set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await src.read(65536):
                if self.delay:
                    await asyncio.sleep(self.delay)
                await self._flowing.wait()
                dst.write(data)
                await dst.drain()
        dst.transport.abort()

    def half_open(self) -> None:
        """Keep every connection open but forward nothing, until `cut` or `heal`."""
        self._flowing.clear()

    def heal(self) -> None:
        self._flowing.set()
        self.delay = 0.0

    def cut(self) -> None:
        """Reset every connection through the proxy, both sides, right now."""
        for client, upstream in self._pairs:
            client.transport.abort()
            upstream.transport.abort()
        self._pairs.clear()
        self.heal()  # what was held back dies with its connections (aborted above)

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
