"""Real clients for tests: an HTTP client that behaves like a browser (cookies, CSRF header,
Origin) and a Socket.IO client that records what it receives."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections import defaultdict
from typing import Any

import aiohttp
import socketio

WAIT = 10.0  # every wait in the tests is bounded


def reset(writer: asyncio.StreamWriter) -> None:
    """Drop a raw connection as a vanished client does: RST, not an orderly FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class Http:
    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.session.close()

    def cookie(self, name: str) -> str | None:
        for cookie in self.session.cookie_jar:
            if cookie.key == name:
                return cookie.value
        return None

    def csrf_cookie(self) -> str | None:
        return self.cookie("__Host-parley_csrf") or self.cookie("parley_csrf")

    def cookie_header(self) -> str:
        return "; ".join(f"{c.key}={c.value}" for c in self.session.cookie_jar)

    async def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        data: Any = None,
        csrf: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        hdrs = {"Origin": self.base, **(headers or {})}
        if csrf and method != "GET":
            if self.csrf_cookie() is None:
                await self.request("GET", "/api/session")
            hdrs.setdefault("X-CSRF-Token", self.csrf_cookie() or "")
        async with self.session.request(
            method, self.base + path, json=json, data=data, headers=hdrs
        ) as resp:
            return resp.status, await resp.json(content_type=None)

    async def get(self, path: str) -> tuple[int, dict[str, Any]]:
        return await self.request("GET", path)

    async def post(self, path: str, json: Any = None, **kw: Any) -> tuple[int, dict[str, Any]]:
        return await self.request("POST", path, json, **kw)


class Socket:
    """A python-socketio client that keeps every event it receives in per-event queues."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.log: list[tuple[str, Any]] = []

        self.refusal: Any = None
        self.closed = asyncio.Event()  # set when the connection ends, from either side

        @self.sio.on("disconnect")
        async def gone(*_reason: Any) -> None:
            self.closed.set()

        @self.sio.on("connect_error")
        async def refused(data: Any = None) -> None:
            self.refusal = data

        @self.sio.on("*")
        async def any_event(event: str, data: Any = None) -> None:
            self.log.append((event, data))
            self.events[event].put_nowait(data)

    @classmethod
    async def connected(cls, base: str, cookie: str) -> Socket:
        """A socket opened the way Parley's own page at `base` opens it."""
        sock = cls()
        await sock.connect(base, cookie, base)
        return sock

    async def connect(self, base: str, cookie: str, origin: str | None = None) -> None:
        headers = {"Cookie": cookie}
        if origin is not None:
            headers["Origin"] = origin
        await self.sio.connect(base, headers=headers, transports=["websocket"], wait_timeout=WAIT)

    async def call(self, event: str, data: Any = None) -> dict[str, Any]:
        return await self.sio.call(event, data if data is not None else {}, timeout=WAIT)

    async def call_unless_closed(self, event: str, data: Any = None) -> dict[str, Any] | None:
        """The ack of `event`, or None if the connection ends first: an event in flight when
        the server closes the socket is never acknowledged (python-socketio's `call` would
        wait for it until its timeout)."""
        if not self.sio.connected:
            return None
        acked: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        def ack(answer: Any = None) -> None:
            if not acked.done():
                acked.set_result(answer)

        await self.sio.emit(event, data if data is not None else {}, callback=ack)
        closed = asyncio.ensure_future(self.closed.wait())
        try:
            await asyncio.wait({acked, closed}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        if acked.done():
            return acked.result()
        if self.closed.is_set():
            return None
        raise TimeoutError(f"no ack for {event} and the socket is still open after {WAIT} s")

    async def ok(self, event: str, data: Any = None) -> dict[str, Any]:
        ack = await self.call(event, data)
        assert ack["ok"], ack
        return ack["data"]

    async def next(self, event: str, timeout: float = WAIT) -> Any:
        return await asyncio.wait_for(self.events[event].get(), timeout)

    async def until(self, event: str, predicate: Any, timeout: float = WAIT) -> Any:
        """The next `event` whose payload satisfies `predicate`."""
        async with asyncio.timeout(timeout):
            while True:
                data = await self.events[event].get()
                if predicate(data):
                    return data

    def received(self, event: str) -> list[Any]:
        return [data for name, data in self.log if name == event]

    async def close(self) -> None:
        await self.sio.disconnect()
