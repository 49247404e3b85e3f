"""Background jobs inside the server: retention and the sweep of uploads whose node died,
at start-up (catching up after downtime) and then periodically."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from aiohttp import web

from server.config import Settings
from server.state import CORE, FILES, METRICS
from storage import retention
from storage.clock import pause

log = logging.getLogger(__name__)

STALE_UPLOAD = timedelta(hours=1)  # an upload still unfinished after this has died


def policy_of(settings: Settings) -> retention.Policy:
    return retention.Policy(
        ip_days=settings.ip_retention_days,
        ip_mode=settings.ip_anonymisation,
        access_days=settings.access_log_days,
        content_days=settings.content_retention_days,
    )


async def run_retention(app: web.Application, settings: Settings) -> retention.Report:
    core = app[CORE]
    report = await retention.run(
        core.db, core.vault, app[FILES].blobs, policy_of(settings), core.clock()
    )
    counter = app[METRICS].retention
    counter.labels("runs").inc()
    counter.labels("addresses_anonymised").inc(report.ips_anonymised)
    counter.labels("access_entries_deleted").inc(report.access_entries_deleted)
    counter.labels("consultations_erased").inc(report.consultations_erased)
    counter.labels("skipped").inc(len(report.skipped))
    return report


async def retention_loop(app: web.Application, settings: Settings, stop: asyncio.Event) -> None:
    """Until `stop`: a run never is cut off halfway."""
    while not stop.is_set():
        try:
            await run_retention(app, settings)
        except Exception:
            log.exception("the retention run failed; it is tried again at the next interval")
        try:  # on a shared database a node may die mid-upload while the others run on
            await app[FILES].sweep(app[CORE].clock() - STALE_UPLOAD)
        except Exception:
            log.exception("the upload sweep failed; it is tried again at the next interval")
        await pause(stop, settings.retention_interval_seconds)
