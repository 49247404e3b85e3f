"""Guessing limits per address: passwords at the login, and capability tokens (invite and
receipt links). Only failures count, so ordinary use is never slowed; once an address has
failed too often in a minute, every further attempt from it is refused with
`limit_exceeded` — right or wrong — until the oldest failure is a minute old."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from server.access import peer_of
from server.config import Settings
from signaling.errors import (
    InvalidCredentials,
    InviteInvalid,
    LimitExceeded,
    ParleyError,
    ReceiptInvalid,
)
from signaling.limits import FailureWindow

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


class Guessing:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.login = FailureWindow(settings.login_failures_per_minute, clock=clock)
        self.tokens = FailureWindow(settings.token_failures_per_minute, clock=clock)


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
    if window.blocked(address):
        raise LimitExceeded(f"too many failed {what} attempts from here; try again in a minute")
    try:
        return await handler(request)
    except failures:
        window.failed(address)
        raise
