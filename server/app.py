"""The application factory: everything Parley is, wired together from one Settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from aiohttp import web

from server import (
    api,
    appointments_api,
    branding,
    embed,
    files,
    openapi,
    ops_api,
    privacy_api,
    stacks,
)
from server.access import peer_of, stamp
from server.checks import client_ice, client_key, precall_of, probe_loop
from server.config import Settings
from server.guessing import GUESSING, Guessing, guessing
from server.jobs import STALE_UPLOAD, retention_loop
from server.keys import keyring_of
from server.metrics import Fanout, Metrics, allowed, networks_of, refuse, render
from server.ops_api import push_loop
from server.precall import PRECALL
from server.precall import routes as precall_routes
from server.reminders import reminder_loop
from server.state import (
    ACCESS_LOG,
    ADAPTER,
    APPOINTMENTS,
    BOARDS,
    CHAT,
    CLUSTER,
    CONSULTATIONS,
    CORE,
    DRAINING,
    FILES,
    LOBBY,
    METRICS,
    NOTIFIER,
    OPS,
    ROOM,
    SIO,
    TRUSTED_PROXIES,
)
from server.web_helpers import OBSERVER, SETTINGS, csrf, errors, own_origin, security_headers
from signaling.adapter import SocketAdapter, SocketNotifier, make_server, session_sweep_loop
from signaling.appointments import Appointments, Policy
from signaling.board import Boards
from signaling.board_store import BoardStore
from signaling.chat import Chat
from signaling.cluster import RedisCluster
from signaling.consultations import Consultations
from signaling.core import Core, Limits
from signaling.fanout import RoutedRedisManager
from signaling.files import Files
from signaling.identity import SessionPolicy
from signaling.lobby import Lobby
from signaling.ops import Ops
from signaling.ports import SingleNode
from signaling.presence import Presence
from signaling.room import Room
from signaling.turn import IceConfig
from storage.access_log import AccessLog
from storage.addresses import parse_networks
from storage.blobs import BlobStore, DatabaseBlobStore, LocalBlobStore
from storage.clock import Clock, utcnow
from storage.db import Database
from storage.vault import Vault

log = logging.getLogger(__name__)

PAGES = (
    "/",
    "/login",
    "/dashboard",
    "/ops",
    "/check",
    "/c",
    "/t/{slug}",
    "/t/{slug}/book",
    "/i/{token}",
    "/r/{token}",
    "/room/{consultation_id}",
)


def limits_of(settings: Settings) -> Limits:
    return Limits(
        participants_per_consultation=settings.participants_per_consultation,
        lobby_size=settings.lobby_size,
        queue_size=settings.queue_size,
        queue_shown=settings.queue_shown,
        join_wait_seconds=settings.join_wait_seconds,
        grace_seconds=settings.grace_seconds,
        invite_hours=settings.invite_hours,
        chat_max_chars=settings.chat_max_chars,
        upload_max_bytes=settings.upload_max_bytes,
        advisor_session_hours=settings.advisor_session_hours,
        board_update_max_bytes=settings.board_update_max_bytes,
        board_awareness_max_bytes=settings.board_awareness_max_bytes,
        board_updates_per_second=settings.board_updates_per_second,
        board_awareness_per_second=settings.board_awareness_per_second,
        board_compact_updates=settings.board_compact_updates,
        board_compact_bytes=settings.board_compact_bytes,
        events_per_second=settings.events_per_second,
        flood_refusals=settings.flood_refusals,
        connections_per_address=settings.connections_per_address,
    )


def session_policy_of(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        idle=timedelta(minutes=settings.session_idle_minutes),
        guest_max=timedelta(hours=settings.guest_session_hours),
        guest_after_end=timedelta(minutes=settings.guest_session_after_end_minutes),
    )


def appointment_policy_of(settings: Settings) -> Policy:
    return Policy(
        early_minutes=settings.appointment_early_minutes,
        late_minutes=settings.appointment_late_minutes,
        reminder_minutes=settings.appointment_reminder_minutes,
        reminder_attempts=settings.appointment_reminder_attempts,
        reminders=settings.smtp_host is not None,
        product=settings.brand_name,
    )


def ice_config_of(settings: Settings) -> IceConfig:
    return IceConfig(
        stun_urls=tuple(settings.stun_urls),
        turn_urls=tuple(settings.turn_urls),
        turn_secret=settings.turn_secret.get_secret_value() if settings.turn_secret else None,
        ttl_seconds=settings.turn_ttl_seconds,
    )


def blob_store_of(settings: Settings, db: Database) -> BlobStore:
    if settings.blob_store == "database":
        return DatabaseBlobStore(db)
    return LocalBlobStore(settings.blob_path)


def create_app(settings: Settings, *, clock: Clock = utcnow) -> web.Application:
    app = web.Application(
        middlewares=[stamp, errors, guessing, csrf], client_max_size=settings.max_body_bytes
    )
    app[SETTINGS] = settings

    db = Database(settings.db_url)
    metrics = app[METRICS] = Metrics()
    app[OBSERVER] = metrics
    sio = make_server(
        settings.redis_url,
        max_event_bytes=settings.board_update_max_bytes,
        route=settings.redis_fanout == "consultation",
        linger=settings.grace_seconds,
    )
    notifier = SocketNotifier(sio)
    if isinstance(sio.manager, RoutedRedisManager):
        metrics.registry.register(Fanout(sio.manager))
    presence = Presence()
    cluster = (
        RedisCluster(
            settings.redis_url, settings.node_id, presence, settings.cluster_interval_seconds
        )
        if settings.redis_url
        else None
    )
    core = Core(
        db=db,
        notifier=notifier,
        presence=presence,
        limits=limits_of(settings),
        clock=clock,
        vault=Vault(keyring_of(settings)),
        notice_version=settings.notice_version,
        public_url=settings.public_url or "",
        sessions=session_policy_of(settings),
        ice=ice_config_of(settings),
        observer=metrics,
        cluster=cluster or SingleNode(),
    )
    lobby = Lobby(core)
    boards = app[BOARDS] = Boards(core, BoardStore(db, core.vault, clock))
    room = Room(core, boards)
    app[GUESSING] = Guessing(settings, shared=cluster.redis if cluster else None)
    if cluster is not None:
        cluster.on_evicted, cluster.on_lost = room.evicted_here, room.lost
        cluster.on_seen = room.seen
        cluster.on_tick = room.reconcile
        app[CLUSTER] = cluster
    chat = Chat(core)
    blobs = blob_store_of(settings, db)
    app[CORE], app[LOBBY], app[ROOM], app[NOTIFIER], app[SIO] = core, lobby, room, notifier, sio
    app[CONSULTATIONS] = Consultations(core, lobby)
    app[APPOINTMENTS] = Appointments(core, lobby, appointment_policy_of(settings))
    app[CHAT], app[FILES] = chat, Files(core, blobs)
    app[ACCESS_LOG] = AccessLog(db)
    app[TRUSTED_PROXIES] = parse_networks(settings.trusted_proxies)

    def origin_allowed(environ: dict[str, Any]) -> bool:
        request: web.Request = environ["aiohttp.request"]
        return environ.get("HTTP_ORIGIN") == own_origin(request)

    def address_of(environ: dict[str, Any]) -> str | None:
        request: web.Request = environ["aiohttp.request"]
        return peer_of(request)

    ops = app[OPS] = Ops(core)
    app[ADAPTER] = SocketAdapter(
        sio,
        core,
        lobby,
        room,
        chat,
        ops,
        boards,
        origin_allowed,
        settings.max_event_bytes,
        address_of,
    )
    sio.attach(app)

    app.add_routes(api.routes)
    app.add_routes(files.routes)
    app.add_routes(privacy_api.routes)
    app.add_routes(appointments_api.routes)
    app.add_routes(ops_api.routes)
    app.add_routes(branding.routes)
    app.add_routes(embed.routes)
    app.add_routes(openapi.routes)
    app[embed.AVAILABILITY_LIMIT] = embed.RateLimit(
        settings.availability_per_minute, time.monotonic
    )
    app[PRECALL] = precall_of(settings, core.ice, clock)
    app.add_routes(precall_routes(client_key, client_ice(settings, core.ice)))
    metrics_networks = networks_of(settings)

    async def metrics_page(request: web.Request) -> web.Response:
        if not allowed(request, settings, metrics_networks):
            raise refuse()
        return await render(metrics, db, ops, len(core.presence), app[ACCESS_LOG].dropped)

    app.router.add_get("/metrics", metrics_page)
    for page in PAGES:
        app.router.add_get(page, index)
    assets = settings.client_dir / "assets"
    if assets.is_dir():
        app.router.add_static("/assets", assets)
    app.on_response_prepare.append(security_headers)
    app[DRAINING] = asyncio.Event()
    app.on_shutdown.append(drain)
    app.cleanup_ctx.append(lifecycle)
    return app


async def lifecycle(app: web.Application) -> AsyncIterator[None]:
    settings, core = app[SETTINGS], app[CORE]
    if core.db.engine.dialect.name == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    await core.db.upgrade()
    # SQLite: this process is the only node, so nothing unfinished is still being received
    await app[FILES].sweep(None if core.db.exclusive else core.clock() - STALE_UPLOAD)
    cluster = app.get(CLUSTER)
    async with app[ACCESS_LOG], app[PRECALL], cluster or contextlib.nullcontext():
        # the jobs that write stop when the node drains, never in the middle of a write (a
        # cancelled write can leave SQLite locked); those that only read are cancelled
        stop = app[DRAINING]
        writers = [
            asyncio.create_task(retention_loop(app, settings, stop)),
            asyncio.create_task(
                session_sweep_loop(app[ADAPTER], settings.session_sweep_seconds, stop)
            ),
        ]
        if settings.smtp_host is not None:
            writers.append(asyncio.create_task(reminder_loop(app, settings, stop)))
        readers = [asyncio.create_task(push_loop(app))]
        if settings.probe_interval_seconds > 0:
            base = settings.public_url or f"http://127.0.0.1:{settings.port}"
            readers.append(asyncio.create_task(probe_loop(app, settings, base, core.ice)))
        yield
        stop.set()
        for task in readers:
            task.cancel()
        await asyncio.gather(*writers, *readers, return_exceptions=True)
        await app[ADAPTER].close()
        await app[SIO].shutdown()
        if isinstance(app[SIO].manager, RoutedRedisManager):
            await app[SIO].manager.close()
        await app[CHAT].close()
        await app[ROOM].close()
        await app[BOARDS].close()
        await core.queues.close()
    await core.db.close()


DRAIN_SECONDS = 5.0  # closing every connection at SIGTERM; the rest of the stop follows


async def drain(app: web.Application) -> None:
    """SIGTERM: aiohttp has stopped accepting; say not ready, send every browser to another
    node, and leave the others what this node had (they give it the grace period)."""
    app[DRAINING].set()
    rooms = app[CORE].presence.local_rooms()
    # bounded: a node that cannot close its connections must still stop (the closing goes
    # on meanwhile); where it was stuck goes to the log
    closing = asyncio.ensure_future(app[ADAPTER].drain())
    done, _ = await asyncio.wait({closing}, timeout=DRAIN_SECONDS)
    if not done:
        log.warning("drain: connections still closing after %.0f s, stopping anyway", DRAIN_SECONDS)
        stacks.dump_tasks()
    cluster = app.get(CLUSTER)
    if cluster is not None:
        await cluster.leaving(rooms)
    log.info("drained sockets=%d", sum(len(members) for members in rooms.values()))


async def index(request: web.Request) -> web.StreamResponse:
    page = request.app[SETTINGS].client_dir / "index.html"
    if not page.is_file():
        return web.Response(
            status=503, text="The browser client is not built: run ./scripts/serve once.\n"
        )
    return web.FileResponse(page, headers={"Cache-Control": "no-cache"})
