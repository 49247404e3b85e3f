"""Background jobs inside the server: retention, at start-up (catching up after downtime)
and then periodically."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from server.config import Settings
from server.state import CORE, FILES
from storage import retention

log = logging.getLogger(__name__)


def policy_of(settings: Settings) -> retention.Policy:
    return retention.Policy(
        ip_days=settings.ip_retention_days,
        ip_mode=settings.ip_anonymisation,
        access_days=settings.access_log_days,
        content_days=settings.content_retention_days,
    )


async def run_retention(app: web.Application, settings: Settings) -> retention.Report:
    core = app[CORE]
    return await retention.run(
        core.db, core.vault, app[FILES].blobs, policy_of(settings), core.clock()
    )


async def retention_loop(app: web.Application, settings: Settings) -> None:
    while True:
        try:
            await run_retention(app, settings)
        except Exception:
            log.exception("the retention run failed; it is tried again at the next interval")
        await asyncio.sleep(settings.retention_interval_seconds)
