"""Guessing limits per address: passwords at the login, and capability tokens (invite and
receipt links). Only failures count, so ordinary use is never slowed; once an address has
failed too often in a minute, every further attempt from it is refused with
`limit_exceeded` — right or wrong — until the oldest failure is a minute old. On several
nodes the failures are counted in Redis, so that guessing spread over the nodes gets no
more tries; if Redis cannot be reached, each node counts for itself meanwhile."""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable

import redis.asyncio as redis
from aiohttp import web
from redis.exceptions import RedisError

from server.access import peer_of
from server.config import Settings
from signaling.errors import (
    InvalidCredentials,
    InviteInvalid,
    LimitExceeded,
    ParleyError,
    ReceiptInvalid,
)
from signaling.limits import FailureWindow, hashed

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

LOGIN_ROUTES = frozenset({"/api/auth/login"})
TOKEN_ROUTES = frozenset(
    {
        "/api/join",
        "/api/join/invite/{token}",
        "/api/receipt/{token}",
        "/api/receipt/{token}/export",
        "/api/receipt/{token}/erase",
    }
)


class SharedWindow:
    """A `FailureWindow` kept in Redis for every node: one sorted set of failure times per
    hashed address, which expires with its newest failure. The node's own window stands in
    while Redis is unreachable."""

    def __init__(self, client: redis.Redis, name: str, local: FailureWindow) -> None:
        self.redis, self.name, self.local = client, name, local

    def _key(self, address: str) -> str:
        return f"parley:guess:{self.name}:{hashed(address)}"

    async def blocked(self, address: str) -> bool:
        key, now = self._key(address), time.time()
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(key, 0, now - self.local.seconds)
                pipe.zcard(key)
                _, count = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("guessing limits: Redis unreachable error=%s", type(exc).__name__)
            return self.local.blocked(address)
        return int(count) >= self.local.limit or self.local.blocked(address)

    async def failed(self, address: str) -> None:
        self.local.failed(address)
        key, now = self._key(address), time.time()
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zadd(key, {uuid.uuid4().hex: now})
                pipe.expire(key, math.ceil(self.local.seconds))
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("guessing limits: Redis unreachable error=%s", type(exc).__name__)


class LocalWindow:
    """The node's own `FailureWindow` behind the same interface as `SharedWindow`."""

    def __init__(self, local: FailureWindow) -> None:
        self.local = local

    async def blocked(self, address: str) -> bool:
        return self.local.blocked(address)

    async def failed(self, address: str) -> None:
        self.local.failed(address)


class Guessing:
    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], float] = time.monotonic,
        shared: redis.Redis | None = None,
    ) -> None:
        login = FailureWindow(settings.login_failures_per_minute, clock=clock)
        tokens = FailureWindow(settings.token_failures_per_minute, clock=clock)
        self.login: SharedWindow | LocalWindow
        self.tokens: SharedWindow | LocalWindow
        if shared is None:
            self.login, self.tokens = LocalWindow(login), LocalWindow(tokens)
        else:
            self.login = SharedWindow(shared, "login", login)
            self.tokens = SharedWindow(shared, "tokens", tokens)


GUESSING = web.AppKey("guessing", Guessing)


@web.middleware
async def guessing(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route.resource
    path = route.canonical if route is not None else ""
    failures: tuple[type[ParleyError], ...]
    if path in LOGIN_ROUTES:
        window, failures, what = request.app[GUESSING].login, (InvalidCredentials,), "sign-in"
    elif path in TOKEN_ROUTES:
        window, failures, what = (
            request.app[GUESSING].tokens,
            (InviteInvalid, ReceiptInvalid),
            "link",
        )
    else:
        return await handler(request)
    address = peer_of(request) or "unknown"
    if await window.blocked(address):
        raise LimitExceeded(f"too many failed {what} attempts from here; try again in a minute")
    try:
        return await handler(request)
    except failures:
        await window.failed(address)
        raise
