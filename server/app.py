"""The application factory: everything Parley is, wired together from one Settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from aiohttp import web

from server import api, files, ops_api, privacy_api
from server.access import stamp
from server.checks import client_ice, client_key, precall_of, probe_loop
from server.config import Settings
from server.jobs import retention_loop
from server.keys import keyring_of
from server.metrics import Metrics, allowed, networks_of, refuse, render
from server.ops_api import push_loop
from server.precall import PRECALL
from server.precall import routes as precall_routes
from server.state import (
    ACCESS_LOG,
    CHAT,
    CONSULTATIONS,
    CORE,
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
from signaling.adapter import SocketAdapter, SocketNotifier, make_server
from signaling.chat import Chat
from signaling.consultations import Consultations
from signaling.core import Core, Limits
from signaling.files import Files
from signaling.lobby import Lobby
from signaling.ops import Ops
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

STALE_UPLOAD = timedelta(hours=1)  # an upload still unfinished after this has died
PAGES = (
    "/",
    "/login",
    "/dashboard",
    "/ops",
    "/check",
    "/c",
    "/t/{slug}",
    "/i/{token}",
    "/r/{token}",
    "/room/{consultation_id}",
)


def limits_of(settings: Settings) -> Limits:
    return Limits(
        participants_per_consultation=settings.participants_per_consultation,
        lobby_size=settings.lobby_size,
        queue_size=settings.queue_size,
        grace_seconds=settings.grace_seconds,
        invite_hours=settings.invite_hours,
        chat_max_chars=settings.chat_max_chars,
        upload_max_bytes=settings.upload_max_bytes,
        advisor_session_hours=settings.advisor_session_hours,
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
        middlewares=[stamp, errors, csrf], client_max_size=settings.max_body_bytes
    )
    app[SETTINGS] = settings

    db = Database(settings.db_url)
    metrics = app[METRICS] = Metrics()
    app[OBSERVER] = metrics
    sio = make_server()
    notifier = SocketNotifier(sio)
    core = Core(
        db=db,
        notifier=notifier,
        presence=Presence(),
        limits=limits_of(settings),
        clock=clock,
        vault=Vault(keyring_of(settings)),
        notice_version=settings.notice_version,
        public_url=settings.public_url or "",
        ice=ice_config_of(settings),
        observer=metrics,
    )
    lobby = Lobby(core)
    room = Room(core)
    chat = Chat(core)
    blobs = blob_store_of(settings, db)
    app[CORE], app[LOBBY], app[ROOM], app[NOTIFIER], app[SIO] = core, lobby, room, notifier, sio
    app[CONSULTATIONS] = Consultations(core, lobby)
    app[CHAT], app[FILES] = chat, Files(core, blobs)
    app[ACCESS_LOG] = AccessLog(db)
    app[TRUSTED_PROXIES] = parse_networks(settings.trusted_proxies)

    def origin_allowed(environ: dict[str, Any]) -> bool:
        request: web.Request = environ["aiohttp.request"]
        return environ.get("HTTP_ORIGIN") == own_origin(request)

    ops = app[OPS] = Ops(core)
    SocketAdapter(sio, core, lobby, room, chat, ops, origin_allowed, settings.max_event_bytes)
    sio.attach(app)

    app.add_routes(api.routes)
    app.add_routes(files.routes)
    app.add_routes(privacy_api.routes)
    app.add_routes(ops_api.routes)
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
    app.cleanup_ctx.append(lifecycle)
    return app


async def lifecycle(app: web.Application) -> AsyncIterator[None]:
    settings, core = app[SETTINGS], app[CORE]
    if core.db.engine.dialect.name == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    await core.db.upgrade()
    await app[FILES].sweep(core.clock() - STALE_UPLOAD)
    async with app[ACCESS_LOG], app[PRECALL]:
        tasks = [
            asyncio.create_task(retention_loop(app, settings)),
            asyncio.create_task(push_loop(app)),
        ]
        if settings.probe_interval_seconds > 0:
            base = settings.public_url or f"http://127.0.0.1:{settings.port}"
            tasks.append(asyncio.create_task(probe_loop(app, settings, base, core.ice)))
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await app[SIO].shutdown()
        await app[ROOM].close()
    await core.db.close()


async def index(request: web.Request) -> web.StreamResponse:
    page = request.app[SETTINGS].client_dir / "index.html"
    if not page.is_file():
        return web.Response(
            status=503, text="The browser client is not built: run ./scripts/serve once.\n"
        )
    return web.FileResponse(page, headers={"Cache-Control": "no-cache"})
