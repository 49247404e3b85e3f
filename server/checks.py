"""The pre-call check and the self-probe, wired to the application: who a caller is for the
rate limit, which ICE servers each side gets, and the periodic probe as metrics."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from server.access import peer_of
from server.config import Settings
from server.precall import Precall, PrecallLimits
from server.probe import probe
from server.state import CORE, METRICS
from signaling.turn import IceConfig, ice_servers
from storage.clock import Clock

log = logging.getLogger(__name__)


def precall_of(settings: Settings, ice: IceConfig, clock: Clock) -> Precall:
    limits = PrecallLimits(
        max_sessions=settings.precall_max_sessions,
        sessions_per_minute=settings.precall_sessions_per_minute,
        session_seconds=settings.precall_session_seconds,
    )
    return Precall(limits, ice_servers=lambda: ice_servers(ice, "precall-server", clock()))


def client_key(request: web.Request) -> str:
    """Rate limits per caller: the client address (Precall keeps only a hash of it)."""
    agent = request.headers.get("User-Agent", "")
    return peer_of(request) or hashlib.sha256(agent.encode()).hexdigest()


def client_ice(settings: Settings, ice: IceConfig) -> Callable[[web.Request], list[dict[str, Any]]]:
    """ICE servers for the browser's side of the check: TURN credentials that outlive the
    check by half a minute, so the check can tell whether only TURN works."""
    short = IceConfig(
        stun_urls=ice.stun_urls,
        turn_urls=ice.turn_urls if settings.precall_turn else (),
        turn_secret=ice.turn_secret,
        ttl_seconds=int(settings.precall_session_seconds) + 30,
    )

    def servers(request: web.Request) -> list[dict[str, Any]]:
        return ice_servers(short, "precall", request.app[CORE].clock())

    return servers


async def probe_loop(
    app: web.Application, settings: Settings, base_url: str, ice: IceConfig
) -> None:
    """`parley probe` against this server every interval, through TURN when configured."""
    metrics = app[METRICS]
    while True:
        await asyncio.sleep(settings.probe_interval_seconds)
        servers = ice_servers(ice, "probe", app[CORE].clock())
        relay = any("credential" in server for server in servers)
        try:
            result = await probe(base_url, servers, relay_only=relay, seconds=5.0)
        except Exception:
            log.exception("the self-probe failed to run")
            continue
        metrics.probe_ok.set(1 if result.get("ok") else 0)
        if result.get("rtt_ms") is not None:
            metrics.probe_rtt.set(float(result["rtt_ms"]) / 1000)
