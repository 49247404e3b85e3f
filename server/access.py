"""Every HTTP request and every real-time connection goes into the database access log,
through aiohttp's access-logger hook (called once the response is fully sent, so the byte
count is real; for a websocket, when it closes)."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from server.state import ACCESS_LOG, CORE, TRUSTED_PROXIES
from server.web_helpers import route_name
from storage.addresses import Network, client_ip

SOCKET_PATH = "/socket.io/"


ARRIVED = web.RequestKey("arrived", datetime)


@web.middleware
async def stamp(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Note when a request arrived, by the application's clock (tests move it)."""
    request[ARRIVED] = request.app[CORE].clock()
    return await handler(request)


def peer_of(request: web.Request) -> str | None:
    trusted: tuple[Network, ...] = request.app[TRUSTED_PROXIES]
    return client_ip(request.remote, request.headers.get("X-Forwarded-For"), trusted)


class DatabaseAccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        # a request that never reached routing (e.g. a header aiohttp could not parse)
        if not isinstance(request, web.Request) or request._match_info is None:
            return
        app = request.app
        if ACCESS_LOG not in app:
            return
        socket = request.path.startswith(SOCKET_PATH)
        route = SOCKET_PATH if socket else route_name(request)
        app[ACCESS_LOG].record(
            at=request.get(ARRIVED) or app[CORE].clock() - timedelta(seconds=time),
            kind="socket" if socket else "http",
            method=request.method,
            route=route,
            status=response.status,
            bytes_sent=response.body_length,
            ip=peer_of(request),
            user_agent=request.headers.get("User-Agent", ""),
            referrer=request.headers.get("Referer"),
        )

    @property
    def enabled(self) -> bool:
        return True


def runner(app: web.Application, **kwargs: object) -> web.AppRunner:
    """The one way Parley is served: with the database access log and no text access log
    (aiohttp's default one writes raw addresses to stdout)."""
    return web.AppRunner(app, access_log_class=DatabaseAccessLogger, **kwargs)  # type: ignore[arg-type]
